"""The progress line."""

from __future__ import annotations

from crawler.extensions.progress import Progress


def test_progress_line_counts_pages_stored_rejected_and_failed() -> None:
    line = Progress.describe(
        "rt-de",
        {
            "newsingest/fetch/articles": 12,
            "newsingest/store/inserted": 9,
            "newsingest/store/updated": 1,
            "newsingest/store/unchanged": 0,
            "newsingest/extract/rejected/too_short": 1,
            "newsingest/extract/rejected/paywall": 1,
            "newsingest/fetch/failed/http_404": 2,
            "newsingest/discovery/failed/bad_feed": 1,
        },
    )
    assert line == "rt-de: 12 pages, 9 new, 1 updated, 0 unchanged, 2 rejected, 3 failed"

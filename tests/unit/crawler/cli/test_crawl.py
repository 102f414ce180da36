"""The demo's listing of stored articles."""

from __future__ import annotations

from datetime import UTC, datetime

from crawler.cli.crawl import article_line
from storage.models import Article


def test_demo_line_lists_authors_credits_and_the_outlets_date() -> None:
    article = Article(
        language="de",
        title="Hafen steht still",
        authors=["Anna Beispiel"],
        credits=["dpa", "AFP"],
        published_at=datetime(2025, 2, 14, 22, 0, tzinfo=UTC),
        published_precision="minute",
        published_utc_offset=540,
    )
    assert article_line(article) == (
        "- [de] 'Hafen steht still' | Anna Beispiel (dpa, AFP) | 2025-02-15 07:00 +09:00"
    )


def test_demo_line_of_an_undated_agency_piece_has_no_person_and_no_date() -> None:
    article = Article(language=None, title="Kurz", authors=[], credits=["dpa"], published_at=None)
    assert article_line(article) == "- [??] 'Kurz' | - (dpa) | no date"

"""Run status decisions and the progress line."""

from __future__ import annotations

from crawler.extensions import LOCK_LOST, Progress, json_stats, run_status


def test_finished_crawl_with_discovery_is_succeeded() -> None:
    assert run_status("finished", {"newsingest/discovery/ok": 2}) == ("succeeded", None)


def test_crawl_that_fetched_no_discovery_url_is_failed() -> None:
    status, error = run_status("finished", {"newsingest/discovery/failed": 3})
    assert status == "failed"
    assert error is not None and "discovery" in error


def test_signal_shutdown_is_interrupted() -> None:
    assert run_status("shutdown", {"newsingest/discovery/ok": 1})[0] == "interrupted"


def test_a_lost_lock_is_interrupted_naming_the_lock() -> None:
    status, error = run_status(LOCK_LOST, {"newsingest/discovery/ok": 1})
    assert status == "interrupted"
    assert error is not None and "lock was lost" in error


def test_spooled_records_make_the_run_failed() -> None:
    stats = {"newsingest/discovery/ok": 1, "newsingest/store/spooled_articles": 4}
    assert run_status("finished", stats)[0] == "failed"


def test_other_close_reasons_are_failures_naming_the_reason() -> None:
    assert run_status("memusage_exceeded", {}) == (
        "failed",
        "spider closed: memusage_exceeded",
    )


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


def test_stats_become_json_safe() -> None:
    from datetime import UTC, datetime

    out = json_stats({"start_time": datetime(2025, 1, 1, tzinfo=UTC), "n": 1, "x": object})
    assert out["start_time"] == "2025-01-01T00:00:00+00:00"
    assert out["n"] == 1
    assert isinstance(out["x"], str)


def test_validators_are_kept_only_after_a_complete_crawl() -> None:
    from crawler.middlewares import ConditionalRequests

    assert ConditionalRequests.complete({"newsingest/fetch/failed/http_404": 1})
    assert not ConditionalRequests.complete({"newsingest/fetch/failed/http_503": 1})
    assert not ConditionalRequests.complete({"newsingest/fetch/failed/timeout": 1})
    assert not ConditionalRequests.complete({"newsingest/store/spooled_articles": 2})
    assert not ConditionalRequests.complete({"newsingest/crawl_id": "abc"})


def test_retry_after_seconds_are_honoured_up_to_the_cap() -> None:
    from crawler.middlewares import retry_delay

    assert retry_delay(b"7", 0, backoff=1.0, cap=60.0) == 7.0
    assert retry_delay(b"600", 0, backoff=1.0, cap=60.0) == 60.0


def test_retry_after_http_date_is_turned_into_a_wait() -> None:
    from datetime import UTC, datetime

    from crawler.middlewares import retry_delay

    now = datetime(2025, 2, 14, 7, 0, 0, tzinfo=UTC)
    header = "Fri, 14 Feb 2025 07:00:30 GMT"
    assert retry_delay(header, 0, backoff=1.0, cap=60.0, now=now) == 30.0
    assert retry_delay("Fri, 14 Feb 2025 06:00:00 GMT", 0, backoff=1.0, cap=60.0, now=now) == 0.0


def test_without_retry_after_the_wait_doubles_per_attempt() -> None:
    from crawler.middlewares import retry_delay

    assert [retry_delay(None, n, backoff=0.5, cap=60.0) for n in range(4)] == [0.5, 1, 2, 4]
    assert retry_delay(b"soon", 1, backoff=1.0, cap=60.0) == 2.0

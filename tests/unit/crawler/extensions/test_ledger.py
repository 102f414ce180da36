"""The ledger's run status from a close reason and stats; stats made JSON-safe."""

from __future__ import annotations

from crawler.extensions.ledger import LOCK_LOST, json_stats, run_status


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


def test_stats_become_json_safe() -> None:
    from datetime import UTC, datetime

    out = json_stats({"start_time": datetime(2025, 1, 1, tzinfo=UTC), "n": 1, "x": object})
    assert out["start_time"] == "2025-01-01T00:00:00+00:00"
    assert out["n"] == 1
    assert isinstance(out["x"], str)

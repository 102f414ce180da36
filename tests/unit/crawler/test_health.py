"""Health verdicts and due-ness of sources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crawler.health import is_due, verdict

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_source_without_finished_runs_is_never_run() -> None:
    assert (
        verdict(last_run_status=None, last_success_at=None, interval=HOUR, now=NOW) == "never-run"
    )


def test_failed_last_run_is_failing_even_after_recent_success() -> None:
    v = verdict(last_run_status="failed", last_success_at=NOW, interval=HOUR, now=NOW)
    assert v == "failing"


def test_abandoned_last_run_is_failing() -> None:
    v = verdict(last_run_status="abandoned", last_success_at=NOW, interval=HOUR, now=NOW)
    assert v == "failing"


def test_skipped_last_crawl_is_skipped_not_ok_until_the_source_is_late() -> None:
    recent, old = NOW - HOUR, NOW - 3 * HOUR - timedelta(seconds=1)
    assert verdict(last_run_status="skipped", last_success_at=recent, interval=HOUR, now=NOW) == (
        "skipped"
    )
    assert verdict(last_run_status="skipped", last_success_at=None, interval=HOUR, now=NOW) == (
        "skipped"
    )
    assert verdict(last_run_status="skipped", last_success_at=old, interval=HOUR, now=NOW) == (
        "late"
    )


def test_success_older_than_three_intervals_is_late() -> None:
    old = NOW - 3 * HOUR - timedelta(seconds=1)
    assert (
        verdict(last_run_status="succeeded", last_success_at=old, interval=HOUR, now=NOW) == "late"
    )


def test_recent_success_is_ok() -> None:
    recent = NOW - 2 * HOUR
    assert (
        verdict(last_run_status="succeeded", last_success_at=recent, interval=HOUR, now=NOW) == "ok"
    )


def test_source_is_due_after_its_interval_or_when_never_succeeded() -> None:
    assert is_due(None, HOUR, NOW)
    assert is_due(NOW - HOUR, HOUR, NOW)
    assert not is_due(NOW - HOUR + timedelta(seconds=1), HOUR, NOW)


def test_distributed_crawl_succeeds_only_when_every_worker_did() -> None:
    from crawler.health import crawl_status

    assert crawl_status(["succeeded", "succeeded"]) == "succeeded"
    assert crawl_status(["succeeded", "abandoned"]) == "failed"
    assert crawl_status(["succeeded", "interrupted"]) == "interrupted"
    assert crawl_status(["running", "succeeded"]) == "running"


def test_worker_stats_add_up_and_the_longest_duration_counts() -> None:
    from crawler.cli.runs import sum_stats

    total = sum_stats(
        [
            {"newsingest/fetch/articles": 3, "elapsed_time_seconds": 10.0, "start_time": "x"},
            {"newsingest/fetch/articles": 4, "elapsed_time_seconds": 7.5},
        ]
    )
    assert total == {"newsingest/fetch/articles": 7, "elapsed_time_seconds": 10.0}

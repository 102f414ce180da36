"""Health verdicts and due-ness of sources."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from crawler.health import Thresholds, degradations, is_due, needs_older_runs, verdict
from storage.fieldstats import FieldCounts, RunCounts, SourceFieldStats

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


# --- field health against the source's own baseline -------------------------------------------
TH = Thresholds(field_drop=0.3, rejection_rise=0.3, words_ratio=0.5, min_records=10,
                baseline_days=30)  # fmt: skip


def _counts(records: int, authors: float, *, words: int = 4, rejected: int = 0) -> FieldCounts:
    hist = [0] * 16
    hist[words] = records
    return FieldCounts(
        records=records,
        with_title=records,
        with_authors=round(records * authors),
        words_hist=tuple(hist),
        rejected=rejected,
        rejections={"too_short": rejected} if rejected else {},
    )


def _stats(runs: list[tuple[int, FieldCounts]], *, language: str | None = "de") -> SourceFieldStats:
    """Runs (hours ago, counts), all today; the day row is their sum."""
    now = datetime(2025, 3, 2, 20, 0, tzinfo=UTC)
    made = [
        RunCounts(i + 1, now - timedelta(hours=h), "succeeded", c)
        for i, (h, c) in enumerate(sorted(runs, key=lambda r: -r[0]))
    ]
    total = FieldCounts()
    for r in made:
        total = total + r.counts
    return SourceFieldStats("rt-de", language, {now.date(): total}, made[::-1])


def test_a_field_far_below_its_baseline_is_degraded_named_with_shares_and_since() -> None:
    st = _stats([(10, _counts(40, 0.95)), (5, _counts(20, 0.9)), (3, _counts(6, 0.0)),
                 (1, _counts(6, 0.0))])  # fmt: skip
    (found,) = degradations(st, TH, date(2025, 3, 2))
    assert found.field == "authors" and found.describe() == "authors 93% → 0% since 2025-03-02"
    assert found.since == st.runs[1].started_at  # the oldest run of the bad streak


def test_a_healthy_source_small_windows_and_small_drops_are_not_degraded() -> None:
    assert degradations(_stats([(9, _counts(40, 0.9)), (1, _counts(20, 0.8))]), TH,
                        date(2025, 3, 2)) == []  # fmt: skip
    # fewer than min_records recent records: no judgement
    assert degradations(_stats([(9, _counts(40, 0.9)), (1, _counts(5, 0.0))]), TH,
                        date(2025, 3, 2)) == []  # fmt: skip
    # no baseline (the first crawls)
    assert degradations(_stats([(1, _counts(30, 0.0))]), TH, date(2025, 3, 2)) == []


def test_rejections_rising_and_bodies_collapsing_are_degraded() -> None:
    st = _stats([(9, _counts(50, 0.9, words=10, rejected=1)),
                 (1, _counts(10, 0.9, words=2, rejected=15))])  # fmt: skip
    found = {d.field: d for d in degradations(st, TH, date(2025, 3, 2))}
    assert set(found) == {"words", "rejections"}
    assert found["rejections"].describe().startswith("rejections 2% → 60%")
    assert found["words"].baseline > 500 and found["words"].recent < 50


def test_degraded_verdict_only_where_the_source_is_otherwise_ok_or_skipped() -> None:
    ok = verdict(last_run_status="succeeded", last_success_at=NOW, interval=HOUR, now=NOW,
                 degraded=True)  # fmt: skip
    failing = verdict(last_run_status="failed", last_success_at=NOW, interval=HOUR, now=NOW,
                      degraded=True)  # fmt: skip
    assert (ok, failing) == ("degraded", "failing")


def test_older_runs_are_needed_for_a_degradation_or_a_window_the_runs_read_do_not_fill() -> None:
    healthy = _stats([(9, _counts(40, 0.9)), (2, _counts(10, 0.9)), (1, _counts(10, 0.9))])
    assert not needs_older_runs(healthy, TH, [], read=3)  # the window filled by the first run
    few = _stats([(9, _counts(40, 0.9)), (2, _counts(4, 0.9)), (1, _counts(4, 0.9))])
    newest = replace(few, runs=few.runs[:2])  # 8 records in the 2 runs read
    assert needs_older_runs(newest, TH, [], read=2)
    assert not needs_older_runs(newest, TH, [], read=3)  # fewer than asked: all there are
    rejected = replace(newest, runs=[RunCounts(9, NOW, "succeeded", FieldCounts(rejected=20))])
    assert needs_older_runs(rejected, TH, [], read=1)  # pages fill it, records do not
    found = degradations(
        _stats([(10, _counts(40, 0.95)), (3, _counts(6, 0.0)), (1, _counts(6, 0.0))]),
        TH, date(2025, 3, 2),
    )  # fmt: skip
    assert found and needs_older_runs(healthy, TH, found, read=3)
    assert not needs_older_runs(healthy, TH, found, read=4)

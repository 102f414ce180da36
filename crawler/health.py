"""Health verdicts of sources for `newsingest status` and monitoring (pure).

A source is ``never-run`` when no run of it has finished, ``failing`` when its last
finished run did not succeed, ``late`` when its last success is older than
`LATE_FACTOR` times its interval, ``skipped`` when its last crawl was skipped because
another crawl held its lock (unless it is late), ``degraded`` when it is otherwise ok
or skipped but its records lost a field against its own baseline (`degradations`),
else ``ok``. ``failing``, ``late`` and ``degraded`` make ``newsingest status`` exit
non-zero.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from storage.fieldstats import FieldCounts, RunCounts, SourceFieldStats, sum_counts

Verdict = Literal["ok", "late", "failing", "never-run", "skipped", "degraded"]

VERDICTS: tuple[Verdict, ...] = ("ok", "degraded", "late", "failing", "skipped", "never-run")

LATE_FACTOR = 3
"""A source is late when it has not succeeded within this many intervals."""

BAD_VERDICTS: frozenset[Verdict] = frozenset({"late", "failing", "degraded"})


def verdict(
    *,
    last_run_status: str | None,
    last_success_at: datetime | None,
    interval: timedelta,
    now: datetime,
    degraded: bool = False,
) -> Verdict:
    """The verdict of one source from its ledger facts (and whether its fields degraded)."""
    if last_run_status is None:
        return "never-run"
    if last_run_status == "skipped":
        late = last_success_at is not None and now - last_success_at > LATE_FACTOR * interval
        return "late" if late else "degraded" if degraded else "skipped"
    if last_run_status != "succeeded":
        return "failing"
    if last_success_at is None or now - last_success_at > LATE_FACTOR * interval:
        return "late"
    return "degraded" if degraded else "ok"


# --- field health: a source against its own baseline ------------------------------------------
@dataclass(frozen=True, slots=True)
class Thresholds:
    """When a source's fields count as degraded (settings ``NEWSINGEST_HEALTH_*``, whose
    defaults are declared in `crawler.settings`)."""

    field_drop: float
    """A field is degraded when its share fell by at least this much (0.3: 90 % -> 60 %)."""
    rejection_rise: float
    """Rejections are degraded when their rate rose by at least this much."""
    words_ratio: float
    """The body is degraded when its median length fell below this fraction of the baseline's."""
    min_records: int
    """Neither the recent runs nor the baseline are judged on fewer records (or pages)."""
    baseline_days: int
    """The baseline: the source's last this many days (UTC, today included)."""


CHECKED_FIELDS = ("title", "lead", "authors", "published", "published_minute", "language",
                  "translation")  # fmt: skip
"""Fields whose share is compared with the baseline (`storage.fieldstats.FIELDS`)."""

FIELD_LABELS = {"published_minute": "published (minute)", "published_day": "published (day)",
                "words": "body words", "rejections": "rejections"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Degradation:
    """One field of a source that fell well below its own baseline."""

    field: str
    """A key of `storage.fieldstats.FIELDS`, ``words`` (median body) or ``rejections``."""
    baseline: float
    recent: float
    since: datetime | None
    """Start of the oldest of the newest runs that were all below the threshold."""

    def describe(self) -> str:
        """E.g. ``authors 93% → 4% since 2025-03-02``."""
        label = FIELD_LABELS.get(self.field, self.field)
        if self.field == "words":
            change = f"{self.baseline:.0f} → {self.recent:.0f}"
        else:
            change = f"{percent(self.baseline)} → {percent(self.recent)}"
        since = f" since {self.since:%Y-%m-%d}" if self.since else ""
        return f"{label} {change}{since}"


def percent(share: float | None) -> str:
    """A share as a whole percentage (``-`` when there is none)."""
    return "-" if share is None else f"{share * 100:.0f}%"


def recent_window(
    runs: Sequence[RunCounts], minimum: int, size: Callable[[FieldCounts], int]
) -> tuple[FieldCounts, list[RunCounts]]:
    """The newest runs (newest first) added up until ``size`` of their sum reaches
    ``minimum`` (or every run). ``size`` adds up over runs (a count), so the runs are
    summed once, when the window is known."""
    reached, used = 0, []
    for run in runs:
        if reached >= minimum:
            break
        reached += size(run.counts)
        used.append(run)
    return sum_counts(run.counts for run in used), used


def _since(runs: Sequence[RunCounts], bad: Callable[[FieldCounts], bool | None]) -> datetime | None:
    """Start of the oldest run in the newest streak of runs that are ``bad`` (runs
    ``bad`` cannot judge, None, are passed over)."""
    since = None
    for run in runs:
        judged = bad(run.counts)
        if judged is None:
            continue
        if not judged:
            break
        since = run.started_at
    return since


def degradations(stats: SourceFieldStats, th: Thresholds, today: date) -> list[Degradation]:
    """The fields of a source whose newest runs fell well below its baseline.

    Recent: the newest runs with at least ``min_records`` records between them (for
    rejections: pages). Baseline: the source's last ``baseline_days`` days without
    those runs. Both need ``min_records``; a field the baseline barely had cannot fall
    by ``field_drop``, so rare fields (translation notes) are judged only where common.
    """
    first = today - timedelta(days=th.baseline_days - 1)
    total = stats.total(first)
    out: list[Degradation] = []
    recent, _ = recent_window(stats.runs, th.min_records, lambda c: c.records)
    base = total.minus(recent)
    if recent.records >= th.min_records and base.records >= th.min_records:
        for name in CHECKED_FIELDS:
            if name == "language" and not stats.language:
                continue
            was, now = base.share(name), recent.share(name)
            if was is None or now is None or was - now < th.field_drop:
                continue
            limit = was - th.field_drop

            def low(c: FieldCounts, name: str = name, limit: float = limit) -> bool | None:
                share = c.share(name)
                return None if share is None else share <= limit

            out.append(Degradation(name, was, now, _since(stats.runs, low)))
        was_words, now_words = base.median_words(), recent.median_words()
        if was_words and now_words is not None and now_words < was_words * th.words_ratio:
            limit = was_words * th.words_ratio

            def short(c: FieldCounts) -> bool | None:
                median = c.median_words()
                return None if median is None else median < limit

            out.append(Degradation("words", was_words, now_words, _since(stats.runs, short)))
    recent_pages, _ = recent_window(stats.runs, th.min_records, lambda c: c.pages)
    base_pages = total.minus(recent_pages)
    if recent_pages.pages >= th.min_records and base_pages.pages >= th.min_records:
        was_rate, now_rate = base_pages.rejection_rate(), recent_pages.rejection_rate()
        if (
            was_rate is not None
            and now_rate is not None
            and now_rate - was_rate >= th.rejection_rise
        ):
            limit = was_rate + th.rejection_rise

            def rejecting(c: FieldCounts) -> bool | None:
                rate = c.rejection_rate()
                return None if rate is None else rate >= limit

            out.append(Degradation("rejections", was_rate, now_rate, _since(stats.runs, rejecting)))
    return out


def needs_older_runs(
    stats: SourceFieldStats, th: Thresholds, found: Sequence[Degradation], read: int
) -> bool:
    """Whether `degradations` of ``stats``, which holds a source's newest ``read`` runs
    (fewer: all it has in the window), could say more with older runs: when it found a
    degradation (the start of its streak may lie further back) or when a recent window
    takes every run read and still falls short of ``min_records``."""
    if len(stats.runs) < read:
        return False
    if found:
        return True
    # a run's pages are never fewer than its records: the pages' window (rejections)
    # fills whenever the records' window does
    reached = 0
    for run in stats.runs:
        if reached >= th.min_records:
            return False
        reached += run.counts.records
    return reached < th.min_records


def describe_degradations(found: Sequence[Degradation]) -> str:
    """``authors 93% → 4% since 2025-03-02; published 100% → 0% since …``."""
    return "; ".join(d.describe() for d in found)


def is_due(last_success_start: datetime | None, interval: timedelta, now: datetime) -> bool:
    """Whether a scheduled crawl should run a source now."""
    return last_success_start is None or now - last_success_start >= interval


def ingest_status(statuses: list[str]) -> str:
    """One status for the runs of a distributed archive ingest (a run per file claimed):
    as `crawl_status`, except that ``abandoned`` runs (a killed worker's) are left out
    while other runs exist, since their files are claimed again when their lease runs out
    and their ingest goes on from the checkpoint."""
    kept = [s for s in statuses if s != "abandoned"]
    return crawl_status(kept or statuses)


def crawl_status(statuses: list[str]) -> str:
    """One status for the worker runs of a distributed crawl (any failure fails it)."""
    if "running" in statuses:
        return "running"
    if statuses and all(s == "skipped" for s in statuses):
        return "skipped"
    if all(s == "succeeded" for s in statuses):
        return "succeeded"
    if "interrupted" in statuses and all(s in ("succeeded", "interrupted") for s in statuses):
        return "interrupted"
    return "failed"

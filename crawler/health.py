"""Health verdicts of sources for `newsingest status` and monitoring (pure).

A source is ``never-run`` when no run of it has finished, ``failing`` when its last
finished run did not succeed, ``late`` when its last success is older than
`LATE_FACTOR` times its interval, ``skipped`` when its last crawl was skipped because
another crawl held its lock (unless it is late), else ``ok``. ``failing`` and ``late`` make
``newsingest status`` exit non-zero.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

Verdict = Literal["ok", "late", "failing", "never-run", "skipped"]

LATE_FACTOR = 3
"""A source is late when it has not succeeded within this many intervals."""

BAD_VERDICTS: frozenset[Verdict] = frozenset({"late", "failing"})


def verdict(
    *,
    last_run_status: str | None,
    last_success_at: datetime | None,
    interval: timedelta,
    now: datetime,
) -> Verdict:
    """The verdict of one source from its ledger facts."""
    if last_run_status is None:
        return "never-run"
    if last_run_status == "skipped":
        late = last_success_at is not None and now - last_success_at > LATE_FACTOR * interval
        return "late" if late else "skipped"
    if last_run_status != "succeeded":
        return "failing"
    if last_success_at is None or now - last_success_at > LATE_FACTOR * interval:
        return "late"
    return "ok"


def is_due(last_success_start: datetime | None, interval: timedelta, now: datetime) -> bool:
    """Whether a scheduled crawl should run a source now."""
    return last_success_start is None or now - last_success_start >= interval


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

"""`newsingest runs` and `newsingest status`: the crawl-run ledger and source health."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from crawler import stats as stat
from crawler.cli.health import degradation_json, settings_option, thresholds
from crawler.cli.main import (
    EXIT_FAILED,
    EXIT_OK,
    config_of,
    load_sources_or_exit,
    main,
    read_database_url,
)
from crawler.health import (
    BAD_VERDICTS,
    Thresholds,
    crawl_status,
    degradations,
    ingest_status,
    needs_older_runs,
    verdict,
)
from crawler.sources import Source
from storage.fieldstats import SourceFieldStats


def run_summary(stats: dict[str, Any]) -> str:
    """A run's stats in one short phrase."""
    return stat.RunSummary.of(stats).fields()


def sum_stats(stats: list[dict[str, Any]]) -> dict[str, Any]:
    """Integer stats added up over the worker runs of one crawl (durations: the longest)."""
    out: dict[str, Any] = {}
    for one in stats:
        for key, value in one.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if key == "elapsed_time_seconds":
                out[key] = max(out.get(key, 0), value)
            else:
                out[key] = out.get(key, 0) + value
    return out


@main.command()
@click.option("--source", "source_key", help="Only runs of this source.")
@click.option("--limit", default=20, show_default=True, help="How many runs.")
@click.pass_context
def runs(ctx: click.Context, source_key: str | None, limit: int) -> None:
    """List recent crawl runs, newest first.

    The worker runs of a distributed crawl are shown as one crawl (its crawl id, status
    and summed stats) followed by one indented line per worker.
    """
    from storage import db, ledger

    url = read_database_url(config_of(ctx))
    with db.session_scope(url) as session:
        rows = ledger.recent_runs(session, source_key=source_key, limit=limit)
    groups: dict[str, list[Any]] = {}
    order: list[tuple[str | None, Any]] = []
    for run, key in rows:
        if run.crawl_id:
            if run.crawl_id not in groups:
                groups[run.crawl_id] = []
                order.append((run.crawl_id, key))
            groups[run.crawl_id].append(run)
        else:
            order.append((None, (run, key)))
    for crawl_id, item in order:
        if crawl_id is None:
            run, key = item
            click.echo(_run_line(run, key))
            continue
        workers = groups[crawl_id]
        first = min(workers, key=lambda r: r.started_at)
        statuses = [w.status for w in workers]
        summed = sum_stats([w.stats for w in workers])
        if all(getattr(w, "kind", "crawl") == "warc" for w in workers):
            # a distributed archive ingest: a run per file a worker claimed
            hosts = {(w.host, w.pid) for w in workers}
            click.echo(
                f"warc {crawl_id} {item or 'matched':17} {ingest_status(statuses):11}"
                f" {first.started_at:%Y-%m-%d %H:%M:%S}  runs={len(workers)}"
                f" workers={len(hosts)}  {stat.warc_summary(summed)} {run_summary(summed)}"
            )
        else:
            click.echo(
                f"crawl {crawl_id} {item or '-':16} {crawl_status(statuses):11}"
                f" {first.started_at:%Y-%m-%d %H:%M:%S}  workers={len(workers)}"
                f"  {run_summary(summed)}"
            )
        for worker_run in workers:
            click.echo("    " + _run_line(worker_run, item))


def _run_line(run: Any, key: str | None) -> str:
    kind = getattr(run, "kind", "crawl")
    trigger = run.trigger if kind == "crawl" else f"{run.trigger}/{kind}"
    summary = run_summary(run.stats)
    if kind == "warc":
        summary = f"{stat.warc_summary(run.stats)} {summary}"
    return (
        f"{run.id:6} {key or '-':16} {run.status:11} {trigger:8}"
        f" {run.started_at:%Y-%m-%d %H:%M:%S} {run.host}:{run.pid}  {summary}"
        + (f"  error: {run.error}" if run.error else "")
    )


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON document for monitoring.")
@click.option("--sources", "sources_path", type=click.Path(path_type=Path), help="Sources file.")
@settings_option
@click.pass_context
def status(
    ctx: click.Context, as_json: bool, sources_path: Path | None, overrides: tuple[str, ...]
) -> None:
    """Health of every enabled source; exit 1 when any is failing, late or degraded.

    Verdicts: ok; late (no success within 3 x its interval); failing (its last
    finished run did not succeed); degraded (ok or skipped otherwise, but a field of
    its newest records fell well below its own 30-day baseline, named with the
    shares: see `newsingest health` and the NEWSINGEST_HEALTH_* settings); skipped (its
    last crawl found the source locked by another crawl: the run holding it is named);
    never-run.
    """
    cfg = config_of(ctx)
    sources = [s for s in load_sources_or_exit(sources_path or cfg.sources_path) if s.enabled]
    th = thresholds(overrides)
    url = read_database_url(cfg)
    now = datetime.now(UTC)
    rows = status_rows(url, sources, now, th)
    ingests = last_ingests(url)
    bad = [r for r in rows if r["verdict"] in BAD_VERDICTS]
    last_ingest = None
    for run, key, together in ingests:
        summed = sum_stats([r.stats for r in together]) if run.crawl_id else run.stats
        last_ingest = {
            "run_id": run.id,
            "source": key,
            "status": ingest_status([r.status for r in together]),
            "started_at": _iso(min(r.started_at for r in together)),
            "finished_at": _iso(run.finished_at),
            "distributed_id": run.crawl_id,
            "runs": len(together),
            "summary": f"{stat.warc_summary(summed)} {run_summary(summed)}",
        }
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": not bad,
                    "checked_at": now.isoformat(),
                    "sources": rows,
                    "last_warc_ingest": last_ingest,
                }
            )
        )
    else:
        for r in rows:
            shown = r["verdict"]
            if shown == "skipped":
                holder = r["locked_by_run_id"]
                shown = f"skipped (locked by {f'run {holder}' if holder else 'another crawl'})"
            click.echo(
                f"{r['source']:20} {shown:9} last run: {r['last_run_status'] or '-':11}"
                f" {r['last_run_started_at'] or '-':25}"
                f" last success: {r['last_success_at'] or '-':25}"
                f" 24h: {r['articles_24h']:5} 7d: {r['articles_7d']:6}"
                f" failures in last run: {r['last_run_failures']}"
            )
        for r in rows:
            if r["degraded"]:
                text = "; ".join(d["text"] for d in r["degraded"])
                click.echo(f"{r['source']}: {r['verdict']} — {text}")
        if last_ingest is not None:
            which = (
                f"{last_ingest['distributed_id']} ({last_ingest['runs']} runs)"
                if last_ingest["distributed_id"]
                else f"run {last_ingest['run_id']}"
            )
            click.echo(
                f"last archive ingest: {which} {last_ingest['status']}"
                f" {last_ingest['started_at']} source: {last_ingest['source'] or 'matched'}"
                f"  {last_ingest['summary']}"
            )
    sys.exit(EXIT_FAILED if bad else EXIT_OK)


def last_ingests(url: str, limit: int = 1) -> list[Any]:
    """The newest archive ingests with their source keys and the runs they belong with
    (those of their distributed ingest, or themselves)."""
    from storage import db, ledger

    with db.session_scope(url) as session:
        return [
            (run, key, ledger.runs_of_crawl(session, run.crawl_id) if run.crawl_id else [run])
            for run, key in ledger.latest_ingests(session, limit=limit)
        ]


FIRST_RUNS = 5
"""Runs of every source `status_rows` reads first: enough for the recent window of a
source crawled often (``NEWSINGEST_HEALTH_MIN_RECORDS`` records in a few runs)."""

ALL_RUNS = 50
"""Runs `status_rows` reads of a source whose verdict needs more than `FIRST_RUNS` (as
`storage.fieldstats.source_field_stats` reads by default: a "since" over two days of
hourly runs)."""


def status_rows(
    url: str,
    sources: Sequence[Source],
    now: datetime,
    th: Thresholds,
    fields: dict[str, SourceFieldStats] | None = None,
) -> list[dict[str, Any]]:
    """What `status` reports of each source (a JSON-able dict per source); ``fields``:
    their field counts when the caller has read them already.

    Read otherwise: every source's summed window and newest `FIRST_RUNS` runs, then
    `ALL_RUNS` runs of only the sources whose verdict needs older ones
    (`crawler.health.needs_older_runs`: a degradation, whose streak's start is looked
    for, or a recent window the first runs do not fill), so the report is the one
    `ALL_RUNS` runs of every source would give."""
    from storage import db, fieldstats, ledger

    keys = [s.key for s in sources]
    with db.session_scope(url) as session:
        health = ledger.source_health(session, keys, now)
        if fields is None:
            fields = fieldstats.source_field_stats(
                session, keys, now, days=th.baseline_days, runs=FIRST_RUNS, summed=True
            )
            found_of = {k: degradations(fields[k], th, now.date()) for k in keys}
            more = [k for k in keys if needs_older_runs(fields[k], th, found_of[k], FIRST_RUNS)]
            if more:
                older = fieldstats.source_runs(
                    session, more, now, days=th.baseline_days, runs=ALL_RUNS
                )
                for k in more:
                    fields[k] = replace(fields[k], runs=older.get(k, []))
                    found_of[k] = degradations(fields[k], th, now.date())
        else:
            found_of = {k: degradations(fields[k], th, now.date()) for k in keys}
    rows = []
    for source, h in zip(sources, health, strict=True):
        finished = [st for st in h.last_crawl_statuses if st != "running"]
        last_status = crawl_status(finished) if h.last_crawl_id and finished else None
        found = found_of[source.key]
        v = verdict(
            last_run_status=last_status or h.last_run_status,
            last_success_at=h.last_success_at,
            interval=source.interval,
            now=now,
            degraded=bool(found),
        )
        rows.append(
            {
                "source": source.key,
                "verdict": v,
                "degraded": [degradation_json(d) for d in found],
                "locked_by_run_id": h.last_run_locked_by if v == "skipped" else None,
                "last_run_id": h.last_run_id,
                "last_run_status": h.last_run_status,
                "last_crawl_id": h.last_crawl_id,
                "last_crawl_status": last_status,
                "last_run_started_at": _iso(h.last_run_started_at),
                "last_run_failures": h.last_run_failures,
                "last_success_at": _iso(h.last_success_at),
                "articles_24h": h.articles_24h,
                "articles_7d": h.articles_7d,
                "interval_seconds": int(source.interval.total_seconds()),
            }
        )
    return rows


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None

"""`newsingest metrics`: Prometheus text exposition of every enabled source's health.

Per source: its verdict (a gauge per verdict, 1 for the current one), last run and last
success times, the last run's articles new/updated/unchanged, its fetch failures by
stage and reason and its pages per second, the field-health shares for the last run,
7 days and the baseline, the median body and the rejection rates; and the local
spool's backlog. Built with ``prometheus-client`` on a registry of its own (no process
metrics). ``--textfile DIR`` writes ``DIR/newsingest.prom`` atomically (a temporary file
renamed over it) for node_exporter's textfile collector.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from crawler import stats as stat
from crawler.cli.health import SHOWN_FIELDS, select_sources, settings_option, thresholds
from crawler.cli.main import EXIT_OK, config_of, main, read_database_url
from crawler.cli.runs import status_rows
from crawler.health import VERDICTS, Thresholds
from crawler.sources import Source
from storage.fieldstats import FieldCounts, SourceFieldStats
from storage.ledger import RunDetails

NAMESPACE = "newsingest"
"""Every metric's name starts with ``newsingest_`` (prometheus-client's namespace)."""

TEXTFILE_NAME = "newsingest.prom"
"""The file ``--textfile DIR`` writes (node_exporter reads ``*.prom``)."""

OUTCOMES = {
    "new": stat.STORE_INSERTED,
    "updated": stat.STORE_UPDATED,
    "unchanged": stat.STORE_UNCHANGED,
}


def _timestamp(iso: str | None) -> float | None:
    return datetime.fromisoformat(iso).timestamp() if iso else None


def build_registry(
    rows: list[dict[str, Any]],
    fields: dict[str, SourceFieldStats],
    details: dict[int, RunDetails],
    spool_counts: tuple[int, int, int],
    th: Thresholds,
    now: datetime,
) -> Any:
    """A ``CollectorRegistry`` holding the metrics of ``rows`` (`status_rows`), their
    field counts and last runs' details, and the spool's (files, articles, failures)."""
    from prometheus_client import CollectorRegistry, Gauge

    reg = CollectorRegistry(auto_describe=True)

    def gauge(name: str, doc: str, labels: tuple[str, ...] = ("source",)) -> Gauge:
        return Gauge(name, doc, labels, namespace=NAMESPACE, registry=reg)

    verdict_g = gauge(
        "source_verdict",
        "1 for the source's current verdict (as newsingest status says), 0 for the others",
        ("source", "verdict"),
    )
    degraded_g = gauge(
        "source_degraded_field",
        "1 for each field status names as degraded",
        ("source", "field"),
    )
    success_g = gauge(
        "source_last_success_timestamp_seconds",
        "End of the source's last successful run (Unix time)",
    )
    interval_g = gauge("source_interval_seconds", "The source's crawl interval (sources file)")
    last_run_g = gauge(
        "source_last_run_timestamp_seconds",
        "Start of the source's last finished run (Unix time)",
    )
    articles_g = gauge(
        "source_last_run_articles",
        "Articles of the last finished run by outcome (new, updated, unchanged)",
        ("source", "outcome"),
    )
    failures_g = gauge(
        "source_last_run_failures",
        "Fetch failures of the last finished run by stage and reason",
        ("source", "stage", "reason"),
    )
    rate_g = gauge(
        "source_last_run_pages_per_second",
        "Article pages fetched per second of the last finished run",
    )
    share_g = gauge(
        "source_field_share",
        "Share of the source's records that have the field, per window (last_run, 7d, baseline)",
        ("source", "field", "window"),
    )
    records_g = gauge("source_records", "Records stored per window", ("source", "window"))
    words_g = gauge(
        "source_body_words_median",
        "Median body length in words per window",
        ("source", "window"),
    )
    rejected_g = gauge(
        "source_rejection_rate",
        "Pages rejected by extraction per page extracted or rejected, per window",
        ("source", "window"),
    )
    reason_g = gauge(
        "source_rejection_reason_rate",
        "Pages rejected for a reason per page extracted or rejected, per window",
        ("source", "reason", "window"),
    )
    spool_files_g = Gauge(
        "spool_files", "Spool files waiting to be stored", namespace=NAMESPACE, registry=reg
    )
    spool_g = Gauge(
        "spool_entries",
        "Spooled entries waiting to be stored, by kind",
        ["kind"],
        namespace=NAMESPACE,
        registry=reg,
    )

    today = now.date()
    for row in rows:
        key = row["source"]
        for v in VERDICTS:
            verdict_g.labels(key, v).set(1 if row["verdict"] == v else 0)
        for d in row["degraded"]:
            degraded_g.labels(key, d["field"]).set(1)
        interval_g.labels(key).set(row["interval_seconds"])
        if (ts := _timestamp(row["last_success_at"])) is not None:
            success_g.labels(key).set(ts)
        if (ts := _timestamp(row["last_run_started_at"])) is not None:
            last_run_g.labels(key).set(ts)
        run = details.get(row["last_run_id"] or -1)
        if run is not None:
            for outcome, stat_key in OUTCOMES.items():
                articles_g.labels(key, outcome).set(_int(run.stats.get(stat_key)))
            for (stage, reason), n in sorted(run.failures.items()):
                failures_g.labels(key, stage, reason).set(n)
            elapsed = float(run.stats.get("elapsed_time_seconds") or 0)
            if elapsed > 0:
                rate_g.labels(key).set(_int(run.stats.get(stat.FETCH_ARTICLES)) / elapsed)
        st = fields[key]
        windows: dict[str, FieldCounts] = {
            "7d": st.total(today - timedelta(days=6)),
            "baseline": st.total(today - timedelta(days=th.baseline_days - 1)),
        }
        if st.runs:
            windows["last_run"] = st.runs[0].counts
        for window, c in windows.items():
            records_g.labels(key, window).set(c.records)
            for name in SHOWN_FIELDS:
                share = None if name == "language" and not st.language else c.share(name)
                if share is not None:
                    share_g.labels(key, name, window).set(share)
            if (median := c.median_words()) is not None:
                words_g.labels(key, window).set(median)
            if (rate := c.rejection_rate()) is not None:
                rejected_g.labels(key, window).set(rate)
                for reason in sorted(c.rejections):
                    reason_g.labels(key, reason, window).set(c.rejection_rate(reason) or 0)
    files, articles, failures = spool_counts
    spool_files_g.set(files)
    spool_g.labels("article").set(articles)
    spool_g.labels("failure").set(failures)
    return reg


def _int(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def collect(
    url: str, sources: Sequence[Source], data_dir: Path, th: Thresholds, now: datetime
) -> Any:
    """The metrics of ``sources`` read from the database at ``url`` and the spool under
    ``data_dir``, on a registry of their own (`build_registry`)."""
    from crawler import spool
    from storage import db, fieldstats, ledger

    with db.session_scope(url) as session:
        source_keys = [s.key for s in sources]
        fields = fieldstats.source_field_stats(session, source_keys, now, days=th.baseline_days)
    rows = status_rows(url, sources, now, th, fields)
    with db.session_scope(url) as session:
        details = ledger.run_details(
            session, [r["last_run_id"] for r in rows if r["last_run_id"] is not None]
        )
    pending = spool.status(data_dir)
    counts = (len(pending.files), pending.total("article"), pending.total("failure"))
    return build_registry(rows, fields, details, counts, th, now)


@main.command()
@click.argument("keys", nargs=-1)
@click.option(
    "--textfile",
    "textfile_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help=f"Write DIR/{TEXTFILE_NAME} atomically (node_exporter's textfile collector) "
    "instead of printing.",
)
@click.option("--sources", "sources_path", type=click.Path(path_type=Path), help="Sources file.")
@settings_option
@click.pass_context
def metrics(
    ctx: click.Context,
    keys: tuple[str, ...],
    textfile_dir: Path | None,
    sources_path: Path | None,
    overrides: tuple[str, ...],
) -> None:
    """Prometheus metrics of the sources named by KEYS (every enabled one when none)."""
    from prometheus_client import generate_latest, write_to_textfile

    cfg = config_of(ctx)
    sources = select_sources(sources_path or cfg.sources_path, keys)
    th = thresholds(overrides)
    if textfile_dir is not None and not textfile_dir.is_dir():
        click.echo(f"error: --textfile {textfile_dir}: folder does not exist", err=True)
        sys.exit(2)
    url = read_database_url(cfg)
    registry = collect(url, sources, cfg.data_dir, th, datetime.now(UTC))
    if textfile_dir is not None:
        write_to_textfile(str(textfile_dir / TEXTFILE_NAME), registry)
    else:
        click.echo(generate_latest(registry).decode("utf-8"), nl=False)
    sys.exit(EXIT_OK)

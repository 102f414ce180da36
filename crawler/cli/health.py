"""`newsingest health`: per-source field health (the last run, 7 days, the baseline).

Reads the field counts the write path keeps (`storage.fieldstats`: ``run_field_stats``
and ``source_daily_stats``), never the articles. The thresholds of ``status``'s verdict
``degraded`` are the ``NEWSINGEST_HEALTH_*`` settings (`thresholds`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from crawler.cli.errors import EXIT_USAGE
from crawler.cli.main import EXIT_OK, config_of, load_sources_or_exit, main, read_database_url
from crawler.health import (
    FIELD_LABELS,
    Degradation,
    Thresholds,
    degradations,
    describe_degradations,
    percent,
)
from crawler.sources import Source
from crawler.validation import RULES, check_override_names, check_settings
from storage.fieldstats import FieldCounts, SourceFieldStats

HEALTH_SETTINGS = (
    "NEWSINGEST_HEALTH_FIELD_DROP",
    "NEWSINGEST_HEALTH_REJECTION_RISE",
    "NEWSINGEST_HEALTH_WORDS_RATIO",
    "NEWSINGEST_HEALTH_MIN_RECORDS",
    "NEWSINGEST_HEALTH_BASELINE_DAYS",
)

SHOWN_FIELDS = ("title", "lead", "authors", "published", "published_minute", "published_day",
                "language", "translation")  # fmt: skip
"""Rows of the table, in order (keys of `storage.fieldstats.FIELDS`)."""

SPARK = "▁▂▃▄▅▆▇█"

settings_option = click.option(
    "-s",
    "--set",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a NEWSINGEST_HEALTH_* threshold (repeatable).",
)


def thresholds(overrides: Sequence[str] = ()) -> Thresholds:
    """The ``NEWSINGEST_HEALTH_*`` settings: `crawler.settings`' defaults under
    ``NAME=VALUE`` overrides (a wrong name or value: `SettingsError`, one line)."""
    import crawler.settings as project_settings

    values: dict[str, Any] = {name: getattr(project_settings, name) for name in HEALTH_SETTINGS}
    given: dict[str, str] = {}
    for pair in overrides:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            click.echo(f"error: --set takes NAME=VALUE, got {pair!r}", err=True)
            sys.exit(EXIT_USAGE)
        given[name.strip()] = value
    check_override_names(given, HEALTH_SETTINGS)
    other = sorted(n for n in given if n not in HEALTH_SETTINGS)
    if other:
        click.echo(f"error: only NEWSINGEST_HEALTH_* settings apply here, not {other[0]}", err=True)
        sys.exit(EXIT_USAGE)
    values.update(given)
    check_settings(values)
    return Thresholds(
        field_drop=float(values["NEWSINGEST_HEALTH_FIELD_DROP"]),
        rejection_rise=float(values["NEWSINGEST_HEALTH_REJECTION_RISE"]),
        words_ratio=float(values["NEWSINGEST_HEALTH_WORDS_RATIO"]),
        min_records=int(values["NEWSINGEST_HEALTH_MIN_RECORDS"]),
        baseline_days=int(values["NEWSINGEST_HEALTH_BASELINE_DAYS"]),
    )


assert set(HEALTH_SETTINGS) <= set(RULES)


def select_sources(path: Path, keys: Sequence[str]) -> list[Source]:
    """The sources named by ``keys`` (every enabled one when none); an unknown key ends
    the command with one line and exit 2."""
    sources = load_sources_or_exit(path)
    if not keys:
        return [s for s in sources if s.enabled]
    by_key = {s.key: s for s in sources}
    unknown = [k for k in keys if k not in by_key]
    if unknown:
        click.echo(f"error: unknown source(s) in {path}: {', '.join(unknown)}", err=True)
        sys.exit(EXIT_USAGE)
    return [by_key[k] for k in dict.fromkeys(keys)]


def load_field_stats(
    url: str, keys: Sequence[str], now: datetime, days: int
) -> dict[str, SourceFieldStats]:
    """Each source's field counts of the last ``days`` days and its newest runs."""
    from storage import db, fieldstats

    with db.session_scope(url) as session:
        return fieldstats.source_field_stats(session, keys, now, days=days)


def window_summary(counts: FieldCounts, language: str | None) -> dict[str, Any]:
    """Shares, median body and rejection rates of one window, for JSON."""
    shares: dict[str, float | None] = {}
    for name in SHOWN_FIELDS:
        shares[name] = None if name == "language" and not language else counts.share(name)
    rates = {r: counts.rejection_rate(r) for r in sorted(counts.rejections)}
    return {
        "records": counts.records,
        "rejected": counts.rejected,
        "shares": shares,
        "published_precision": {
            p: getattr(counts, f"published_{p}") / counts.records if counts.records else None
            for p in ("minute", "day", "month", "year")
        },
        "median_words": counts.median_words(),
        "rejection_rate": counts.rejection_rate(),
        "rejections": rates,
    }


def sparkline(values: Sequence[float | None]) -> str:
    """One character per value in 0..1 (``▁`` to ``█``), a space where there is none."""
    out = []
    for v in values:
        if v is None:
            out.append(" ")
        else:
            out.append(SPARK[min(len(SPARK) - 1, max(0, int(v * len(SPARK))))])
    return "".join(out)


def degradation_json(d: Degradation) -> dict[str, Any]:
    return {
        "field": d.field,
        "baseline": d.baseline,
        "recent": d.recent,
        "since": d.since.isoformat(timespec="seconds") if d.since else None,
        "text": d.describe(),
    }


@main.command()
@click.argument("keys", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
@click.option(
    "--spark/--no-spark",
    default=None,
    help="A 30-day sparkline per field [default: when stdout is a terminal].",
)
@click.option("--sources", "sources_path", type=click.Path(path_type=Path), help="Sources file.")
@settings_option
@click.pass_context
def health(
    ctx: click.Context,
    keys: tuple[str, ...],
    as_json: bool,
    spark: bool | None,
    sources_path: Path | None,
    overrides: tuple[str, ...],
) -> None:
    """Field health of the sources named by KEYS (every enabled one when none).

    Per field, the share of the source's records that have it in its last run, its
    last 7 days and its baseline (the last 30 days): title, lead, authors or credits,
    published date (any, to the minute, to the day), language agreeing with the
    source's, translation note; the median body length; the rejection rate by reason.
    Degraded fields (see `status`) are named under the table.
    """
    cfg = config_of(ctx)
    path = sources_path or cfg.sources_path
    sources = select_sources(path, keys)
    th = thresholds(overrides)
    url = read_database_url(cfg)
    now = datetime.now(UTC)
    stats = load_field_stats(url, [s.key for s in sources], now, th.baseline_days)
    today = now.date()
    docs = []
    for source in sources:
        st = stats[source.key]
        found = degradations(st, th, today)
        last = st.runs[0] if st.runs else None
        days = [today - timedelta(days=i) for i in range(th.baseline_days - 1, -1, -1)]
        docs.append(
            {
                "source": source.key,
                "language": st.language,
                "last_run": None
                if last is None
                else {
                    "run_id": last.run_id,
                    "started_at": last.started_at.isoformat(timespec="seconds"),
                    "status": last.status,
                    **window_summary(last.counts, st.language),
                },
                "last_7_days": window_summary(st.total(today - timedelta(days=6)), st.language),
                "baseline": window_summary(
                    st.total(today - timedelta(days=th.baseline_days - 1)), st.language
                ),
                "daily": [
                    {"day": d.isoformat(), **window_summary(st.days[d], st.language)}
                    for d in days
                    if d in st.days
                ],
                "degraded": [degradation_json(d) for d in found],
            }
        )
        if not as_json:
            _print_table(st, found, days, th, spark if spark is not None else sys.stdout.isatty())
    if as_json:
        click.echo(json.dumps({"checked_at": now.isoformat(), "sources": docs}))
    sys.exit(EXIT_OK)


def _words(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f}"


def _print_table(
    st: SourceFieldStats,
    found: Sequence[Degradation],
    days: Sequence[date],
    th: Thresholds,
    spark: bool,
) -> None:
    today = days[-1]
    last = st.runs[0] if st.runs else None
    last_c = last.counts if last else FieldCounts()
    week = st.total(today - timedelta(days=6))
    base = st.total(days[0])
    title = f"{st.key}" + (f" ({st.language})" if st.language else "")
    if last:
        title += f"  last run {last.run_id} {last.started_at:%Y-%m-%d %H:%M} ({last.status})"
    click.echo(title)
    head = f"  {'field':20} {'last run':>9} {'7 days':>9} {f'{th.baseline_days} days':>9}"
    click.echo(head + ("  trend (one day a character)" if spark else ""))

    def row(label: str, values: Sequence[str], trend: str = "") -> None:
        line = f"  {label:20} " + " ".join(f"{v:>9}" for v in values)
        click.echo(line + (f"  {trend}" if spark and trend else ""))

    def daily(fn: Any) -> str:
        return sparkline([fn(st.days[d]) if d in st.days else None for d in days])

    row("records", [str(last_c.records), str(week.records), str(base.records)])
    for name in SHOWN_FIELDS:
        label = FIELD_LABELS.get(name, name)
        if name == "language" and not st.language:
            row(label, ["-", "-", "-"])
            continue
        row(
            label,
            [percent(c.share(name)) for c in (last_c, week, base)],
            daily(lambda c, name=name: c.share(name)),
        )
    top = max((c.median_words() or 0 for c in st.days.values()), default=0) or 1
    row(
        "body words (median)",
        [_words(c.median_words()) for c in (last_c, week, base)],
        daily(lambda c: None if c.median_words() is None else (c.median_words() or 0) / top),
    )
    row(
        "rejected",
        [percent(c.rejection_rate()) for c in (last_c, week, base)],
        daily(lambda c: c.rejection_rate()),
    )
    for reason in sorted(base.rejections, key=lambda r: -base.rejections[r]):
        row(f"  {reason}", [percent(c.rejection_rate(reason)) for c in (last_c, week, base)])
    if found:
        click.echo(f"{st.key}: degraded — {describe_degradations(found)}")
    click.echo("")

"""`newsingest warc`: ingest web archive files (WARC, ARC) as if their pages were crawled."""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from crawler import stats as stat
from crawler.archive import is_url
from crawler.cli.crawl import parse_overrides, set_option
from crawler.cli.errors import UserError
from crawler.cli.main import EXIT_FAILED, EXIT_OK, config_of, database_url, main
from crawler.runner import crawl_settings, new_process
from crawler.sources import SourcesError, load_sources


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option(
    "--source", "source_key", metavar="KEY", help="Every record is a page of this source."
)
@click.option(
    "--match-sources",
    is_flag=True,
    help="Each record goes to the source whose site and article_urls rules its URL matches; "
    "records of no source are skipped.",
)
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    help="Only records fetched (WARC-Date) on or after this day (UTC).",
)
@click.option(
    "--until",
    type=click.DateTime(["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    help="Only records fetched on or before this day (UTC).",
)
@click.option("--sources", "sources_path", type=click.Path(path_type=Path), help="Sources file.")
@click.option(
    "--max-records",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Stop after reading this many records (0: no limit); the next run goes on from there.",
)
@set_option
@click.pass_context
def warc(
    ctx: click.Context,
    paths: tuple[str, ...],
    source_key: str | None,
    match_sources: bool,
    since: datetime | None,
    until: datetime | None,
    sources_path: Path | None,
    max_records: int,
    overrides: tuple[str, ...],
) -> None:
    """Ingest WARC/ARC files (plain or gzip; local paths or http(s) URLs, streamed) as
    crawled pages: each HTTP 200 HTML response goes through the same extraction and
    storage as a page fetched live, with its WARC-Date as the fetch time.

    One run in the ledger (kind warc). Resumable: a file ingested completely before is
    skipped, a file begun before goes on from its checkpoint. Exit 0 when the run
    succeeded, 1 when it failed (a file could not be read, records were spooled), 2 on
    usage errors.
    """
    cfg = config_of(ctx)
    if bool(source_key) == match_sources:
        raise UserError("name one of --source KEY or --match-sources")
    path = sources_path or cfg.sources_path
    try:
        sources = {s.key: s for s in load_sources(path)}
    except SourcesError as exc:
        raise UserError(str(exc)) from exc
    if source_key and source_key not in sources:
        known = ", ".join(sorted(sources)) or "none"
        raise UserError(f"unknown source {source_key!r} in {path} (known: {known})")
    for given in paths:
        if is_url(given):
            continue
        file = Path(given)
        if not file.exists():
            raise UserError(f"{given}: no such file")
        if not file.is_file():
            raise UserError(f"{given}: not a file")
    if since and until and until < since:
        raise UserError("--until is before --since")
    extra = parse_overrides(overrides)
    if "NEWSINGEST_DATABASE_URL" in extra:
        cfg = dataclasses.replace(cfg, database_url=extra.pop("NEWSINGEST_DATABASE_URL") or None)
        ctx.find_root().obj = cfg
    if max_records:
        extra["NEWSINGEST_WARC_MAX_RECORDS"] = str(max_records)
    settings = crawl_settings(
        cfg,
        path,
        database_url="",
        log_level=ctx.meta["log_level"],
        progress=sys.stderr.isatty(),
        extra_settings=extra,
    )
    if settings.getint("NEWSINGEST_EXTRACT_WORKERS") > 0:
        from crawler.extractpool import start_fork_server

        start_fork_server()
    settings.set("NEWSINGEST_DATABASE_URL", database_url(cfg), priority="cmdline")
    args: dict[str, Any] = {"files": json.dumps(list(paths))}
    if source_key:
        args["source"] = source_key
    else:
        args["match_sources"] = "1"
    if since:
        args["since"] = since.replace(tzinfo=UTC).isoformat()
    if until:
        args["until"] = (until.replace(tzinfo=UTC) + timedelta(days=1)).isoformat()
    stats, status = _run(settings, args)
    click.echo(f"warc: {status}; {stat.warc_summary(stats)} {stat.RunSummary.of(stats).fields()}")
    sys.exit(EXIT_OK if status == "succeeded" else EXIT_FAILED)


def _run(settings: Any, args: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Run the ``warc`` spider in this process; its stats and the run's status."""
    from scrapy.crawler import Crawler

    from crawler.extensions.ledger import run_closed
    from crawler.spiders.warc import WarcSpider

    process = new_process(settings)
    crawler = Crawler(WarcSpider, settings)
    outcome: list[str] = []

    def closed(status: str) -> None:  # the ledger's word on how the run ended
        outcome.append(status)

    crawler.signals.connect(closed, signal=run_closed)
    process.crawl(crawler, **args)
    process.start()
    stats: dict[str, Any] = crawler.stats.get_stats() if crawler.stats is not None else {}
    status = outcome[-1] if outcome else "failed"
    if status == "failed" and stats.get("finish_reason") == "shutdown":
        status = "interrupted"
    return stats, status

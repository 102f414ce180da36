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
from crawler.archive import is_url, location_of
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
@click.option(
    "--distributed",
    is_flag=True,
    help="Queue the files in Redis (--redis-url or NEWSINGEST_REDIS_URL) for `newsingest "
    "worker` processes on any machine, which claim one whole file at a time; return at once.",
)
@click.option("--redis-url", help="Redis of distributed ingests [env NEWSINGEST_REDIS_URL].")
@click.option(
    "--lease-seconds",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Distributed: a file whose worker stopped renewing its lease (every 5 s) for this "
    "long is claimed by another worker.",
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
    distributed: bool,
    redis_url: str | None,
    lease_seconds: float,
    overrides: tuple[str, ...],
) -> None:
    """Ingest WARC/ARC files (plain or gzip; local paths or http(s) URLs, streamed) as
    crawled pages: each HTTP 200 HTML response goes through the same extraction and
    storage as a page fetched live, with its WARC-Date as the fetch time.

    One run in the ledger (kind warc). Resumable: a file ingested completely before is
    skipped, a file begun before goes on from its checkpoint. Exit 0 when the run
    succeeded, 1 when it failed (a file could not be read, records were spooled), 2 on
    usage errors.

    With --distributed the files are queued in Redis instead and `newsingest worker`
    processes ingest them, a run per file (the same checkpoints: a file done is skipped,
    a file begun goes on); local paths must be readable at the same path on the
    workers' machines (or give http(s) URLs).
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
    if distributed:
        redis_url = redis_url or cfg.redis_url
        if not redis_url:
            raise UserError("--distributed needs --redis-url or NEWSINGEST_REDIS_URL")
        if max_records:
            raise UserError("--max-records is for one process, not --distributed")
        if overrides:
            raise UserError("-s is for one process; give settings to the workers")
        _queue(redis_url, paths, source_key, since, until, lease_seconds)
        return
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
        args["since"] = _since(since)
    if until:
        args["until"] = _until(until)
    stats, status = _run(settings, args)
    click.echo(f"warc: {status}; {stat.warc_summary(stats)} {stat.RunSummary.of(stats).fields()}")
    sys.exit(EXIT_OK if status == "succeeded" else EXIT_FAILED)


def _since(day: datetime) -> str:
    return day.replace(tzinfo=UTC).isoformat()


def _until(day: datetime) -> str:
    return (day.replace(tzinfo=UTC) + timedelta(days=1)).isoformat()


def _queue(
    redis_url: str,
    paths: tuple[str, ...],
    source_key: str | None,
    since: datetime | None,
    until: datetime | None,
    lease_seconds: float,
) -> None:
    """``--distributed``: the files into Redis as a new ingest, and how to follow it."""
    import redis

    from crawler import distributed as dist
    from crawler import distributed_warc as dwarc

    try:
        client = dist.connect(redis_url)
        ingest = dwarc.queue_files(
            client,
            [location_of(p) for p in paths],
            source_key=source_key,
            since=_since(since) if since else None,
            until=_until(until) if until else None,
            lease_seconds=lease_seconds,
        )
    except redis.RedisError as exc:
        click.echo(f"error: cannot queue the files in Redis ({redis_url}): {exc}", err=True)
        sys.exit(EXIT_FAILED)
    records = f"source {source_key}" if source_key else "records matched to their sources"
    click.echo(
        f"queued {ingest.files} file{'' if ingest.files == 1 else 's'} as archive ingest"
        f" {ingest.ingest_id} ({records}) in {redis_url}\n"
        f"ingest them: newsingest worker (NEWSINGEST_REDIS_URL={redis_url}), on any number"
        " of machines that read these files and the database\n"
        f"follow it: newsingest runs (its runs are grouped as 'warc {ingest.ingest_id}');"
        " newsingest status (the last archive ingest)"
    )


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

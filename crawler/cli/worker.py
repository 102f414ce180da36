"""`newsingest worker`: serve the distributed crawls queued in Redis, on any machine."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import click

from crawler.cli.main import EXIT_FAILED, EXIT_OK, EXIT_USAGE, config_of, database_url, main
from crawler.runner import CrawlJob, crawl_settings, job_status, make_crawler, new_process

logger = logging.getLogger(__name__)


@main.command()
@click.option("--redis-url", help="Redis of distributed crawls [env NEWSINGEST_REDIS_URL].")
@click.option("--sources", "sources_path", type=click.Path(path_type=Path), help="Sources file.")
@click.option(
    "--idle-timeout",
    default=300.0,
    show_default=True,
    help="Stop after this many seconds with no distributed crawl to work on.",
)
@click.option(
    "--idle-seconds",
    type=float,
    help="How long a crawl's worker waits on its empty queue before leaving it"
    " [default: the setting NEWSINGEST_WORKER_IDLE_SECONDS].",
)
@click.option("--parallel", default=4, show_default=True, help="Crawls served at once.")
@click.option("-s", "--set", "overrides", multiple=True, metavar="NAME=VALUE")
@click.pass_context
def worker(
    ctx: click.Context,
    redis_url: str | None,
    sources_path: Path | None,
    idle_timeout: float,
    idle_seconds: float | None,
    parallel: int,
    overrides: tuple[str, ...],
) -> None:
    """Work on every distributed crawl queued in Redis until idle for --idle-timeout.

    Each crawl joined gets a crawl_runs row of its own (trigger cli, with the crawl's
    crawl_id). Exit code 0 when every crawl this worker joined succeeded, else 1.
    """
    from crawler import distributed as dist
    from crawler.cli.crawl import parse_overrides

    cfg = config_of(ctx)
    redis_url = redis_url or cfg.redis_url
    if not redis_url:
        click.echo("error: the worker needs --redis-url or NEWSINGEST_REDIS_URL", err=True)
        sys.exit(EXIT_USAGE)
    client = dist.connect(redis_url)
    url = database_url(cfg)
    settings = crawl_settings(
        cfg,
        sources_path or cfg.sources_path,
        database_url=url,
        log_level=ctx.meta["log_level"],
        extra_settings=parse_overrides(overrides),
    )
    process = new_process(settings)  # installs the asyncio reactor: import it after
    from twisted.internet import reactor, task

    jobs: list[CrawlJob] = []
    running: set[str] = set()
    idle_since = [time.monotonic()]

    def finished(_: object, crawl_id: str) -> object:
        running.discard(crawl_id)
        return _

    def poll() -> None:
        try:
            crawls = dist.active(client)
        except Exception as exc:
            logger.warning("cannot read the crawl registry: %s", exc)
            crawls = {}
        for crawl in crawls.values():
            if crawl.crawl_id in running or len(running) >= parallel:
                continue
            if dist.pending(client, crawl.crawl_id) == 0:
                continue  # nothing queued: its workers finish it
            job = CrawlJob(
                crawl.source_key,
                settings=dist.crawl_settings(redis_url, crawl.crawl_id, idle_seconds),
                args={"seed": "0"},
            )
            jobs.append(job)
            running.add(crawl.crawl_id)
            logger.info("joining distributed crawl %s of %s", crawl.crawl_id, crawl.source_key)
            crawler = make_crawler(process, settings, job)
            d = process.crawl(crawler, source=job.key, **job.args)
            d.addBoth(finished, crawl.crawl_id)
        if running:
            idle_since[0] = time.monotonic()
        elif time.monotonic() - idle_since[0] >= idle_timeout:
            loop.stop()
            reactor.stop()  # type: ignore[misc]

    loop = task.LoopingCall(poll)
    loop.start(1.0, now=False)
    process.start(stop_after_crawl=False)
    results = [(job.key, job_status(job)) for job in jobs]
    for key, status in results:
        click.echo(f"{key}: {status}")
    if not results:
        click.echo("no distributed crawl to work on")
    ok = all(status in ("succeeded", "skipped") for _, status in results)
    sys.exit(EXIT_OK if ok else EXIT_FAILED)

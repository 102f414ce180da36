"""`newsingest worker`: serve the distributed crawls and archive ingests queued in Redis,
on any machine."""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from crawler.cli.main import EXIT_FAILED, EXIT_OK, EXIT_USAGE, config_of, database_url, main
from crawler.runner import CrawlJob, crawl_settings, job_status, make_crawler, new_process

logger = logging.getLogger(__name__)


@dataclass
class FileJob:
    """One claimed archive file being ingested by this worker (a ``warc`` run)."""

    claim: Any  # crawler.distributed_warc.Claim
    job: CrawlJob
    renewed: float = field(default_factory=time.monotonic)
    lost: bool = False
    """Its lease went to another worker (this one stalled past it)."""


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
    """Work on every distributed crawl and archive ingest queued in Redis until idle for
    --idle-timeout.

    Each crawl joined gets a crawl_runs row of its own (trigger cli, with the crawl's
    crawl_id). Archive files (``newsingest warc --distributed``) are claimed one whole
    file at a time and ingested as ``newsingest warc`` would (a run of kind warc per
    file, the ingest's id as its crawl_id); a file whose worker was killed is claimed
    again when its lease runs out. Exit code 0 when every crawl and file this worker
    took on succeeded, else 1.
    """
    from crawler import distributed as dist
    from crawler import distributed_warc as dwarc
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
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    files: list[FileJob] = []  # the file being ingested (one at a time)
    file_jobs: list[tuple[str, CrawlJob]] = []

    def finished(_: object, crawl_id: str) -> object:
        running.discard(crawl_id)
        return _

    def file_finished(_: object, current: FileJob) -> object:
        files.remove(current)
        status = job_status(current.job)
        outcome = {"succeeded": "done", "failed": "failed"}.get(status, "release")
        if current.lost:
            outcome = "lost"
        else:
            try:
                ended = dwarc.complete(client, current.claim, outcome)
            except Exception as exc:  # its lease runs out and another worker takes it
                logger.warning("could not report %s to Redis: %s", current.claim.location, exc)
            else:
                if ended:
                    logger.info("archive ingest %s: last file done", current.claim.ingest.ingest_id)
        logger.info("%s: %s (%s)", current.claim.location, status, outcome)
        return _

    def keep_leases() -> None:
        for current in files:
            if current.lost or time.monotonic() - current.renewed < dist.HEARTBEAT_SECONDS:
                continue
            try:
                kept = dwarc.renew(client, current.claim)
            except Exception as exc:
                logger.warning("could not renew the lease of %s: %s", current.claim.location, exc)
                continue
            current.renewed = time.monotonic()
            if not kept:
                current.lost = True
                logger.error(
                    "%s: the lease went to another worker; stopping this ingest of it",
                    current.claim.location,
                )
                if current.job.crawler is not None:
                    current.job.crawler.stop()

    def take_file() -> None:
        try:
            ingests = dwarc.warc_ingests(client)
        except Exception as exc:
            logger.warning("cannot read the archive ingest registry: %s", exc)
            return
        for ingest in ingests.values():
            try:
                claim = dwarc.claim_file(client, ingest, worker_id)
            except Exception as exc:
                logger.warning("cannot claim a file of ingest %s: %s", ingest.ingest_id, exc)
                continue
            if claim is None:
                continue
            if claim.reclaimed:  # its worker stopped renewing the lease: killed, or cut off
                logger.warning(
                    "taking over %s of archive ingest %s: its lease had run out",
                    claim.location, ingest.ingest_id,
                )  # fmt: skip
            else:
                logger.info("ingesting %s of archive ingest %s", claim.location, ingest.ingest_id)
            job = CrawlJob(
                ingest.source_key or "matched",
                settings={"NEWSINGEST_CRAWL_ID": ingest.ingest_id},
                args={"files": json.dumps([claim.location]), **ingest.spider_args()},
            )
            current = FileJob(claim, job)
            files.append(current)
            file_jobs.append((claim.location, job))
            crawler = make_crawler(process, settings, job, spider="warc")
            d = process.crawl(crawler, **job.args)
            d.addBoth(file_finished, current)
            return

    def poll() -> None:
        keep_leases()
        if not files and len(running) < parallel:
            take_file()
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
        if running or files:
            idle_since[0] = time.monotonic()
        elif time.monotonic() - idle_since[0] >= idle_timeout:
            loop.stop()
            reactor.stop()  # type: ignore[misc]

    loop = task.LoopingCall(poll)
    loop.start(1.0, now=False)
    process.start(stop_after_crawl=False)
    results = [(job.key, job_status(job)) for job in jobs]
    results += [(location, job_status(job)) for location, job in file_jobs]
    for key, status in results:
        click.echo(f"{key}: {status}")
    if not results:
        click.echo("no distributed crawl or archive file to work on")
    ok = all(status in ("succeeded", "skipped") for _, status in results)
    sys.exit(EXIT_OK if ok else EXIT_FAILED)

"""`newsingest crawl` and `newsingest demo`: run crawls in this process."""

from __future__ import annotations

import dataclasses
import logging
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from crawler import stats as stat
from crawler.cli.main import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    config_of,
    database_url,
    load_sources_or_exit,
    main,
)
from crawler.config import Config
from crawler.health import is_due
from crawler.sources import Source
from crawler.validation import RULES, check_override_names, check_settings

if TYPE_CHECKING:
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

logger = logging.getLogger(__name__)


def crawl_settings(
    cfg: Config,
    sources_path: Path,
    *,
    database_url: str,
    log_level: str,
    trigger: str = "cli",
    refresh: bool = False,
    max_articles: int = 0,
    progress: bool = False,
    extra_settings: dict[str, Any] | None = None,
) -> Settings:
    """The project's Scrapy settings with this invocation's values on top."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.setdict(
        {
            "NEWSINGEST_DATABASE_URL": database_url,
            "NEWSINGEST_DATA_DIR": str(cfg.data_dir),
            "NEWSINGEST_SOURCES": str(sources_path),
            "NEWSINGEST_TRIGGER": trigger,
            "NEWSINGEST_AUTO_MIGRATE": False,
            "NEWSINGEST_REFRESH": refresh,
            "NEWSINGEST_MAX_ARTICLES": max_articles,
            "NEWSINGEST_PROGRESS": progress,
            "LOG_LEVEL": log_level,
            "LOG_INSTALL_ROOT_HANDLER": False,  # our handler (text or JSON) is installed
            **(extra_settings or {}),
        },
        priority="cmdline",
    )
    check_settings(settings)
    return settings


@dataclass
class CrawlJob:
    """One crawler to run: a source, settings of its own on top, spider arguments."""

    key: str
    settings: dict[str, Any] = field(default_factory=dict)
    args: dict[str, Any] = field(default_factory=dict)
    crawler: Any = None
    status: str | None = None
    """How the crawl's run ended, as its ledger said (`crawler.extensions.ledger.run_closed`)."""

    def run_closed(self, status: str) -> None:
        self.status = status


def new_process(settings: Settings) -> CrawlerProcess:
    """A CrawlerProcess with the configured reactor installed (crawlers are made by us)."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.reactor import install_reactor

    from crawler.extractpool import tune_malloc

    tune_malloc()  # before the reactor's and the database's threads allocate
    process = CrawlerProcess(settings)
    install_reactor(settings["TWISTED_REACTOR"])
    logging.getLogger().setLevel(settings.get("LOG_LEVEL"))  # Scrapy resets the root level
    return process


def make_crawler(process: CrawlerProcess, base: Settings, job: CrawlJob) -> Any:
    """A Crawler of the ``news`` spider for ``job`` (its settings over ``base``)."""
    from scrapy.crawler import Crawler

    from crawler.extensions.ledger import run_closed

    settings = base.copy()
    settings.setdict(job.settings, priority="cmdline")
    job.crawler = Crawler(process.spider_loader.load("news"), settings)
    job.crawler.signals.connect(job.run_closed, signal=run_closed)
    return job.crawler


def job_status(job: CrawlJob) -> str:
    """The ledger status a finished job's crawl ended with (``failed`` when its ledger
    could not record the run)."""
    return job.status or "failed"


def failure_summary(stats: dict[str, Any]) -> str | None:
    """Why a failed crawl failed, in a few words, from its stats (None when they do not say):
    ``3 discovery URLs: dns_error`` or ``12 records spooled (database unavailable)``."""
    discovery = stat.reasons(stats, stat.DISCOVERY_FAILED_PREFIX)
    if discovery and not stats.get(stat.DISCOVERY_OK):
        count = sum(discovery.values())
        reasons = ", ".join(sorted(discovery, key=lambda r: (-discovery[r], r)))
        return f"{count} discovery URL{'' if count == 1 else 's'}: {reasons}"
    spooled = int(stats.get(stat.STORE_SPOOLED_ARTICLES) or 0)
    if spooled:
        return f"{spooled} record{'' if spooled == 1 else 's'} spooled (database unavailable)"
    reason = stats.get("finish_reason")
    if reason and reason != "finished":
        return f"spider closed: {reason}"
    return None


def job_outcome(job: CrawlJob) -> str:
    """The status of a finished job, with the reason when it failed."""
    status = job_status(job) if job.crawler is not None else "interrupted"
    if status == "failed" and job.crawler is not None:
        reason = failure_summary(job.crawler.stats.get_stats())
        if reason:
            return f"{status} — {reason}"
    return status


def run_crawls(settings: Settings, jobs: list[CrawlJob], *, parallel: int = 4) -> dict[str, str]:
    """Run ``jobs`` in this process, ``parallel`` at a time; returns key -> run status.

    Statuses: ``succeeded``, ``failed`` (followed by `` — reason`` when the stats say
    it, `failure_summary`), ``interrupted``, or ``skipped`` when another process was
    crawling that source. After a stop signal no further source starts;
    those not started are ``interrupted`` too (without a run row).
    """
    process = new_process(settings)
    pending = list(jobs)

    def stopped() -> bool:  # a signal stopped a crawl: start no other source
        return any(
            job.crawler is not None and job.crawler.stats.get_value("finish_reason") == "shutdown"
            for job in jobs
        )

    def launch(_: object = None) -> object:
        # At most `parallel` sources at once; each finished crawl starts the next one.
        if pending and not stopped():
            job = pending.pop(0)
            crawler = make_crawler(process, settings, job)
            process.crawl(crawler, source=job.key, **job.args).addBoth(launch)
        return _

    for _ in range(max(1, min(parallel, len(jobs)))):
        launch()
    process.start()
    return {job.key: job_outcome(job) for job in jobs}


def parse_overrides(pairs: tuple[str, ...]) -> dict[str, str]:
    """``-s NAME=VALUE`` pairs; a ``NEWSINGEST_*`` name the project lacks is refused."""
    import crawler.settings as project_settings

    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            click.echo(f"error: --set takes NAME=VALUE, got {pair!r}", err=True)
            sys.exit(EXIT_USAGE)
        out[name.strip()] = value
    known = {n for n in dir(project_settings) if n.isupper()} | set(RULES)
    check_override_names(out, known)
    return out


set_option = click.option(
    "-s",
    "--set",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a Scrapy or NEWSINGEST_* setting for this run (repeatable).",
)
"""The ``-s NAME=VALUE`` option of the commands that run Scrapy (`parse_overrides`)."""


@main.command()
@click.argument("keys", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Crawl every enabled source.")
@click.option(
    "--due",
    is_flag=True,
    help="Only sources whose last successful run started more than their interval ago "
    "(all enabled ones unless KEYS are given); for cron and timers.",
)
@click.option(
    "--parallel",
    default=4,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many sources to crawl at once.",
)
@click.option(
    "--distributed",
    is_flag=True,
    help="Run as a distributed crawl on scrapy-redis (needs --redis-url or "
    "NEWSINGEST_REDIS_URL): this process seeds it and works on it; `newsingest worker` "
    "processes on any machine join it.",
)
@click.option("--redis-url", help="Redis of distributed crawls [env NEWSINGEST_REDIS_URL].")
@click.option(
    "--idle-seconds",
    type=float,
    help="Distributed: how long a worker waits on an empty queue before leaving"
    " [default: the setting NEWSINGEST_WORKER_IDLE_SECONDS].",
)
@click.option("--sources", "sources_path", type=click.Path(path_type=Path), help="Sources file.")
@click.option("--refresh", is_flag=True, help="Fetch again articles already stored.")
@click.option(
    "--max-articles",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Per source; 0: no limit.",
)
@set_option
@click.pass_context
def crawl(
    ctx: click.Context,
    keys: tuple[str, ...],
    all_: bool,
    due: bool,
    parallel: int,
    distributed: bool,
    redis_url: str | None,
    idle_seconds: float | None,
    sources_path: Path | None,
    refresh: bool,
    max_articles: int,
    overrides: tuple[str, ...],
) -> None:
    """Crawl the sources named by KEYS (or --all, or --due) into the database.

    Prints one line per source with its run status. Exit code 0 when every crawled
    source succeeded (sources skipped because another process is crawling them do
    not count as failures), 1 when some failed, 2 on usage or configuration errors.
    """
    cfg = config_of(ctx)
    path = sources_path or cfg.sources_path
    sources = {s.key: s for s in load_sources_or_exit(path)}
    if all_ or (due and not keys):
        wanted = [k for k, s in sources.items() if s.enabled]
    else:
        wanted = list(dict.fromkeys(keys))
    if not wanted and not due:
        click.echo("error: name sources to crawl, or use --all or --due", err=True)
        sys.exit(EXIT_USAGE)
    unknown = [k for k in wanted if k not in sources]
    if unknown:
        click.echo(f"error: unknown source(s) in {path}: {', '.join(unknown)}", err=True)
        sys.exit(EXIT_USAGE)
    extra = parse_overrides(overrides)
    if "NEWSINGEST_DATABASE_URL" in extra:  # the same as the environment variable
        cfg = dataclasses.replace(cfg, database_url=extra.pop("NEWSINGEST_DATABASE_URL") or None)
        ctx.find_root().obj = cfg  # the error boundary names this database
    redis_url = redis_url or cfg.redis_url
    if distributed and not redis_url:
        click.echo("error: --distributed needs --redis-url or NEWSINGEST_REDIS_URL", err=True)
        sys.exit(EXIT_USAGE)
    settings = crawl_settings(
        cfg,
        path,
        database_url="",  # below, once the database is up
        log_level=ctx.meta["log_level"],
        trigger="schedule" if due else "cli",
        refresh=refresh,
        max_articles=max_articles,
        progress=sys.stderr.isatty(),
        extra_settings=extra,
    )
    if settings.getint("NEWSINGEST_EXTRACT_WORKERS") > 0:
        from crawler.extractpool import start_fork_server

        start_fork_server()  # its warm-up overlaps the database's start and the set-up
    url = database_url(cfg)
    settings.set("NEWSINGEST_DATABASE_URL", url, priority="cmdline")
    if due:
        wanted = _due_sources(url, [sources[k] for k in wanted])
        if not wanted:
            click.echo("no source is due")
            sys.exit(EXIT_OK)
    if distributed:
        jobs = distributed_jobs(cfg, redis_url, wanted, idle_seconds)
    else:
        jobs = [CrawlJob(key) for key in wanted]
    results = run_crawls(settings, jobs, parallel=parallel)
    for key, status in results.items():
        note = " (another process is crawling it)" if status == "skipped" else ""
        click.echo(f"{key}: {status}{note}")
    ok = all(s in ("succeeded", "skipped") for s in results.values())
    sys.exit(EXIT_OK if ok else EXIT_FAILED)


def distributed_jobs(
    cfg: Config, redis_url: str | None, keys: list[str], idle_seconds: float | None
) -> list[CrawlJob]:
    """Start (or join) a distributed crawl per source; this process seeds new ones."""
    from crawler import distributed as dist

    assert redis_url is not None
    client = dist.connect(redis_url)
    jobs = []
    for key in keys:
        crawl, new = dist.start_or_join(client, key)
        if not new:
            click.echo(f"{key}: joining the running distributed crawl {crawl.crawl_id}")
        jobs.append(
            CrawlJob(
                key,
                settings=dist.crawl_settings(redis_url, crawl.crawl_id, idle_seconds),
                args={"seed": "1" if new else "0"},
            )
        )
    return jobs


def _due_sources(url: str, candidates: list[Source]) -> list[str]:
    from storage import db, ledger

    engine = db.make_engine(url, pool_size=1)
    try:
        with db.make_session_factory(engine)() as session:
            last = ledger.last_success_starts(session)
    finally:
        engine.dispose()
    now = datetime.now(UTC)
    return [s.key for s in candidates if is_due(last.get(s.key), s.interval, now)]


def article_line(article: Any) -> str:
    """One stored article (`storage.models.Article`) as the demo lists it: language, title,
    authors, credits (organisations, in parentheses), the outlet's publication date at
    its precision (`storage.export.outlet_date`)."""
    from storage.export import outlet_date

    credited = ", ".join(article.authors) or "-"
    if article.credits:
        credited += f" ({', '.join(article.credits)})"
    if article.published_at is None:
        date = "no date"
    else:
        date = outlet_date(
            article.published_at, article.published_precision, article.published_utc_offset
        )
    return f"- [{article.language or '??'}] {article.title!r} | {credited} | {date}"


DEMO_SITE_URL = "http://newsingest-demo.localhost"
"""The demo site's address in its pages: the same in every demo (its server, on a free
loopback port, is the crawl's HTTP proxy), so a second demo finds the articles stored."""


@main.command()
@click.option("--limit", default=20, show_default=True, help="How many articles to print.")
@click.option(
    "--database-url",
    "demo_database_url",
    metavar="URL",
    help="Store into this database instead of the embedded one "
    "(NEWSINGEST_DATABASE_URL is ignored by the demo).",
)
@click.pass_context
def demo(ctx: click.Context, limit: int, demo_database_url: str | None) -> None:
    """Serve the bundled sample site on 127.0.0.1, crawl it into the embedded database
    (or --database-url) and show what was stored. Every page is fetched each time; a
    second demo stores nothing new."""
    from crawler.demo import DEMO_SITE
    from crawler.demo.server import SiteServer
    from storage import db, repository

    cfg = dataclasses.replace(config_of(ctx), database_url=demo_database_url or None)
    ctx.find_root().obj = cfg  # the error boundary names this database
    if config_of(ctx).database_url and not demo_database_url:
        click.echo(
            "note: the demo uses the embedded database, not NEWSINGEST_DATABASE_URL "
            "(--database-url URL to use another)",
            err=True,
        )
    url = database_url(cfg)
    site = SiteServer(DEMO_SITE, offsite_host=None, site_url=DEMO_SITE_URL)
    with site as server, tempfile.TemporaryDirectory() as tmp:
        sources_file = Path(tmp) / "sources.yaml"
        sources_file.write_text(
            "sources:\n"
            "  - key: demo\n"
            "    name: newsingest demo site\n"
            f"    url: {server.site_url}/\n"
            "    max_age_days: 30\n",
            encoding="utf-8",
        )
        click.echo(
            f"serving the demo site {server.site_url}/ at {server.base_url}/ and crawling it ..."
        )
        settings = crawl_settings(
            cfg,
            sources_file,
            database_url=url,
            log_level=ctx.meta["log_level"],
            refresh=True,
            extra_settings={"NEWSINGEST_PROXY": server.base_url},
        )
        job = CrawlJob("demo")
        results = run_crawls(settings, [job])
    stats = job.crawler.stats.get_stats() if job.crawler is not None else {}
    engine = db.make_engine(url, pool_size=1)
    with db.make_session_factory(engine)() as session:
        total = repository.article_count(session, "demo")
        rows = repository.latest_articles(session, source_key="demo", limit=limit)
        click.echo(
            f"run: {results['demo']}; {stat.RunSummary.of(stats).stored()};"
            f" {total} articles from the demo site in the database"
        )
        for article, _key in rows:
            click.echo(article_line(article))
            if article.translation_note:
                click.echo(
                    f"    translated from {article.translation_source_language or '?'}"
                    f" ({article.translation_original_outlet or 'outlet unknown'})"
                )
    engine.dispose()
    if demo_database_url:
        click.echo("see them in that database: select count(*) from articles")
    else:
        click.echo(
            'see them with: psql "$(NEWSINGEST_DATABASE_URL= newsingest db url)"'
            ' -c "select count(*) from articles"'
        )
    sys.exit(EXIT_OK if results["demo"] == "succeeded" else EXIT_FAILED)

"""`newsingest crawl` and `newsingest demo`: run crawls in this process."""

from __future__ import annotations

import dataclasses
import logging
import sys
import tempfile
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
from crawler.runner import CrawlJob, crawl_settings, run_crawls
from crawler.sources import Source
from crawler.validation import RULES, check_override_names

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)


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

    with db.session_scope(url) as session:
        last = ledger.last_success_starts(session)
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
    from storage import articles, db

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
    with db.session_scope(url) as session:
        total = articles.article_count(session, "demo")
        rows = articles.latest_articles(session, source_key="demo", limit=limit)
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
    if demo_database_url:
        click.echo("see them in that database: select count(*) from articles")
    else:
        click.echo(
            'see them with: psql "$(NEWSINGEST_DATABASE_URL= newsingest db url)"'
            ' -c "select count(*) from articles"'
        )
    sys.exit(EXIT_OK if results["demo"] == "succeeded" else EXIT_FAILED)

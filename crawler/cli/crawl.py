"""`newsingest crawl` and `newsingest demo`: run crawls in this process."""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

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

logger = logging.getLogger(__name__)


def run_crawls(
    cfg: Config,
    sources_path: Path,
    keys: list[str],
    *,
    database_url: str,
    log_level: str,
    trigger: str = "cli",
    refresh: bool = False,
    max_articles: int = 0,
    extra_settings: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Crawl ``keys`` in this process (one Scrapy crawler each); returns key -> run status."""
    from scrapy.crawler import CrawlerProcess
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
            "LOG_LEVEL": log_level,
            **(extra_settings or {}),
        },
        priority="cmdline",
    )
    process = CrawlerProcess(settings, install_root_handler=False)
    logging.getLogger().setLevel(log_level)  # Scrapy resets the root level; keep ours
    crawlers = {}
    for key in keys:
        crawler = process.create_crawler("news")
        crawlers[key] = crawler
        process.crawl(crawler, source=key)
    process.start()
    results: dict[str, str] = {}
    for key, crawler in crawlers.items():
        status = crawler.stats.get_value("newsingest/run_status") if crawler.stats else None
        results[key] = str(status or "failed")
    return results


def _parse_overrides(pairs: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            click.echo(f"error: --set takes NAME=VALUE, got {pair!r}", err=True)
            sys.exit(EXIT_USAGE)
        out[name.strip()] = value
    return out


@main.command()
@click.argument("keys", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Crawl every enabled source.")
@click.option("--sources", "sources_path", type=click.Path(path_type=Path), help="Sources file.")
@click.option("--refresh", is_flag=True, help="Fetch again articles already stored.")
@click.option("--max-articles", default=0, show_default=True, help="Per source; 0: no limit.")
@click.option(
    "-s",
    "--set",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a Scrapy or NEWSINGEST_* setting for this run (repeatable).",
)
@click.pass_context
def crawl(
    ctx: click.Context,
    keys: tuple[str, ...],
    all_: bool,
    sources_path: Path | None,
    refresh: bool,
    max_articles: int,
    overrides: tuple[str, ...],
) -> None:
    """Crawl the sources named by KEYS (or --all) into the database."""
    cfg = config_of(ctx)
    path = sources_path or cfg.sources_path
    sources = {s.key: s for s in load_sources_or_exit(path)}
    wanted = [k for k, s in sources.items() if s.enabled] if all_ else list(dict.fromkeys(keys))
    if not wanted:
        click.echo("error: name sources to crawl, or use --all", err=True)
        sys.exit(EXIT_USAGE)
    unknown = [k for k in wanted if k not in sources]
    if unknown:
        click.echo(f"error: unknown source(s) in {path}: {', '.join(unknown)}", err=True)
        sys.exit(EXIT_USAGE)
    extra = _parse_overrides(overrides)
    url = database_url(cfg)
    results = run_crawls(
        cfg,
        path,
        wanted,
        database_url=url,
        log_level=ctx.meta["log_level"],
        refresh=refresh,
        max_articles=max_articles,
        extra_settings=extra,
    )
    for key, status in results.items():
        click.echo(f"{key}: {status}")
    sys.exit(EXIT_OK if all(s == "succeeded" for s in results.values()) else EXIT_FAILED)


@main.command()
@click.option("--limit", default=20, show_default=True, help="How many articles to print.")
@click.pass_context
def demo(ctx: click.Context, limit: int) -> None:
    """Serve the bundled sample site on 127.0.0.1, crawl it and show what was stored."""
    from crawler.demo import DEMO_SITE
    from crawler.demo.server import SiteServer
    from storage import db, repository

    cfg = config_of(ctx)
    url = database_url(cfg)
    with SiteServer(DEMO_SITE) as server, tempfile.TemporaryDirectory() as tmp:
        sources_file = Path(tmp) / "sources.yaml"
        sources_file.write_text(
            "sources:\n"
            "  - key: demo\n"
            "    name: newsingest demo site\n"
            f"    url: {server.base_url}/\n"
            "    max_age_days: 30\n",
            encoding="utf-8",
        )
        click.echo(f"serving the demo site at {server.base_url}/ and crawling it ...")
        results = run_crawls(
            cfg, sources_file, ["demo"], database_url=url, log_level=ctx.meta["log_level"]
        )
    engine = db.make_engine(url, pool_size=1)
    with db.make_session_factory(engine)() as session:
        total = repository.article_count(session, "demo")
        rows = repository.latest_articles(session, source_key="demo", limit=limit)
        click.echo(f"run: {results['demo']}; {total} articles from the demo site in the database")
        for article, _key in rows:
            click.echo(
                f"- [{article.language or '??'}] {article.title!r}"
                f" | {', '.join(article.authors) or '-'}"
                f" | {article.published_at:%Y-%m-%d} ({article.published_precision})"
                if article.published_at
                else f"- [{article.language or '??'}] {article.title!r}"
                f" | {', '.join(article.authors) or '-'} | no date"
            )
            if article.translation_note:
                click.echo(
                    f"    translated from {article.translation_source_language or '?'}"
                    f" ({article.translation_original_outlet or 'outlet unknown'})"
                )
    engine.dispose()
    click.echo('see them with: psql "$(newsingest db url)" -c "select count(*) from articles"')
    sys.exit(EXIT_OK if results["demo"] == "succeeded" else EXIT_FAILED)

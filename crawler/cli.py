"""The ``newsingest`` command: crawl, demo, sources, runs and database chores.

Exit codes: 0 all requested sources succeeded; 1 some failed; 2 usage or configuration
error.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from crawler.config import Config
from crawler.sources import Source, SourcesError, load_sources

logger = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _config(ctx: click.Context) -> Config:
    cfg = ctx.find_object(Config)
    assert cfg is not None
    return cfg


def _database_url(cfg: Config, *, migrate: bool = True) -> str:
    from storage import db
    from storage import migrate as migrations

    url = db.resolve_url(cfg.database_url, cfg.data_dir)
    if migrate:
        migrations.upgrade(url)
    return url


def _load_sources(path: Path) -> list[Source]:
    try:
        return load_sources(path)
    except SourcesError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)


@click.group()
@click.option(
    "--log-level",
    default="WARNING",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    help="Log level of the crawl and of this command.",
)
@click.pass_context
def main(ctx: click.Context, log_level: str) -> None:
    """newsingest: crawl news sources into PostgreSQL."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    ctx.obj = Config.from_env()
    ctx.meta["log_level"] = log_level.upper()


# --- crawl ----------------------------------------------------------------------------
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
    cfg = _config(ctx)
    path = sources_path or cfg.sources_path
    sources = {s.key: s for s in _load_sources(path)}
    wanted = [k for k, s in sources.items() if s.enabled] if all_ else list(dict.fromkeys(keys))
    if not wanted:
        click.echo("error: name sources to crawl, or use --all", err=True)
        sys.exit(EXIT_USAGE)
    unknown = [k for k in wanted if k not in sources]
    if unknown:
        click.echo(f"error: unknown source(s) in {path}: {', '.join(unknown)}", err=True)
        sys.exit(EXIT_USAGE)
    extra = _parse_overrides(overrides)
    url = _database_url(cfg)
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

    cfg = _config(ctx)
    url = _database_url(cfg)
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


# --- sources --------------------------------------------------------------------------
@main.group()
def sources() -> None:
    """Inspect the sources file."""


@sources.command("list")
@click.option("--sources", "sources_path", type=click.Path(path_type=Path), help="Sources file.")
@click.pass_context
def sources_list(ctx: click.Context, sources_path: Path | None) -> None:
    """List the configured sources."""
    path = sources_path or _config(ctx).sources_path
    for s in _load_sources(path):
        flag = "" if s.enabled else " (disabled)"
        click.echo(f"{s.key:20} {s.language or '--':3} {s.country or '--':3} {s.url}{flag}")


@sources.command("check")
@click.option("--sources", "sources_path", type=click.Path(path_type=Path), help="Sources file.")
@click.pass_context
def sources_check(ctx: click.Context, sources_path: Path | None) -> None:
    """Validate the sources file; exit 2 with a message naming the source and key."""
    path = sources_path or _config(ctx).sources_path
    found = _load_sources(path)
    click.echo(f"{path}: {len(found)} sources, {sum(s.enabled for s in found)} enabled: OK")


# --- runs -----------------------------------------------------------------------------
@main.command()
@click.option("--source", "source_key", help="Only runs of this source.")
@click.option("--limit", default=20, show_default=True)
@click.pass_context
def runs(ctx: click.Context, source_key: str | None, limit: int) -> None:
    """List recent crawl runs."""
    from storage import db, repository

    url = _database_url(_config(ctx))
    engine = db.make_engine(url, pool_size=1)
    with db.make_session_factory(engine)() as session:
        for run, key in repository.recent_runs(session, source_key=source_key, limit=limit):
            stored = run.stats.get("newsingest/store/inserted", 0)
            failed = run.stats.get("newsingest/store/failures", 0)
            click.echo(
                f"{run.id:6} {key or '-':16} {run.status:11} {run.started_at:%Y-%m-%d %H:%M:%S}"
                f"  new={stored} failures={failed}  {run.error or ''}"
            )
    engine.dispose()


# --- db -------------------------------------------------------------------------------
@main.group("db")
def db_group() -> None:
    """Database chores: url, upgrade, stop."""


@db_group.command("url")
@click.pass_context
def db_url(ctx: click.Context) -> None:
    """Print a URL psql and downstream tools can use (starts the embedded server)."""
    from storage.db import libpq_url

    click.echo(libpq_url(_database_url(_config(ctx), migrate=False)))


@db_group.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply pending migrations."""
    _database_url(_config(ctx), migrate=True)
    click.echo("database is at the latest schema")


@db_group.command("stop")
@click.pass_context
def db_stop(ctx: click.Context) -> None:
    """Stop the embedded PostgreSQL server."""
    from storage import embedded

    cfg = _config(ctx)
    if cfg.database_url:
        click.echo("NEWSINGEST_DATABASE_URL is set: no embedded server to stop")
        return
    stopped = embedded.stop(cfg.data_dir)
    click.echo("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")


if __name__ == "__main__":  # pragma: no cover
    main()

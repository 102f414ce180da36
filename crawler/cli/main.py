"""The ``newsingest`` command group and what its subcommands share.

Each subcommand lives in a module of this package (``crawl``, ``sources``, ``runs``,
``db``, ...) that registers itself on `main` when imported; `COMMANDS` maps each command
to its module, imported only when that command is looked up (issue 24: ``status`` must not
import Scrapy). Exit codes: 0 all requested sources succeeded; 1 some failed; 2 usage or
configuration error (one line from the error boundary, `crawler.cli.errors`).
"""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path

import click

from crawler import logs
from crawler.cli.errors import EXIT_USAGE, BoundaryGroup
from crawler.config import Config
from crawler.sources import Source, SourcesError, load_sources

logger = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED = 0, 1
VERBOSITY = ("WARNING", "INFO", "DEBUG")
"""Log level by the number of ``-v`` given (none: warnings and errors only)."""
COMMANDS = {
    "crawl": "crawler.cli.crawl",
    "demo": "crawler.cli.crawl",
    "sources": "crawler.cli.sources",
    "runs": "crawler.cli.runs",
    "status": "crawler.cli.runs",
    "health": "crawler.cli.health",
    "metrics": "crawler.cli.metrics",
    "db": "crawler.cli.db",
    "worker": "crawler.cli.worker",
    "export": "crawler.cli.export",
    "search": "crawler.cli.search",
    "reextract": "crawler.cli.reextract",
    "spool": "crawler.cli.spool",
    "warc": "crawler.cli.warc",
}
"""The module that defines each subcommand, imported when the command is looked up."""
__all__ = [
    "COMMANDS",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "config_of",
    "database_url",
    "main",
    "read_database_url",
]


def config_of(ctx: click.Context) -> Config:
    cfg = ctx.find_object(Config)
    assert cfg is not None
    return cfg


def database_url(cfg: Config, *, migrate: bool = True, check: bool = False) -> str:
    """The database URL (the embedded server started when none is configured).

    ``migrate``: apply pending migrations (commands that write: crawl, worker,
    db upgrade...). ``check``: read commands instead only check the schema is current
    (`storage.migrate.SchemaNotCurrent` otherwise), so a read-only role can run them.
    """
    from storage import db
    from storage import migrate as migrations

    url = db.resolve_url(cfg.database_url, cfg.data_dir)
    if check:
        migrations.check_current(url)
    elif migrate:
        migrations.upgrade(url)
    return url


def read_database_url(cfg: Config) -> str:
    """The database URL for a read command: checked, never migrated."""
    return database_url(cfg, migrate=False, check=True)


def load_sources_or_exit(path: Path) -> list[Source]:
    try:
        return load_sources(path)
    except SourcesError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)


class LazyGroup(BoundaryGroup):
    """The top-level group: a subcommand's module is imported when it is looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            importlib.import_module(COMMANDS[cmd_name])
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup)
@click.version_option(package_name="newsingest", prog_name="newsingest")
@click.option(
    "--log-level",
    default=None,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    help="Log level of the crawl and of this command [default: WARNING; -v INFO, -vv DEBUG].",
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log more: -v adds INFO (what the crawl does), -vv DEBUG; --log-level wins.",
)
@click.option(
    "--log-format",
    default="text",
    show_default=True,
    type=click.Choice(["text", "json"]),
    help="Human-readable log lines, or one JSON object per line.",
)
@click.option(
    "--debug",
    is_flag=True,
    envvar="NEWSINGEST_DEBUG",
    help="Show the traceback of a configuration error (also NEWSINGEST_DEBUG=1).",
)
@click.pass_context
def main(
    ctx: click.Context, log_level: str | None, verbose: int, log_format: str, debug: bool
) -> None:
    """newsingest: crawl news sources into PostgreSQL.

    Configuration comes from the environment (NEWSINGEST_DATABASE_URL,
    NEWSINGEST_DATA_DIR, NEWSINGEST_SOURCES, NEWSINGEST_CONTACT); see README.
    Quiet by default: warnings, errors and each command's own lines (a crawl's one
    line per source); -v adds INFO logs. Exit codes: 0 all requested sources
    succeeded, 1 some failed, 2 usage or configuration error (one line; --debug adds
    the traceback).
    """
    level = (log_level or VERBOSITY[min(verbose, len(VERBOSITY) - 1)]).upper()
    logs.configure(level, log_format)
    ctx.obj = Config.from_env()
    ctx.meta["log_level"] = level

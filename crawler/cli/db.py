"""`newsingest db url|upgrade|stop|shell|grant-readonly|prune|move-pages`: database chores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from crawler.cli.main import (
    config_of,
    database_url,
    main,
)


@main.group("db")
def db_group() -> None:
    """Database chores: url, upgrade, stop, shell, grant-readonly, prune."""


@db_group.command("url")
@click.pass_context
def db_url(ctx: click.Context) -> None:
    """Print a URL psql and downstream tools can use (starts the embedded server)."""
    from storage.db import libpq_url

    click.echo(libpq_url(database_url(config_of(ctx), migrate=False)))


@db_group.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply pending migrations."""
    database_url(config_of(ctx), migrate=True)
    click.echo("database is at the latest schema")


@db_group.command("stop")
@click.pass_context
def db_stop(ctx: click.Context) -> None:
    """Stop the embedded PostgreSQL server."""
    from storage import embedded

    cfg = config_of(ctx)
    if cfg.database_url:
        click.echo("NEWSINGEST_DATABASE_URL is set: no embedded server to stop")
        return
    stopped = embedded.stop(cfg.data_dir)
    click.echo("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")


@db_group.command("shell")
@click.pass_context
def db_shell(ctx: click.Context) -> None:
    """Open psql on the database (the system's psql, else the embedded server's)."""
    import os
    import shutil

    from storage.db import libpq_url, without_password
    from storage.embedded import bundled_psql

    url, password = without_password(libpq_url(database_url(config_of(ctx), migrate=False)))
    psql = shutil.which("psql") or bundled_psql()
    if psql is None:
        raise click.ClickException("no psql found")
    env = dict(os.environ)
    if password is not None:  # in psql's environment, never in its argv (ps shows argv)
        env["PGPASSWORD"] = password
    os.execve(psql, [psql, url], env)


@db_group.command("grant-readonly")
@click.argument("role")
@click.option(
    "--password",
    help="Set this login password (sent SCRAM-hashed); without it an existing one stays.",
)
@click.pass_context
def db_grant_readonly(ctx: click.Context, role: str, password: str | None) -> None:
    """Create or update ROLE as a read-only login for downstream tools.

    CONNECT on the database, USAGE on the schema, SELECT on every table and view
    (article_feed among them) and on those later migrations create.
    """
    from storage import db, queries

    try:
        with db.session_scope(database_url(config_of(ctx)), in_transaction=True) as session:
            created = queries.grant_readonly(session, role, password)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"read-only role {role} {'created' if created else 'updated'}")


DEFAULT_RUNS_KEPT = "90d"
"""`db prune` keeps crawl runs started within this long by default."""
DEFAULT_FAILURES_KEPT = "30d"
"""`db prune` keeps fetch failures that occurred within this long by default."""


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    from crawler.sources import parse_interval

    try:
        return parse_interval(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@db_group.command("prune")
@click.option(
    "--runs-older-than",
    "runs_age",
    default=DEFAULT_RUNS_KEPT,
    show_default=True,
    callback=_duration,
    help="Delete finished crawl runs started longer ago than this (30d, 12w...).",
)
@click.option(
    "--failures-older-than",
    "failures_age",
    default=DEFAULT_FAILURES_KEPT,
    show_default=True,
    callback=_duration,
    help="Delete fetch failures older than this.",
)
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; change nothing.")
@click.pass_context
def db_prune(
    ctx: click.Context, runs_age: timedelta, failures_age: timedelta, dry_run: bool
) -> None:
    """Delete old crawl runs and fetch failures, keeping per-source daily aggregates.

    Before deleting, runs and failures are added up per source and UTC day into
    source_daily_stats (runs, successes, failures, pages, new and updated articles),
    so a source's health history survives. Running runs are never deleted.
    """
    from storage import db, ledger

    now = datetime.now(UTC)
    with db.session_scope(database_url(config_of(ctx)), in_transaction=True) as session:
        done = ledger.prune(
            session,
            runs_before=now - runs_age,
            failures_before=now - failures_age,
            dry_run=dry_run,
        )
    verb = "would delete" if dry_run else "deleted"
    click.echo(
        f"{verb} {done.runs} crawl runs started before {now - runs_age:%Y-%m-%d %H:%M} UTC"
        f" and {done.failures} fetch failures before {now - failures_age:%Y-%m-%d %H:%M} UTC"
        + ("" if dry_run else "; daily aggregates in source_daily_stats")
    )


@db_group.command("move-pages")
@click.option("--batch-size", default=200, show_default=True, type=click.IntRange(min=1))
@click.pass_context
def db_move_pages(ctx: click.Context, batch_size: int) -> None:
    """Move the raw pages kept in the database into WARC files under NEWSINGEST_PAGE_WARC_DIR.

    For switching an install to NEWSINGEST_PAGE_STORE=warc: each batch's records are
    written to this process's files, then its rows point at them (one transaction a
    batch; safe to stop and run again, and beside a running crawl). A dump of the
    database is smaller at once; the table's files shrink after VACUUM FULL pages.
    """
    from importlib.metadata import version

    from crawler.settings import NEWSINGEST_PAGE_WARC_MAX_BYTES
    from storage import db, pagestore
    from storage.pages import move_pages_to_files

    cfg = config_of(ctx)
    writer = pagestore.WarcPageWriter(
        cfg.pages_dir,
        NEWSINGEST_PAGE_WARC_MAX_BYTES,
        software=f"newsingest/{version('newsingest')}",
    )
    moved = 0
    with db.sessions_for(database_url(cfg)) as sessions:
        try:
            while True:
                with db.transaction(sessions) as session:
                    done = move_pages_to_files(session, writer, limit=batch_size)
                if not done:
                    break
                moved += done
        finally:
            writer.close()
    files = f" in {len(writer.files)} files" if writer.files else ""
    click.echo(f"moved {moved} pages{files} to {cfg.pages_dir}")

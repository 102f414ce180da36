"""`newsingest spool status` and `newsingest spool replay`: the local spool of unstored records.

Exit codes: ``status`` 0 when the spool is empty, 1 when entries wait or files are damaged;
``replay`` 0 when everything was written (and nothing is damaged), 1 otherwise (the
database still unreachable, files busy or damaged).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from crawler.cli.main import EXIT_FAILED, EXIT_OK, config_of, database_url, main

if TYPE_CHECKING:
    from crawler.config import Config
    from storage.pagestore import WarcPageWriter


@main.group(name="spool")
def spool_group() -> None:
    """Records the database could not take, kept under DATA_DIR/spool until it can."""


@spool_group.command(name="status")
@click.pass_context
def spool_status(ctx: click.Context) -> None:
    """List pending spool files, their entries and any damaged (torn) lines."""
    from crawler import spool

    cfg = config_of(ctx)
    found = spool.status(cfg.data_dir)
    click.echo(f"spool: {spool.spool_dir(cfg.data_dir)}")
    for f in found.files:
        c = f.counts()
        line = (
            f"  {f.path.name}: {c['article']} articles, {c['failure']} failures,"
            f" {c['run_finish']} run outcomes"
        )
        if f.torn_tail:
            line += "; TORN last line (incomplete write)"
        if f.bad_lines:
            line += f"; {len(f.bad_lines)} unreadable line(s): " + "; ".join(
                f"line {n}: {why}" for n, why in f.bad_lines[:3]
            )
        click.echo(line)
    for path in found.damaged_files:
        click.echo(f"  damaged (set aside): {path}")
    click.echo(
        f"pending: {len(found.files)} files, {found.total('article')} articles,"
        f" {found.total('failure')} failures, {found.total('run_finish')} run outcomes;"
        f" damaged: {sum(1 for f in found.files if f.damaged) + len(found.damaged_files)} files"
    )
    sys.exit(EXIT_OK if found.empty else EXIT_FAILED)


@spool_group.command(name="replay")
@click.pass_context
def spool_replay(ctx: click.Context) -> None:
    """Write the pending spool to the database (idempotent: nothing is stored twice)."""
    from crawler import spool
    from storage import db

    cfg = config_of(ctx)
    if not spool.pending(cfg.data_dir):
        click.echo("spool: nothing to replay")
        sys.exit(EXIT_OK if not spool.damaged(cfg.data_dir) else EXIT_FAILED)
    try:
        url = database_url(cfg)
        with db.sessions_for(url) as sessions:
            report = spool.replay(cfg.data_dir, sessions, _page_writer(cfg))
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        click.echo(f"error: database unreachable, the spool stays pending: {first}", err=True)
        sys.exit(EXIT_FAILED)
    click.echo(
        f"replayed {report.files} files: {report.articles} articles, {report.failures} failures,"
        f" {report.runs_finished} run outcomes; {report.rejected} entries refused"
        f" (recorded as store failures)"
    )
    for path in report.damaged:
        click.echo(f"damaged lines skipped; file set aside: {path}", err=True)
    if report.busy:
        click.echo(f"{report.busy} files are being replayed by another process", err=True)
    left = spool.pending(cfg.data_dir)
    ok = not left and not report.damaged and not report.busy
    sys.exit(EXIT_OK if ok else EXIT_FAILED)


def _page_writer(cfg: Config) -> WarcPageWriter | None:
    """Where replayed raw pages go with ``NEWSINGEST_PAGE_STORE=warc`` (as in a crawl)."""
    if cfg.page_store != "warc":
        return None
    from crawler.settings import NEWSINGEST_PAGE_WARC_MAX_BYTES
    from storage import pagestore

    return pagestore.page_writer(cfg.pages_dir, NEWSINGEST_PAGE_WARC_MAX_BYTES)

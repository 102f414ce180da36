"""`newsingest export`: stream stored articles out as JSON lines, CSV, plain text or WARC.

``--format warc`` reads pages kept in WARC files (``NEWSINGEST_PAGE_STORE=warc``) from
``NEWSINGEST_PAGE_WARC_DIR``: a page whose file is missing or damaged is left out with a
line naming the file, and the export exits 1; a missing folder is a one-line error.

Also the filter options `export` and `search` share (``--source``, ``--language``,
``--since``, ``--until``, ``--credit``, ``--no-stubs``).
"""

from __future__ import annotations

import difflib
import io
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from crawler.cli.errors import UserError
from crawler.cli.main import EXIT_FAILED, EXIT_USAGE, config_of, main, read_database_url

F = Callable[..., Any]


def filter_options(func: F) -> F:
    """The ``--source/--language/--since/--until/--credit/--no-stubs`` options."""
    date = click.DateTime(["%Y-%m-%d"])
    for option in reversed(
        [
            click.option("--source", "source_key", metavar="KEY", help="Only this source."),
            click.option("--language", metavar="CODE", help="Only articles in this language."),
            click.option(
                "--since",
                type=date,
                metavar="YYYY-MM-DD",
                help="Published on or after this day (UTC).",
            ),
            click.option(
                "--until",
                type=date,
                metavar="YYYY-MM-DD",
                help="Published on or before this day (UTC).",
            ),
            click.option(
                "--credit",
                metavar="NAME",
                help="Only articles crediting this organisation (e.g. dpa; any case).",
            ),
            click.option(
                "--no-stubs",
                "full_only",
                is_flag=True,
                help="Only full articles: leave out stubs (a paywalled article's lead, "
                "the text beside a video).",
            ),
        ]
    ):
        func = option(func)
    return func


def article_filter(
    source_key: str | None,
    language: str | None,
    since: datetime | None,
    until: datetime | None,
    credit: str | None = None,
    full_only: bool = False,
) -> Any:
    """A `storage.queries.ArticleFilter`; ``until`` includes its whole day."""
    from storage.queries import ArticleFilter

    return ArticleFilter(
        source_key=source_key,
        language=language.lower() if language else None,
        since=since.replace(tzinfo=UTC) if since else None,
        until=(until.replace(tzinfo=UTC) + timedelta(days=1)) if until else None,
        credit=credit,
        full_only=full_only,
    )


def check_source_known(session: Any, source_key: str | None) -> None:
    """Raise UserError when ``--source`` names a source the database does not know."""
    if source_key is None:
        return
    from storage.queries import source_keys

    known = source_keys(session)
    if source_key in known:
        return
    close = difflib.get_close_matches(source_key, known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known) or 'none'}"
    raise UserError(f"--source {source_key!r}: no such source in the database ({hint})")


def check_output(output: Path, fmt: str) -> None:
    """Raise UserError unless ``-o output`` can be written: its folder (for text: the
    nearest existing one) exists and is writable."""
    folder = output if fmt == "text" else output.parent
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if fmt != "text" and existing != folder:
        raise UserError(f"-o {output}: folder {folder} does not exist")
    if not existing.is_dir():
        raise UserError(f"-o {output}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"-o {output}: folder {existing} is not writable")


@main.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "text", "warc"]),
    default="jsonl",
    show_default=True,
    help="jsonl: one JSON object per article; csv: one row each; text: the plain-text "
    "layout; warc: each article's stored page as a WARC response record (and its request "
    "record), gzip per record.",
)
@filter_options
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="File to write (jsonl, csv) or directory of <id>.txt files (text); default stdout.",
)
@click.option(
    "--raw",
    is_flag=True,
    help="csv: write cells as stored (default: a cell starting with = + - @ gets a "
    "leading ' so spreadsheets do not run it as a formula).",
)
@click.pass_context
def export(
    ctx: click.Context,
    fmt: str,
    source_key: str | None,
    language: str | None,
    since: datetime | None,
    until: datetime | None,
    credit: str | None,
    full_only: bool,
    output: Path | None,
    raw: bool,
) -> None:
    """Export stored articles (the article_feed view), oldest id first, streamed."""
    from storage import db
    from storage import export as exports

    filters = article_filter(source_key, language, since, until, credit, full_only)
    if output is not None and fmt != "text" and output.is_dir():
        click.echo(f"error: {output} is a directory; -o takes a file for {fmt}", err=True)
        sys.exit(EXIT_USAGE)
    if output is not None and fmt == "text" and output.exists() and not output.is_dir():
        click.echo(f"error: {output} is a file; -o takes a directory for text", err=True)
        sys.exit(EXIT_USAGE)
    if output is not None:
        check_output(output, fmt)
    cfg = config_of(ctx)
    unreadable = 0
    # A read-only transaction: the server-side cursor lives inside it.
    with db.session_scope(read_database_url(cfg), in_transaction=True) as session:
        check_source_known(session, source_key)
        if fmt == "warc":
            count, unreadable = _export_warc(session, filters, output, cfg.pages_dir)
        else:
            rows = exports.iter_feed(session, filters)
            if output is None:
                out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
                try:
                    count = exports.write_stream(fmt, rows, out, raw=raw)
                finally:
                    out.flush()
                    out.detach()
            elif fmt == "text":
                count = exports.write_text_files(rows, output)
            else:
                with exports.replacing(output) as target:
                    count = exports.write_stream(fmt, rows, target, raw=raw)
    if fmt == "warc":
        if output is not None:
            click.echo(f"exported {count} pages to {output}", err=True)
        if unreadable:
            click.echo(f"{unreadable} pages could not be read: left out", err=True)
            sys.exit(EXIT_FAILED)
        return
    if output is not None:
        click.echo(f"exported {count} articles to {output}", err=True)


def _export_warc(
    session: Any, filters: Any, output: Path | None, page_dir: Path
) -> tuple[int, int]:
    """Write the stored pages of the articles ``filters`` selects as a WARC (to ``output``
    or stdout), those in WARC page files read from ``page_dir``; how many pages, and how
    many could not be read (each named on stderr)."""
    from importlib.metadata import version

    from storage import export as exports
    from storage.pagestore import PageToWrite, PageUnreadable, write_warc
    from storage.warc import any_page_in_files, iter_pages

    if not page_dir.is_dir() and any_page_in_files(session):
        raise UserError(
            f"NEWSINGEST_PAGE_WARC_DIR {page_dir} is not a folder; stored pages are kept in "
            "WARC files there"
        )
    unreadable = 0

    def skipped(article_id: int, url: str, error: PageUnreadable) -> None:
        nonlocal unreadable
        unreadable += 1
        click.echo(f"unreadable: article {article_id} {url}: {error}", err=True)

    pages = (
        PageToWrite(
            url=p.final_url, status=p.status, content_type=p.content_type,
            fetched_at=p.fetched_at, body=p.html, headers=p.headers,
        )
        for p in iter_pages(session, filters, page_dir=page_dir, on_unreadable=skipped)
    )  # fmt: skip
    software = f"newsingest/{version('newsingest')}"
    if output is None:
        count = write_warc(sys.stdout.buffer, pages, software=software)
        sys.stdout.buffer.flush()
        return count, unreadable
    with exports.replacing_binary(output) as target:
        count = write_warc(target, pages, software=software)
    return count, unreadable

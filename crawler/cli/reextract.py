"""`newsingest reextract`: run the current extractor again over stored pages.

Pages come from ``pages`` (the raw HTML of each article's stored fetch) in batches by
article id; extraction runs in the crawl's extraction pool (`crawler.extractpool`: warm
forked workers, a timeout per page, a worker that hangs or dies replaced, the page
reported as rejected) with the page's stored ``Content-Type``, whose charset goes to the
decoder before the page's ``<meta charset>`` as in the crawl (without it a page whose
charset only the header names came out as mojibake and was stored as a new version);
each batch is written in one transaction by `storage.articles.apply_reextraction`,
so only changed content makes a new version. A page that now yields a rejection is
reported and left as it is.

A page kept in a WARC file (``NEWSINGEST_PAGE_STORE=warc``, `storage.pagestore`) is read
from ``NEWSINGEST_PAGE_WARC_DIR``; one whose file is missing or damaged is reported with
the file's name, counted as unreadable, and the others go on (exit status 1). A missing
folder while the selection has such pages is a one-line error (exit 2) before anything
is read.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from crawler.cli.errors import UserError
from crawler.cli.main import EXIT_FAILED, config_of, database_url, main
from crawler.settings import NEWSINGEST_EXTRACT_TIMEOUT
from crawler.sources import Source, SourcesError, load_sources, page_hints

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from crawler.extraction.record import ArticleRecord, Rejection
    from crawler.extractpool import ExtractionPool
    from storage.articles import ReextractResult
    from storage.pages import StoredFetch
    from storage.pagestore import PageUnreadable

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = NEWSINGEST_EXTRACT_TIMEOUT
"""As in the crawl."""


@dataclass(slots=True)
class Tally:
    """What a re-extraction did so far."""

    seen: int = 0
    changed: int = 0
    unchanged: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    unreadable: int = 0
    """Pages whose WARC record could not be read."""

    def line(self) -> str:
        rejected = sum(self.rejected.values())
        line = (
            f"{self.seen} pages: {self.changed} changed (new version), "
            f"{self.unchanged} unchanged content, {rejected} rejected (kept)"
        )
        if self.unreadable:
            line += f", {self.unreadable} unreadable (kept)"
        return line


def _sources_by_key(path: str) -> dict[str, Source]:
    try:
        sources = load_sources(path)
    except SourcesError as exc:
        logger.warning("no per-source extraction hints: %s", exc)
        return {}
    return {s.key: s for s in sources}


@main.command()
@click.option("--source", "source_key", metavar="KEY", help="Only articles of this source.")
@click.option(
    "--stale",
    is_flag=True,
    help="Only articles whose extractor_version is not the current extractor's.",
)
@click.option("--batch-size", default=200, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--workers",
    default=os.cpu_count() or 1,
    show_default="CPU count",
    type=click.IntRange(min=1),
    help="Extraction processes.",
)
@click.option(
    "--timeout",
    default=DEFAULT_TIMEOUT,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds one page may take to extract; then it is reported as rejected and kept.",
)
@click.pass_context
def reextract(
    ctx: click.Context,
    source_key: str | None,
    stale: bool,
    batch_size: int,
    workers: int,
    timeout: float,
) -> None:
    """Re-extract stored pages with the current extractor; new versions where content changed."""
    from crawler.extraction import EXTRACTOR_VERSION
    from crawler.extractpool import ExtractionPool
    from storage import db, pages, writes

    cfg = config_of(ctx)
    sources = _sources_by_key(str(cfg.sources_path))
    stale_for = EXTRACTOR_VERSION if stale else None
    tally = Tally()
    with db.sessions_for(database_url(cfg)) as sessions:
        with sessions() as session:
            total, without_page, in_files = pages.count_reextractable(
                session, source_key=source_key, stale_for=stale_for
            )
        if in_files and not cfg.pages_dir.is_dir():
            raise UserError(
                f"NEWSINGEST_PAGE_WARC_DIR {cfg.pages_dir} is not a folder; {in_files} of the "
                "selected pages are kept in WARC files there"
            )
        if without_page:
            click.echo(f"{without_page} selected articles have no stored page: skipped", err=True)
        run = _Run(
            sessions, sources, source_key, stale_for, batch_size, timeout, total, tally,
            sys.stderr.isatty(), cfg.pages_dir,
        )  # fmt: skip
        with ExtractionPool(workers) as pool:
            asyncio.run(run.all(pool))
        if tally.changed:  # changed texts wait in their search index segments' pending lists
            writes.merge_search_index_if_owner(sessions)
        if run.interactive and tally.seen:
            click.echo("", err=True)
    click.echo(f"re-extracted {tally.line()}")
    for reason, count in sorted(tally.rejected.items()):
        click.echo(f"  rejected {reason}: {count}")
    if tally.unreadable:
        sys.exit(EXIT_FAILED)


@dataclass
class _Run:
    """One re-extraction: stored pages in batches through the extraction pool."""

    sessions: sessionmaker[Session]
    sources: dict[str, Source]
    source_key: str | None
    stale_for: str | None
    batch_size: int
    timeout: float
    total: int
    tally: Tally
    interactive: bool
    page_dir: Path
    """``NEWSINGEST_PAGE_WARC_DIR``: where pages kept in WARC files are read."""

    async def all(self, pool: ExtractionPool) -> None:
        from crawler.extraction.record import Rejection as RejectionType
        from storage.pagestore import PageUnreadable

        after_id = 0
        while True:
            batch = await asyncio.to_thread(self._read, after_id)
            if not batch:
                return
            after_id = batch[-1].article_id
            results = await asyncio.gather(*(self._extract(pool, fetch) for fetch in batch))
            records: list[tuple[int, ArticleRecord]] = []
            for fetch, result in zip(batch, results, strict=True):
                if isinstance(result, PageUnreadable):
                    self._unreadable(fetch, result)
                elif isinstance(result, RejectionType):
                    self._rejected(fetch, result)
                else:
                    records.append((fetch.article_id, replace(result, fetched_at=fetch.fetched_at)))
            applied = await asyncio.to_thread(self._write, records)
            self.tally.seen += len(batch)
            self.tally.changed += applied.changed
            self.tally.unchanged += applied.unchanged
            if self.interactive:
                click.echo(
                    f"\rreextract: {self.tally.seen}/{self.total}  {self.tally.line()}",
                    nl=False,
                    err=True,
                )

    def _read(self, after_id: int) -> list[StoredFetch]:
        from storage import pages

        with self.sessions() as session:
            return pages.stored_fetches(
                session,
                source_key=self.source_key,
                stale_for=self.stale_for,
                after_id=after_id,
                limit=self.batch_size,
            )

    async def _extract(
        self, pool: ExtractionPool, fetch: StoredFetch
    ) -> ArticleRecord | Rejection | PageUnreadable:
        from crawler.extraction.record import Rejection
        from crawler.extractpool import ExtractionFailed
        from storage.pages import page_body
        from storage.pagestore import PageUnreadable

        hints = page_hints(
            self.sources.get(fetch.source_key or ""),
            title=fetch.title,
            published_at=fetch.published_at,
        )
        try:
            body = await asyncio.to_thread(
                page_body,
                fetch.html_zlib,
                fetch.warc_file,
                fetch.warc_offset,
                fetch.warc_length,
                fetch.body_sha256,
                self.page_dir,
            )
        except PageUnreadable as exc:
            return exc
        try:
            result, _millis = await pool.extract(
                body, fetch.final_url, hints, fetch.content_type, timeout=self.timeout
            )
        except ExtractionFailed as exc:  # timed out, or crashed its worker twice
            return Rejection(fetch.final_url, "parse_error", exc.detail)
        return result

    def _rejected(self, fetch: StoredFetch, rejection: Rejection) -> None:
        rejected = self.tally.rejected
        rejected[rejection.reason] = rejected.get(rejection.reason, 0) + 1
        if self.interactive:
            click.echo("", err=True)
        click.echo(
            f"rejected: article {fetch.article_id} {fetch.final_url}: "
            f"{rejection.reason} {rejection.detail}".rstrip(),
            err=True,
        )

    def _unreadable(self, fetch: StoredFetch, error: PageUnreadable) -> None:
        self.tally.unreadable += 1
        if self.interactive:
            click.echo("", err=True)
        click.echo(f"unreadable: article {fetch.article_id} {fetch.final_url}: {error}", err=True)

    def _write(self, records: list[tuple[int, ArticleRecord]]) -> ReextractResult:
        from storage import articles, db

        with db.transaction(self.sessions) as session:
            return articles.apply_reextraction(session, records)

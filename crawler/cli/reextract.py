"""`newsingest reextract`: run the current extractor again over stored pages.

Pages come from ``pages`` (the raw HTML of each article's stored fetch) in batches by
article id; extraction runs in a process pool (forkserver, workers import only the
pure extraction package through `crawler.workers`) with the page's stored
``Content-Type``, whose charset goes to the decoder before the page's ``<meta
charset>`` as in the crawl (without it a page whose charset only the header names came
out as mojibake and was stored as a new version); each batch is written in one
transaction by `storage.repository.apply_reextraction`, so only changed content makes
a new version. A page that now yields a rejection is reported and left as it is.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import zlib
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import click

from crawler.cli.main import config_of, database_url, main
from crawler.sources import Source, SourcesError, load_sources, page_hints

if TYPE_CHECKING:
    from crawler.extraction.record import ArticleRecord

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Tally:
    """What a re-extraction did so far."""

    seen: int = 0
    changed: int = 0
    unchanged: int = 0
    rejected: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        rejected = sum(self.rejected.values())
        return (
            f"{self.seen} pages: {self.changed} changed (new version), "
            f"{self.unchanged} unchanged content, {rejected} rejected (kept)"
        )


def _sources_by_key(path: str) -> dict[str, Source]:
    try:
        sources = load_sources(path)
    except SourcesError as exc:
        logger.warning("no per-source extraction hints: %s", exc)
        return {}
    return {s.key: s for s in sources}


def _pool(workers: int) -> Executor:
    from crawler.workers import warm_up

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["crawler.workers"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=warm_up)


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
@click.pass_context
def reextract(
    ctx: click.Context, source_key: str | None, stale: bool, batch_size: int, workers: int
) -> None:
    """Re-extract stored pages with the current extractor; new versions where content changed."""
    from crawler.extraction import EXTRACTOR_VERSION
    from crawler.extraction.record import Rejection
    from crawler.workers import extract_timed
    from storage import db, queries, repository

    cfg = config_of(ctx)
    sources = _sources_by_key(str(cfg.sources_path))
    stale_for = EXTRACTOR_VERSION if stale else None
    engine = db.make_engine(database_url(cfg), pool_size=1)
    sessions = db.make_session_factory(engine)
    interactive = sys.stderr.isatty()
    tally = Tally()
    try:
        with sessions() as session:
            total, without_page = queries.count_reextractable(
                session, source_key=source_key, stale_for=stale_for
            )
        if without_page:
            click.echo(f"{without_page} selected articles have no stored page: skipped", err=True)
        with _pool(workers) as pool:
            after_id = 0
            while True:
                with sessions() as session:
                    batch = queries.stored_fetches(
                        session,
                        source_key=source_key,
                        stale_for=stale_for,
                        after_id=after_id,
                        limit=batch_size,
                    )
                if not batch:
                    break
                after_id = batch[-1].article_id
                hints = [
                    page_hints(
                        sources.get(f.source_key or ""), title=f.title, published_at=f.published_at
                    )
                    for f in batch
                ]
                results = pool.map(
                    extract_timed,
                    [zlib.decompress(f.html_zlib) for f in batch],
                    [f.final_url for f in batch],
                    hints,
                    [f.content_type for f in batch],
                    chunksize=max(1, len(batch) // (workers * 4)),
                )
                records: list[tuple[int, ArticleRecord]] = []
                for fetch, (result, _millis) in zip(batch, results, strict=True):
                    if isinstance(result, Rejection):
                        tally.rejected[result.reason] = tally.rejected.get(result.reason, 0) + 1
                        if interactive:
                            click.echo("", err=True)
                        click.echo(
                            f"rejected: article {fetch.article_id} {fetch.final_url}: "
                            f"{result.reason} {result.detail}".rstrip(),
                            err=True,
                        )
                        continue
                    records.append((fetch.article_id, replace(result, fetched_at=fetch.fetched_at)))
                with db.transaction(sessions) as session:
                    applied = repository.apply_reextraction(session, records)
                tally.seen += len(batch)
                tally.changed += applied.changed
                tally.unchanged += applied.unchanged
                if interactive:
                    click.echo(
                        f"\rreextract: {tally.seen}/{total}  {tally.line()}", nl=False, err=True
                    )
        if interactive and tally.seen:
            click.echo("", err=True)
    finally:
        engine.dispose()
    click.echo(f"re-extracted {tally.line()}")
    for reason, count in sorted(tally.rejected.items()):
        click.echo(f"  rejected {reason}: {count}")

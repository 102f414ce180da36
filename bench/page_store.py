"""Bytes per article in the database with raw pages in ``pages.html_zlib`` and in WARC files.

Usage::

    python bench/page_store.py [--pages 1000] [--corpus DIR...]

Real corpus pages (``../shared/corpus``: scrapinghub and trafilatura by default) are
extracted once; the records and their raw pages are then written through
``storage.articles.upsert_articles`` in batches of 100, one transaction each, as the
crawl's store pipeline writes them, into a fresh embedded PostgreSQL: first with the
``database`` page store, then (tables truncated) with the ``warc`` store
(`storage.pagestore`). For each: the bytes of every newsingest table (heap, TOAST and
indexes, ``pg_total_relation_size``) per article, the bytes of the WARC files per
article, and the write rate. Prints a table for bench/README.md.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import install_sigterm_handler, load_average, load_corpus

BATCH = 100
TABLES = ("articles", "pages", "article_versions", "source_daily_stats", "run_field_stats")


def records(pages: list[Any]) -> list[Any]:
    """(record, StoredPage) of each page the extractor keeps, URLs made unique."""
    from crawler.extraction import ArticleRecord, extract_article
    from storage.pages import StoredPage

    now = datetime.now(UTC)
    out = []
    for n, page in enumerate(pages):
        url = f"https://bench.example/{page.corpus}/{n}.html"
        record = extract_article(page.html, url)
        if not isinstance(record, ArticleRecord):
            continue
        record = replace(record, url=url, fetched_at=now)
        stored = StoredPage(url, url, 200, "text/html; charset=utf-8", page.html, now)
        out.append((record, stored))
    return out


def table_bytes(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        return {
            t: int(conn.execute("SELECT pg_total_relation_size(%s)", (t,)).fetchone()[0])  # type: ignore[index]
            for t in TABLES
        }


def fill(url: str, items: list[Any], writer: Any) -> float:
    """Write ``items`` in batches; rows/s."""
    from storage import articles, db, sources

    engine = db.make_engine(url, pool_size=1)
    sessions = db.make_session_factory(engine)
    try:
        with db.transaction(sessions) as session:
            source_id = sources.upsert_source(
                session, sources.SourceRow("bench", "Bench", "https://bench.example/")
            )
        stored = [articles.StoredArticle(record=r, source_id=source_id, page=p) for r, p in items]
        started = time.perf_counter()
        for start in range(0, len(stored), BATCH):
            with db.transaction(sessions) as session:
                articles.upsert_articles(session, stored[start : start + BATCH], page_writer=writer)
        return len(stored) / (time.perf_counter() - started)
    finally:
        engine.dispose()


def truncate(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE articles, pages, article_versions, source_daily_stats, run_field_stats,"
            " sources RESTART IDENTITY CASCADE"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000, help="corpus pages (per corpus)")
    parser.add_argument("--corpus", nargs="+", metavar="DIR", help="corpus folders (raw pages)")
    args = parser.parse_args(argv)
    install_sigterm_handler()
    from _common import corpus_dirs

    from storage import embedded, migrate, pagestore

    corpus = load_corpus(corpus_dirs(args.corpus), args.pages)
    t0 = time.perf_counter()
    items = records(corpus)
    html = sum(len(p.html) for _, p in items)
    print(
        f"{len(items)} articles extracted from {len(corpus)} corpus pages in "
        f"{time.perf_counter() - t0:.0f} s; raw HTML {html / len(items):,.0f} B/article; "
        f"{load_average()}",
        file=sys.stderr,
    )
    work = Path(tempfile.mkdtemp(prefix="newsingest-pagestore-"))
    try:
        url = embedded.start(work / "data")
        migrate.upgrade(url)
        results: dict[str, tuple[dict[str, int], int, float]] = {}
        for store in pagestore.PAGE_STORES:
            truncate(url)
            folder = work / "pages"
            writer = pagestore.WarcPageWriter(folder, 1 << 30) if store == "warc" else None
            rate = fill(url, items, writer)
            if writer is not None:
                writer.close()
            files = sum(f.stat().st_size for f in folder.iterdir()) if folder.is_dir() else 0
            results[store] = (table_bytes(url), files, rate)
        n = len(items)
        print(f"| store | {' | '.join(TABLES)} | database total | WARC files | rows/s |")
        print("|---|" + "---|" * (len(TABLES) + 3))
        for store, (sizes, files, rate) in results.items():
            cells = " | ".join(f"{sizes[t] / n:,.0f}" for t in TABLES)
            print(
                f"| {store} | {cells} | **{sum(sizes.values()) / n:,.0f}** | "
                f"{files / n:,.0f} | {rate:.0f} |"
            )
        db_total = sum(results["database"][0].values())
        warc_total = sum(results["warc"][0].values())
        print(
            f"\nbytes per article in the database: {db_total / n:,.0f} -> {warc_total / n:,.0f}"
            f" ({1 - warc_total / db_total:.0%} less); {n} articles, {load_average()}"
        )
    finally:
        embedded.stop(work / "data")
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

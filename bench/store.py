"""Upsert throughput of ``storage.articles.upsert_articles`` into a fresh embedded PostgreSQL.

Usage::

    python bench/store.py [--records 5000] [--batch 100 ...] [--no-pages] [--without-fts]
                          [--corpus DIR...]

Records are synthesized: a body of about ``--text-chars`` characters (default 5,000) made of
sentences drawn at random from the corpus ground-truth bodies and snippets (so words,
language mix and compressibility are real, and every body is distinct), a title, lead,
authors, dates, tags and hashes computed as extraction does. With pages on (the default,
as the crawl's `StorePipeline` writes them) each record carries a real corpus page as
its raw HTML (compressed by the repository).

For each batch size, one phase after the other, each batch one transaction as the
pipeline does it:

* new: ``--records`` new articles;
* unchanged: the same records again (same content hash: only ``last_seen_at`` moves);
* changed: the same URLs with one sentence added (new hash: a version is archived).

Prints rows per second, and the CPU seconds per row of this process (the client:
parameter building, page compression in its helper thread: python-isal when installed, else
zlib) and of the PostgreSQL server (psutil). The
full-text index (``tsvector`` column kept by a trigger + GIN index) is on unless
``--without-fts`` drops them first, to show what they cost.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    FreshDatabase,
    TreeSampler,
    corpus_dirs,
    fresh_database,
    install_sigterm_handler,
    load_average,
    load_corpus,
    mb,
)

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def sentence_pool(dirs: Sequence[Path]) -> list[str]:
    """Sentences of the corpus ground truth (scrapinghub bodies, trafilatura snippets)."""
    pool: list[str] = []
    for folder in dirs:
        with (folder / "manifest.jsonl").open(encoding="utf-8") as fh:
            for line in fh:
                entry = json.loads(line)
                texts: list[str] = []
                if isinstance(entry.get("body"), str):
                    texts.append(entry["body"])
                if isinstance(entry.get("with"), list):
                    texts.extend(s for s in entry["with"] if isinstance(s, str))
                for text in texts:
                    pool.extend(s.strip() for s in _SENTENCE.split(text) if len(s.strip()) >= 20)
    if len(pool) < 100:
        raise SystemExit(f"error: too little ground-truth text in {', '.join(map(str, dirs))}")
    return pool


def make_records(
    count: int, pool: list[str], chars: int, prefix: str, rng: random.Random
) -> list[Any]:
    """``count`` distinct records of about ``chars`` characters of text."""
    from crawler.extraction.record import ArticleRecord
    from crawler.extraction.text import content_hash, simhash, word_count
    from crawler.extraction.version import EXTRACTOR_VERSION

    now = datetime.now(UTC)
    records = []
    for i in range(count):
        paragraphs: list[str] = []
        size = 0
        while size < chars:
            para = " ".join(rng.choice(pool) for _ in range(rng.randint(2, 5)))
            paragraphs.append(para)
            size += len(para) + 2
        text = "\n\n".join(paragraphs)
        records.append(
            ArticleRecord(
                url=f"https://bench.example/{prefix}/article/{i}.html",
                text=text,
                content_hash=content_hash(text),
                simhash=simhash(text),
                word_count=word_count(text),
                extractor_version=EXTRACTOR_VERSION,
                title=rng.choice(pool)[:120],
                lead=rng.choice(pool),
                authors=("Jane Doe", "John Roe"),
                byline="By Jane Doe and John Roe",
                published_at=now - timedelta(hours=i % 500),
                published_precision="minute",
                published_raw="24 November 2026, 10:00",
                language=rng.choice(("en", "de", "fr")),
                language_confidence=0.99,
                declared_language="en",
                site_name="Bench",
                section="World",
                tags=("politics", "europe"),
                image_url=f"https://bench.example/img/{i}.jpg",
                fetched_at=now,
            )
        )
    return records


def changed(records: list[Any], pool: list[str], rng: random.Random) -> list[Any]:
    """The same URLs with one sentence added to the text (new hashes)."""
    from crawler.extraction.text import content_hash, simhash, word_count

    out = []
    for rec in records:
        text = rec.text + "\n\n" + rng.choice(pool)
        out.append(
            replace(
                rec,
                text=text,
                content_hash=content_hash(text),
                simhash=simhash(text),
                word_count=word_count(text),
            )
        )
    return out


def stored(records: list[Any], htmls: list[bytes] | None, source_id: int | None) -> list[Any]:
    from storage.articles import StoredArticle
    from storage.pages import StoredPage

    out = []
    for i, rec in enumerate(records):
        page = None
        if htmls is not None:
            page = StoredPage(
                requested_url=rec.url,
                final_url=rec.url,
                status=200,
                content_type="text/html; charset=utf-8",
                html=htmls[i % len(htmls)],
                fetched_at=rec.fetched_at,
            )
        out.append(StoredArticle(record=rec, source_id=source_id, page=page, run_id=None))
    return out


def drop_fts(url: str) -> None:
    """Drop the tsvector column, its trigger and its GIN index."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TRIGGER IF EXISTS trg_articles_search_vector ON articles")
        conn.execute("ALTER TABLE articles DROP COLUMN search_vector CASCADE")
        conn.execute("ALTER TABLE article_versions DROP COLUMN IF EXISTS search_vector CASCADE")


def run_phase(db: FreshDatabase, label: str, items: list[Any], batch: int) -> dict[str, Any]:
    from storage import articles
    from storage import db as dbmod

    engine = dbmod.make_engine(db.url, pool_size=1)
    sessions = dbmod.make_session_factory(engine)
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    sampler = TreeSampler({"postgres": db.postmaster_pid}, interval=0.5, pss_every=10**9)
    load_before = load_average()
    try:
        with dbmod.transaction(sessions) as session:  # connect before the clock starts
            dbmod.ping(session)
        with sampler:
            cpu0 = time.process_time()
            started = time.perf_counter()
            for start in range(0, len(items), batch):
                with dbmod.transaction(sessions) as session:
                    chunk = items[start : start + batch]
                    result = articles.upsert_articles(session, chunk)
                counts["inserted"] += result.inserted
                counts["updated"] += result.updated
                counts["unchanged"] += result.unchanged
            wall = time.perf_counter() - started
            client = time.process_time() - cpu0
    finally:
        engine.dispose()
    server = sampler.usage["postgres"].cpu_total
    n = len(items)
    print(
        f"  {label:<10} batch {batch:>4}: {n} rows in {wall:6.2f} s = {n / wall:7.0f} rows/s;"
        f" CPU per row: client {1000 * client / n:.2f} ms, server {1000 * server / n:.2f} ms;"
        f" {counts}  [{load_before}]",
        flush=True,
    )
    return {"rows_per_s": n / wall, "client_ms": 1000 * client / n, "server_ms": 1000 * server / n}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--batch", type=int, nargs="+", default=[100])
    parser.add_argument("--text-chars", type=int, default=5000)
    parser.add_argument("--no-pages", action="store_true", help="records without raw HTML")
    parser.add_argument(
        "--without-fts", action="store_true", help="drop the tsvector column and its GIN index"
    )
    parser.add_argument("--corpus", nargs="+", metavar="DIR", help="corpus folders")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    install_sigterm_handler()
    dirs = corpus_dirs(args.corpus)
    rng = random.Random(args.seed)
    pool = sentence_pool(dirs)
    htmls = None if args.no_pages else [p.html for p in load_corpus(dirs)]
    from storage.pages import page_compressor

    print(
        f"bench/store.py: {args.records} records of ~{args.text_chars} chars of text,"
        f" pages {'off' if htmls is None else 'on (real corpus HTML)'}"
        f" compressed by {page_compressor()},"
        f" full-text index {'OFF' if args.without_fts else 'on'}; {load_average()}"
    )
    with fresh_database() as db:
        if args.without_fts:
            drop_fts(db.url)
        from storage import db as dbmod
        from storage import sources

        engine = dbmod.make_engine(db.url, pool_size=1)
        with dbmod.transaction(dbmod.make_session_factory(engine)) as session:
            source_id = sources.upsert_source(
                session,
                sources.SourceRow(key="bench", name="bench", url="https://bench.example/"),
            )
        engine.dispose()
        for batch in args.batch:
            records = make_records(args.records, pool, args.text_chars, f"b{batch}", rng)
            sizes = sorted(len(r.text) for r in records)
            print(f"\n== batch size {batch} (median text {sizes[len(sizes) // 2]} chars)")
            run_phase(db, "new", stored(records, htmls, source_id), batch)
            run_phase(db, "unchanged", stored(records, htmls, source_id), batch)
            run_phase(db, "changed", stored(changed(records, pool, rng), htmls, source_id), batch)
        import psycopg

        with psycopg.connect(db.url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT pg_total_relation_size('articles'), pg_total_relation_size('pages'),"
                " pg_total_relation_size('article_versions')"
            ).fetchone()
        if row:
            print(
                f"\n  sizes: articles {mb(row[0])}, pages {mb(row[1])},"
                f" article_versions {mb(row[2])}  [{load_average()}]"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

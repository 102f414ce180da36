"""The database at scale: fill N synthetic articles, time the documented downstream queries.

Usage::

    python bench/scale.py [--sizes 10000 50000 100000] [--sources 500] [--write-sample 1000]
                          [--fill-workers N] [--merge-every 1000] [--merge-between]
                          [--data-dir DIR [--measure-only]] [--database-url URL] [--corpus DIR...]

The database (a fresh embedded PostgreSQL in a temporary folder, or ``--data-dir DIR``
kept afterwards, or ``--database-url`` of an empty database) is migrated to the head of
this checkout and filled step by step up to each of ``--sizes``:

* **bulk fill** (``COPY`` into ``articles`` with every index and trigger live: the
  search-vector trigger parses each text, the generated simhash bands are computed):
  ``--sources`` sources with a skewed share of the articles each (the largest has ~8 %),
  20 languages, texts of 3–6 KB drawn from a Zipf vocabulary per language (so posting
  lists are realistic), publication dates over two years (first seen shortly after), 3 %
  near-duplicates (same text with a few words changed, simhash 1 bit away,
  ``duplicate_of`` set), 1 % of the rows then updated with new content (the archive
  trigger writes a version), crawl runs (half a run per article, each with a ~1.5 KB
  stats document as a crawl writes it) and fetch failures (one per five articles). The
  bulk-filled rows have no raw page. With ``--fill-workers`` > 1 the search index is
  rebuilt after the copy (``REINDEX``: the writers' pending list would otherwise make
  the next statement merge gigabytes);
* **write path**: at each size, ``--write-sample`` more articles through
  ``storage.articles.upsert_articles`` in batches of 100, one transaction each, with a
  raw page each (real corpus HTML when the corpus is found, else the article as HTML),
  as the crawl's store pipeline writes them, the search index's pending list merged after
  every ``--merge-every`` articles as the pipeline merges it
  (``NEWSINGEST_SEARCH_MERGE_ARTICLES``; 0: the inserts merge it), alongside the batches
  on a connection of its own (``--merge-between``: between two batches, as the pipeline
  did before): rows/s over the whole sample (merges between batches included), rows/s of
  the batches alone and the 95th percentile batch time. The first sample runs on the
  empty database.

Then, at each size (after ``ANALYZE``), the queries downstream tools and the CLI run,
each once to warm up and then the median of ``--repeat`` runs: SQL through
``EXPLAIN (ANALYZE, BUFFERS)`` (execution time; the plan's index scans are printed with
``--plans``), the library calls and the CLI commands (a subprocess: start-up included)
by wall clock. A common word is in 13 % of the articles (``government``), a rare one in
0.02 % (``quetzal``). Prints the table query x size, the write rates and bytes per
article (per table; ``pages`` only holds the write samples' pages).

``--data-dir DIR --measure-only`` measures an already filled database again, after
migrating it to this checkout's head (how the before/after figures in bench/README.md
were taken: the same data, the old and the new code).

Longer than ~400 lines on purpose: one experiment in one script (the synthetic fill, the
write-path sample and the timed queries share one database and print one table), kept
a single file to run, like every bench script.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO_ROOT, install_sigterm_handler, load_average, load_corpus

LANGUAGES = (
    ("en", 20), ("de", 12), ("fr", 8), ("es", 8), ("ru", 7), ("it", 5), ("pt", 5),
    ("nl", 4), ("sv", 3), ("pl", 3), ("tr", 3), ("uk", 3), ("da", 2), ("fi", 2),
    ("no", 2), ("hu", 2), ("ro", 2), ("cs", 2), ("ja", 2), ("ar", 2),
)  # fmt: skip
"""20 languages and their weights (15 have a stemming configuration, 5 use ``simple``)."""

COMMON_WORD = "government"
COMMON_SHARE = 0.13
RARE_WORD = "quetzal"
RARE_SHARE = 0.0002
NEAR_DUPLICATE_SHARE = 0.03
VERSIONED_SHARE = 0.01
RUNS_PER_ARTICLE = 0.5
FAILURES_PER_ARTICLE = 0.2
SPAN = timedelta(days=730)
BATCH = 100
COPY_CHUNK = 2000

_SYLLABLES = (
    "ka", "to", "ri", "an", "mel", "sor", "ve", "lin", "da", "po", "us", "ter", "ni", "go",
    "ber", "sa", "lu", "mi", "ron", "el", "ta", "quo", "fe", "dis", "ab", "or", "wen", "hu",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Pseudo-words of one language with Zipf cumulative weights."""

    words: list[str]
    cum: list[float]

    def draw(self, rng: random.Random, k: int) -> list[str]:
        return rng.choices(self.words, cum_weights=self.cum, k=k)


def vocabulary(language: str, size: int, rng: random.Random) -> Vocabulary:
    words: set[str] = set()
    while len(words) < size:
        n = rng.randint(1, 4)
        words.add(language + "".join(rng.choice(_SYLLABLES) for _ in range(n)))
    ordered = sorted(words)
    rng.shuffle(ordered)
    weights = [1.0 / (rank + 1) ** 1.07 for rank in range(size)]
    return Vocabulary(ordered, list(accumulate(weights)))


@dataclass(slots=True)
class World:
    """The synthetic sources, languages and vocabularies, deterministic from the seed."""

    rng: random.Random
    source_ids: list[int]
    source_keys: list[str]
    source_cum: list[float]
    languages: list[str]
    language_cum: list[float]
    vocab: dict[str, Vocabulary]
    now: datetime

    def source(self) -> int:
        return self.rng.choices(self.source_ids, cum_weights=self.source_cum)[0]

    def language(self) -> str:
        return self.rng.choices(self.languages, cum_weights=self.language_cum)[0]

    def text(self, language: str) -> str:
        rng = self.rng
        target = rng.randint(3000, 6000)
        paragraphs: list[str] = []
        size = 0
        while size < target:
            words = self.vocab[language].draw(rng, rng.randint(40, 90))
            para = " ".join(words).capitalize() + "."
            paragraphs.append(para)
            size += len(para) + 2
        if rng.random() < COMMON_SHARE:
            paragraphs[rng.randrange(len(paragraphs))] += f" The {COMMON_WORD} said so."
        if rng.random() < RARE_SHARE:
            paragraphs[0] += f" A {RARE_WORD} was seen."
        return "\n\n".join(paragraphs)

    def published(self) -> datetime:
        # Uniform over two years, the last day included (status counts 24h and 7d).
        return self.now - SPAN * self.rng.random()


def make_world(sources: int, seed: int, source_ids: list[int], keys: list[str]) -> World:
    rng = random.Random(seed)
    vocab = {
        code: vocabulary(code, 30000, random.Random(f"{seed}-{code}")) for code, _ in LANGUAGES
    }
    weights = [1.0 / (rank + 1) ** 0.9 for rank in range(sources)]
    return World(
        rng=rng,
        source_ids=source_ids,
        source_keys=keys,
        source_cum=list(accumulate(weights)),
        languages=[code for code, _ in LANGUAGES],
        language_cum=list(accumulate(w for _, w in LANGUAGES)),
        vocab=vocab,
        now=datetime.now(UTC),
    )


# --------------------------------------------------------------------------- database


@contextlib.contextmanager
def database(args: argparse.Namespace) -> Iterator[str]:
    """The URL of the database to fill: given, kept in --data-dir, or a temporary one."""
    from storage import embedded

    if args.database_url:
        yield args.database_url
        return
    keep = args.data_dir is not None
    data_dir = Path(args.data_dir) if keep else Path(tempfile.mkdtemp(prefix="newsingest-scale-"))
    try:
        yield embedded.start(data_dir)
    finally:
        if not keep:
            import shutil

            embedded.stop(data_dir)
            shutil.rmtree(data_dir, ignore_errors=True)


def register_sources(url: str, count: int) -> tuple[list[int], list[str]]:
    from storage import db as dbmod
    from storage.sources import SourceRow, upsert_source

    engine = dbmod.make_engine(url, pool_size=1)
    ids: list[int] = []
    keys = [f"src-{i:04d}" for i in range(count)]
    try:
        with dbmod.transaction(dbmod.make_session_factory(engine)) as session:
            for i, key in enumerate(keys):
                ids.append(
                    upsert_source(
                        session,
                        SourceRow(
                            key=key,
                            name=f"Source {i}",
                            url=f"https://{key}.example/",
                            language=LANGUAGES[i % len(LANGUAGES)][0],
                        ),
                    )
                )
    finally:
        engine.dispose()
    return ids, keys


def scalar(url: str, sql: str, params: Sequence[Any] = ()) -> Any:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(sql, params).fetchone()
        return row[0] if row else None


_ARTICLE_COLUMNS = (
    "id", "source_id", "url", "title", "lead", "text", "authors", "byline", "published_at",
    "published_precision", "language", "language_confidence", "declared_language", "tags",
    "word_count", "content_hash", "simhash", "extractor_version", "first_seen_at",
    "last_seen_at", "fetched_at", "duplicate_of", "credits",
)  # fmt: skip


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def bulk_fill(url: str, world: World, upto: int, workers: int = 1) -> float:
    """COPY articles (triggers and indexes live) until ``articles`` has ``upto`` rows;
    then versions, runs and failures in proportion. Returns the seconds spent.

    With ``workers`` > 1 the articles are copied by that many processes at once, each
    into its own range of ids with its own random stream (near-duplicates point within
    a worker's range): the same rows a single COPY writes, the same triggers and indexes,
    only several server backends doing the work, and the search index's open segment
    built after the COPY instead of during it (`_without_open_segment`)."""
    import multiprocessing

    import psycopg

    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        have = conn.execute("SELECT count(*) FROM articles").fetchone()
        next_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM articles").fetchone()
        assert have is not None and next_id is not None
        todo = upto - int(have[0])
        first_id = int(next_id[0])
    parallel = workers > 1 and todo >= workers * COPY_CHUNK
    if not parallel:
        _copy_articles(url, world, first_id, todo)
    else:
        _without_open_segment(url)
        share = -(-todo // workers)
        ctx = multiprocessing.get_context("fork")
        procs = []
        for w in range(workers):
            count = min(share, todo - w * share)
            seed = f"{world.rng.random()}-{w}"
            proc = ctx.Process(
                target=_copy_worker, args=(url, world, seed, first_id + w * share, count)
            )
            proc.start()
            procs.append(proc)
        for proc in procs:
            proc.join()
        failed = [proc.exitcode for proc in procs if proc.exitcode != 0]
        if failed:
            raise SystemExit(f"a fill worker failed (exit codes {failed})")
    _segment_search_index(url)
    with psycopg.connect(url) as conn:
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('articles', 'id'),"
            " (SELECT max(id) FROM articles))"
        )
        # New content for 1 % of the new rows: the archive trigger writes the old version.
        conn.execute(
            "UPDATE articles SET text = text || ' Updated.',"
            " content_hash = md5(text || ' Updated.') || md5(id::text),"
            " last_seen_at = now()"
            " WHERE id >= %s AND id %% %s = 0",
            (first_id, round(1 / VERSIONED_SHARE)),
        )
        conn.commit()
        fill_runs(conn, world, round(todo * RUNS_PER_ARTICLE), round(todo * FAILURES_PER_ARTICLE))
        conn.commit()
    return time.perf_counter() - started


def _without_open_segment(url: str) -> None:
    """Drop the search index's open segment before a parallel fill (`_segment_search_index`
    builds it again after).

    Several COPY writers into one GIN index leave its pending list gigabytes long (a 1M
    fill by two writers: a 7-8 GB index, 1.15 GB rebuilt): only one backend merges at a
    time, and the first statement that merges it pays for all of it (the fill's own
    ``UPDATE`` stalled for more than 15 minutes; bench/README.md, 2026-12-07)."""
    from storage import db as dbmod
    from storage import search_index

    engine = dbmod.make_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            for segment in search_index.segments(conn):
                if segment.hi is None:
                    conn.exec_driver_sql(f"DROP INDEX {segment.name}")
    finally:
        engine.dispose()


def _segment_search_index(url: str) -> None:
    """Close the search index's open segment over the filled ids, or build it when a
    parallel fill dropped it (`storage.search_index.roll`); prints seconds and sizes."""
    from storage import db as dbmod
    from storage import search_index

    started = time.perf_counter()
    engine = dbmod.make_engine(url, pool_size=1)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("SET maintenance_work_mem = '1GB'")
            built = search_index.roll(conn)
            found = search_index.segments(conn)
            size = conn.exec_driver_sql(
                "SELECT pg_size_pretty(sum(pg_relation_size(indexrelid))) FROM pg_index"
                " WHERE indexrelid::regclass::text LIKE 'ix_articles_search_vector_%%'"
            ).scalar_one()
    finally:
        engine.dispose()
    print(
        f"  search index: {len(built)} segments built in {time.perf_counter() - started:.0f} s;"
        f" {len(found)} segments, {size}",
        flush=True,
    )


def _copy_worker(url: str, world: World, seed: str, first_id: int, count: int) -> None:
    world.rng = random.Random(seed)
    _copy_articles(url, world, first_id, count)


def _copy_articles(url: str, world: World, first_id: int, todo: int) -> None:
    """COPY ``todo`` generated articles with ids from ``first_id``, a commit per chunk."""
    import psycopg

    with psycopg.connect(url) as conn:
        recent: list[tuple[int, int, str, str]] = []  # (id, simhash, text, language)
        copied = 0
        rng = world.rng
        while copied < todo:
            chunk = min(COPY_CHUNK, todo - copied)
            copy_sql = f"COPY articles ({', '.join(_ARTICLE_COLUMNS)}) FROM STDIN"
            with conn.cursor() as cur, cur.copy(copy_sql) as cp:
                for j in range(chunk):
                    article_id = first_id + copied + j
                    language = world.language()
                    duplicate_of = None
                    if recent and rng.random() < NEAR_DUPLICATE_SHARE:
                        orig_id, orig_hash, orig_text, language = rng.choice(recent)
                        words = orig_text.split(" ")
                        for _ in range(3):
                            words[rng.randrange(len(words))] = rng.choice(
                                world.vocab[language].words
                            )
                        text = " ".join(words)
                        simhash = _signed((orig_hash & (1 << 64) - 1) ^ (1 << rng.randrange(64)))
                        duplicate_of = orig_id
                    else:
                        text = world.text(language)
                        simhash = _signed(rng.getrandbits(64))
                    if len(recent) < 500:
                        recent.append((article_id, simhash, text, language))
                    else:
                        recent[rng.randrange(500)] = (article_id, simhash, text, language)
                    published = world.published()
                    seen = published + timedelta(minutes=rng.randint(5, 120))
                    seen = min(seen, world.now)
                    vocab = world.vocab[language]
                    cp.write_row(
                        (
                            article_id,
                            world.source(),
                            f"https://news.example/{language}/{article_id}.html",
                            " ".join(vocab.draw(rng, 8)).capitalize(),
                            " ".join(vocab.draw(rng, 25)).capitalize() + ".",
                            text,
                            ["Jane Doe"],
                            "By Jane Doe",
                            published,
                            "minute",
                            language,
                            0.99,
                            language,
                            ["politics"],
                            text.count(" ") + 1,
                            hashlib.sha256(text.encode()).hexdigest(),
                            simhash,
                            "bench",
                            seen,
                            seen,
                            seen,
                            duplicate_of,
                            ["AFP"] if rng.random() < 0.1 else [],
                        )
                    )
            conn.commit()
            copied += chunk


def _stats_document(rng: random.Random, pages: int) -> dict[str, Any]:
    """A run's stats as a crawl records them (about 1.5 KB as JSON)."""
    doc: dict[str, Any] = {
        "newsingest/fetch/articles": pages,
        "newsingest/store/inserted": rng.randint(0, pages),
        "newsingest/store/updated": rng.randint(0, 3),
        "newsingest/store/unchanged": rng.randint(0, pages),
        "elapsed_time_seconds": rng.uniform(5, 300),
        "start_time": "2026-12-01T10:00:00+00:00",
        "finish_time": "2026-12-01T10:04:00+00:00",
        "finish_reason": "finished",
    }
    for name in (
        "downloader/request_count", "downloader/response_count", "downloader/request_bytes",
        "downloader/response_bytes", "downloader/response_status_count/200",
        "downloader/response_status_count/304", "downloader/response_status_count/404",
        "scheduler/enqueued", "scheduler/dequeued", "scheduler/enqueued/memory",
        "scheduler/dequeued/memory", "response_received_count", "request_depth_max",
        "item_scraped_count", "log_count/INFO", "log_count/WARNING", "log_count/DEBUG",
        "httpcompression/response_bytes", "httpcompression/response_count",
        "newsingest/discovery/urls", "newsingest/discovery/feeds", "newsingest/discovery/sitemaps",
        "newsingest/extract/ok", "newsingest/extract/rejected/too_short",
        "newsingest/extract/rejected/not_article", "newsingest/fetch/failed/http_404",
        "newsingest/dupefilter/filtered", "newsingest/incremental/skipped_stored",
        "newsingest/conditional/not_modified", "memusage/max", "memusage/startup",
    ):  # fmt: skip
        doc[name] = rng.randint(0, 100000)
    return doc


def fill_runs(conn: Any, world: World, runs: int, failures: int) -> None:
    rng = world.rng
    run_ids: list[int] = []
    start_row = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM crawl_runs").fetchone()
    first = int(start_row[0])
    with conn.cursor() as cur:
        columns = (
            "id, source_id, crawl_id, trigger, host, pid, status, started_at, finished_at,"
            " stats, error"
        )
        with cur.copy(f"COPY crawl_runs ({columns}) FROM STDIN") as cp:
            for i in range(runs):
                started = world.published()
                status = "failed" if rng.random() < 0.05 else "succeeded"
                cp.write_row(
                    (
                        first + i,
                        rng.choice(world.source_ids),
                        None,
                        "schedule",
                        "bench-host",
                        rng.randint(1000, 60000),
                        status,
                        started,
                        started + timedelta(seconds=rng.randint(5, 300)),
                        json.dumps(_stats_document(rng, rng.randint(0, 60))),
                        "crawl failed" if status == "failed" else None,
                    )
                )
                run_ids.append(first + i)
    conn.execute(
        "SELECT setval(pg_get_serial_sequence('crawl_runs', 'id'),"
        " (SELECT max(id) FROM crawl_runs))"
    )
    with conn.cursor() as cur:
        columns = "run_id, source_id, url, stage, reason, status, detail, occurred_at"
        with cur.copy(f"COPY fetch_failures ({columns}) FROM STDIN") as cp:
            for i in range(failures):
                cp.write_row(
                    (
                        rng.choice(run_ids) if run_ids else None,
                        rng.choice(world.source_ids),
                        f"https://news.example/failed/{first}-{i}.html",
                        "fetch",
                        "http_404",
                        404,
                        "Not Found",
                        world.published(),
                    )
                )


# --------------------------------------------------------------------------- write path


@dataclass(frozen=True, slots=True)
class WriteRate:
    """A write sample: rows/s over its whole time (merges included; merges alongside the
    batches: up to the last batch), rows/s of the batches alone, the 95th percentile batch,
    and the merges' total seconds (alongside: how long the last one outlasted the batches)."""

    rate: float
    batch_rate: float
    p95: float
    merge_seconds: float
    merges: int
    alongside: bool = False
    tail: float = 0.0

    def __str__(self) -> str:
        where = "alongside" if self.alongside else "between batches"
        tail = f", the last outlasting the batches by {self.tail:.1f} s" if self.alongside else ""
        return (
            f"{self.rate:.0f} rows/s ({self.batch_rate:.0f} in batches, {self.merges} merges"
            f" {where} {self.merge_seconds:.1f} s{tail}), p95 batch {self.p95:.2f} s"
        )


def write_sample(
    url: str,
    world: World,
    count: int,
    htmls: list[bytes],
    merge_every: int = 0,
    alongside: bool = False,
) -> WriteRate:
    """``count`` articles through ``upsert_articles``, the search index's pending list
    merged after every ``merge_every`` articles as the store pipeline does
    (``NEWSINGEST_SEARCH_MERGE_ARTICLES``; 0: never, the inserts merge it): between two
    batches, or ``alongside`` them on a connection of its own (a merge still running is
    not started again)."""
    from crawler.extraction.record import ArticleRecord
    from crawler.extraction.text import content_hash, simhash, word_count
    from storage import articles, db
    from storage import db as dbmod
    from storage.pages import StoredPage

    items: list[Any] = []
    tag = time.time_ns()  # distinct URLs on every run, also with --measure-only
    # and texts of their own: drawn from the world's seed, a --measure-only run's sample
    # repeated the texts of the samples before it, and each article was linked as their
    # near-duplicate (an UPDATE per article that new articles do not cost)
    saved, world.rng = world.rng, random.Random(tag)
    rng = world.rng
    for i in range(count):
        language = world.language()
        text = world.text(language)
        vocab = world.vocab[language]
        record = ArticleRecord(
            url=f"https://write.example/{tag:x}/{i}.html",
            text=text,
            content_hash=content_hash(text),
            simhash=simhash(text),
            word_count=word_count(text),
            extractor_version="bench",
            title=" ".join(vocab.draw(rng, 8)).capitalize(),
            lead=" ".join(vocab.draw(rng, 25)).capitalize() + ".",
            authors=("Jane Doe",),
            published_at=world.now - timedelta(minutes=rng.randint(0, 600)),
            published_precision="minute",
            language=language,
            language_confidence=0.99,
            fetched_at=world.now,
        )
        html = (
            htmls[i % len(htmls)] if htmls else f"<html><body><p>{text}</p></body></html>".encode()
        )
        page = StoredPage(
            requested_url=record.url,
            final_url=record.url,
            status=200,
            content_type="text/html; charset=utf-8",
            html=html,
            fetched_at=world.now,
        )
        items.append(articles.StoredArticle(record=record, source_id=world.source(), page=page))
    world.rng = saved
    engine = dbmod.make_engine(url, pool_size=2)
    sessions = dbmod.make_session_factory(engine)
    durations: list[float] = []
    merges: list[float] = []

    def merge() -> None:
        t0 = time.perf_counter()
        with dbmod.transaction(sessions) as session:
            articles.merge_search_entries(session)
        merges.append(time.perf_counter() - t0)

    merger = ThreadPoolExecutor(max_workers=1) if alongside else None
    running: Future[None] | None = None
    tail = 0.0
    try:
        with dbmod.transaction(sessions) as session:
            db.ping(session)
            if merge_every:  # start from an empty pending list, as after a merge
                articles.merge_search_entries(session)
        started = time.perf_counter()
        since_merge = 0
        for start in range(0, len(items), BATCH):
            t0 = time.perf_counter()
            with dbmod.transaction(sessions) as session:
                articles.upsert_articles(session, items[start : start + BATCH])
            durations.append(time.perf_counter() - t0)
            since_merge += len(items[start : start + BATCH])
            if merge_every and since_merge >= merge_every:
                if merger is None:
                    since_merge = 0
                    merge()
                elif running is None or running.done():
                    since_merge = 0
                    running = merger.submit(merge)
        wall = time.perf_counter() - started
        if running is not None:
            running.result()
            tail = time.perf_counter() - started - wall
    finally:
        if merger is not None:
            merger.shutdown(wait=True)
        engine.dispose()
    p95 = sorted(durations)[min(len(durations) - 1, int(0.95 * len(durations)))]
    return WriteRate(
        count / wall, count / sum(durations), p95, sum(merges), len(merges), alongside, tail
    )


# --------------------------------------------------------------------------- queries


@dataclass(frozen=True, slots=True)
class Measurement:
    ms: float
    note: str = ""


def _median(fn: Callable[[], Measurement], repeat: int) -> Measurement:
    fn()  # warm-up
    runs = [fn() for _ in range(repeat)]
    ms = statistics.median(m.ms for m in runs)
    return Measurement(ms, runs[-1].note)


def _plan_indexes(plan: dict[str, Any]) -> list[str]:
    found: list[str] = []
    node_type = plan.get("Node Type", "")
    if "Index Name" in plan:
        found.append(f"{node_type}:{plan['Index Name']}")
    elif node_type == "Seq Scan":
        found.append(f"Seq Scan:{plan.get('Relation Name')}")
    for child in plan.get("Plans", []):
        found.extend(_plan_indexes(child))
    return found


def explain(url: str, sql: str, params: dict[str, Any]) -> Callable[[], Measurement]:
    import psycopg

    def run() -> Measurement:
        with psycopg.connect(url, autocommit=True, options="-c timezone=UTC") as conn:
            row = conn.execute(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql,
                params,
            ).fetchone()
        assert row is not None
        doc = row[0][0]
        return Measurement(float(doc["Execution Time"]), " ".join(_plan_indexes(doc["Plan"])))

    return run


def wall(fn: Callable[[], str]) -> Callable[[], Measurement]:
    def run() -> Measurement:
        t0 = time.perf_counter()
        note = fn()
        return Measurement(1000 * (time.perf_counter() - t0), note)

    return run


def cli(url: str, data_dir: Path, *args: str) -> Callable[[], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSINGEST_")}
    env.update(NEWSINGEST_DATABASE_URL=url, NEWSINGEST_DATA_DIR=str(data_dir))

    def run() -> str:
        done = subprocess.run(
            [sys.executable, "-m", "crawler.cli", *args],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode not in (0, 1):
            raise SystemExit(f"newsingest {' '.join(args)} failed: {done.stderr[-2000:]}")
        return f"{len(done.stdout.splitlines())} lines"

    return run


def write_sources_file(path: Path, keys: Sequence[str]) -> None:
    lines = ["sources:"]
    for key in keys:
        lines += [f"  - key: {key}", f"    url: https://{key}.example/", "    interval: 1h"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def measure(url: str, keys: list[str], repeat: int, workdir: Path) -> dict[str, Measurement]:
    from storage import db as dbmod
    from storage import ledger, queries

    largest = scalar(
        url,
        "SELECT s.key FROM articles a JOIN sources s ON s.id = a.source_id"
        " GROUP BY s.key ORDER BY count(*) DESC LIMIT 1",
    )
    max_published = scalar(url, "SELECT max(published_at) FROM articles")
    day = (max_published - timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
    week = day - timedelta(days=7)
    sample = scalar(
        url, "SELECT duplicate_of FROM articles WHERE duplicate_of IS NOT NULL ORDER BY id LIMIT 1"
    )
    versioned = scalar(url, "SELECT article_id FROM article_versions ORDER BY id LIMIT 1")
    sources_file = workdir / "sources.yaml"
    write_sources_file(sources_file, keys)
    engine = dbmod.make_engine(url, pool_size=1)
    sessions = dbmod.make_session_factory(engine)

    window = datetime.now(UTC) - timedelta(days=90)  # the CLI's default window

    def search(word: str) -> Callable[[], str]:
        def run() -> str:
            with sessions() as session:
                found = queries.search(session, word, queries.ArticleFilter(since=window))
                return f"{len(found.hits)} hits of {found.candidates}, cut={found.cut}"

        return run

    def health() -> str:
        with sessions() as session:
            return f"{len(ledger.source_health(session, keys, datetime.now(UTC)))} sources"

    def recent() -> str:
        with sessions() as session:
            return f"{len(ledger.recent_runs(session, limit=20))} runs"

    feed = "SELECT id, url, title, published_at FROM article_feed"
    checks: dict[str, Callable[[], Measurement]] = {
        f"search(), common word ({COMMON_WORD})": wall(search(COMMON_WORD)),
        f"search(), rare word ({RARE_WORD})": wall(search(RARE_WORD)),
        f"CLI: newsingest search {COMMON_WORD}": wall(cli(url, workdir, "search", COMMON_WORD)),
        f"ledger.source_health(), {len(keys)} sources": wall(health),
        f"CLI: newsingest status, {len(keys)} sources": wall(
            cli(url, workdir, "status", "--sources", str(sources_file))
        ),
        "ledger.recent_runs(limit=20)": wall(recent),
        "runs SQL (latest 20 runs)": explain(
            url,
            "SELECT r.*, s.key FROM crawl_runs r LEFT JOIN sources s ON s.id = r.source_id"
            " ORDER BY r.started_at DESC, r.id DESC LIMIT 20",
            {},
        ),
        "latest 100 of the largest source (article_feed by key)": explain(
            url,
            f"{feed} WHERE source_key = %(k)s ORDER BY published_at DESC NULLS LAST LIMIT 100",
            {"k": largest},
        ),
        "latest 100 of the largest source (by source_id)": explain(
            url,
            f"{feed} WHERE source_id = (SELECT id FROM sources WHERE key = %(k)s)"
            " ORDER BY published_at DESC NULLS LAST LIMIT 100",
            {"k": largest},
        ),
        "latest 100 of all sources (article_feed)": explain(
            url, f"{feed} ORDER BY published_at DESC NULLS LAST LIMIT 100", {}
        ),
        "one day, all sources": explain(
            url,
            f"{feed} WHERE published_at >= %(d)s AND published_at < %(d)s + interval '1 day'"
            " ORDER BY published_at",
            {"d": day},
        ),
        "one language (en), one week": explain(
            url,
            f"{feed} WHERE language = 'en' AND published_at >= %(d)s"
            " AND published_at < %(d)s + interval '7 days' ORDER BY published_at",
            {"d": week},
        ),
        "export: one source, one week": explain(
            url,
            f"{feed} WHERE source_key = %(k)s AND published_at >= %(d)s"
            " AND published_at < %(d)s + interval '7 days' ORDER BY id",
            {"k": largest, "d": week},
        ),
        "near-duplicates of an article": explain(
            url, "SELECT id, url FROM articles WHERE duplicate_of = %(i)s", {"i": sample}
        ),
        "versions of an article": explain(
            url,
            "SELECT * FROM article_versions WHERE article_id = %(i)s ORDER BY version",
            {"i": versioned},
        ),
        "articles first seen per source, last 7 days": explain(
            url,
            "SELECT source_id, count(*) FROM articles"
            " WHERE first_seen_at > now() - interval '7 days' GROUP BY source_id",
            {},
        ),
    }
    out: dict[str, Measurement] = {}
    try:
        for name, fn in checks.items():
            out[name] = _median(fn, repeat)
            print(f"    {name}: {out[name].ms:.1f} ms  {out[name].note}", flush=True)
    finally:
        engine.dispose()
    return out


def sizes_report(url: str, n: int) -> list[str]:
    import psycopg

    lines = []
    with psycopg.connect(url, autocommit=True) as conn:
        for table in ("articles", "pages", "article_versions", "crawl_runs", "fetch_failures"):
            row = conn.execute(
                "SELECT pg_relation_size(c.oid),"
                " coalesce(pg_total_relation_size(c.reltoastrelid), 0),"
                " pg_indexes_size(c.oid), pg_total_relation_size(c.oid),"
                " (SELECT count(*) FROM " + table + ")"
                " FROM pg_class c WHERE c.relname = %s",
                (table,),
            ).fetchone()
            assert row is not None
            heap, toast, idx, total, rows = row
            lines.append(
                f"  {table:17} {rows:>9} rows {total / 2**20:9.1f} MB = {total / max(n, 1):8.0f}"
                f" B/article (heap {heap / max(n, 1):.0f}, toast {toast / max(n, 1):.0f},"
                f" indexes {idx / max(n, 1):.0f})"
            )
        idx_rows = conn.execute(
            "SELECT indexrelname, pg_relation_size(indexrelid) FROM pg_stat_user_indexes"
            " WHERE relname = 'articles' ORDER BY 2 DESC"
        ).fetchall()
        lines.append(
            "  articles indexes: "
            + ", ".join(f"{name} {size / max(n, 1):.0f}" for name, size in idx_rows)
            + " B/article"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 50000, 100000])
    parser.add_argument("--sources", type=int, default=500)
    parser.add_argument(
        "--fill-workers", type=int, default=1, help="processes copying articles at once"
    )
    parser.add_argument("--write-sample", type=int, default=1000)
    parser.add_argument(
        "--merge-every",
        type=int,
        default=1000,
        help="write samples merge the search index's pending list after this many articles, as"
        " the store pipeline does (NEWSINGEST_SEARCH_MERGE_ARTICLES); 0: never",
    )
    parser.add_argument(
        "--merge-between",
        action="store_true",
        help="merge between two batches, the store pipeline's way before it merged alongside",
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--data-dir", help="keep the embedded server's data here (reused)")
    parser.add_argument("--database-url", help="an empty database instead of the embedded one")
    parser.add_argument(
        "--measure-only", action="store_true", help="no filling: measure the database as it is"
    )
    parser.add_argument("--corpus", nargs="+", metavar="DIR", help="corpus folders (raw pages)")
    args = parser.parse_args(argv)
    install_sigterm_handler()
    from storage import migrate

    try:
        from _common import corpus_dirs

        htmls = [p.html for p in load_corpus(corpus_dirs(args.corpus), 300)]
    except SystemExit:
        htmls = []
    print(
        f"bench/scale.py: sizes {args.sizes}, {args.sources} sources, write samples of"
        f" {args.write_sample} ({'corpus' if htmls else 'synthetic'} pages); {load_average()}",
        flush=True,
    )
    results: dict[int, dict[str, Measurement]] = {}
    rates: list[tuple[int, WriteRate]] = []
    with database(args) as url, tempfile.TemporaryDirectory() as tmp:
        migrate.upgrade(url)
        print(f"  schema at {migrate.current_revision(url)}", flush=True)
        ids, keys = register_sources(url, args.sources)
        # An interrupted fill (COPY with explicit ids) may have left the sequence behind.
        scalar(
            url,
            "SELECT setval(pg_get_serial_sequence('articles', 'id'),"
            " coalesce((SELECT max(id) FROM articles), 0) + 1, false)",
        )
        world = make_world(args.sources, args.seed, ids, keys)
        sizes = (
            [int(scalar(url, "SELECT count(*) FROM articles"))] if args.measure_only else args.sizes
        )
        for size in sizes:
            have = int(scalar(url, "SELECT count(*) FROM articles"))
            if not args.measure_only:
                if have == 0 and args.write_sample:
                    rate = write_sample(
                        url,
                        world,
                        args.write_sample,
                        htmls,
                        args.merge_every,
                        not args.merge_between,
                    )
                    rates.append((0, rate))
                    print(f"  write path, empty database: {rate}")
                secs = bulk_fill(url, world, size, args.fill_workers)
                print(
                    f"  filled to {size} articles in {secs:.0f} s"
                    f" ({(size - have) / max(secs, 1e-9):.0f} rows/s by COPY); {load_average()}",
                    flush=True,
                )
            with contextlib.suppress(Exception):
                scalar(url, "VACUUM ANALYZE")
            n = int(scalar(url, "SELECT count(*) FROM articles"))
            print(f"  == {n} articles; {load_average()}", flush=True)
            results[n] = measure(url, keys, args.repeat, Path(tmp))
            if args.write_sample:
                rate = write_sample(
                    url, world, args.write_sample, htmls, args.merge_every, not args.merge_between
                )
                rates.append((n, rate))
                print(f"  write path at {n}: {rate}", flush=True)
        n = int(scalar(url, "SELECT count(*) FROM articles"))
        footprint = sizes_report(url, n)
    columns = sorted(results)
    names = list(next(iter(results.values())))
    print("\n| query (ms) | " + " | ".join(f"{c:,}" for c in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for name in names:
        print(f"| {name} | " + " | ".join(f"{results[c][name].ms:,.1f}" for c in columns) + " |")
    print("\nwrite path (upsert_articles, batches of 100, with raw pages):")
    for size, rate in rates:
        print(f"  at {size:>9,} articles: {rate}")
    print(f"\nbytes per article at {n:,} articles:")
    print("\n".join(footprint))
    print(f"\n{load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Field health at scale: what `health`, `status` and `metrics` read, and what the write path pays.

Usage::

    python bench/health.py [--sources 500] [--days 30] [--runs-per-day 24] [--repeat 5]

A fresh embedded PostgreSQL (temporary folder) is migrated to this checkout's head and
filled as ``--sources`` sources crawled ``--runs-per-day`` times a day for ``--days``
days would leave it: one ``crawl_runs`` row per crawl (with a ~1 KB stats document;
run ids grow with time, as a ledger's do),
its ``run_field_stats`` row, a ``source_daily_stats`` row per source and day, and two
fetch failures per crawl. Then, after ``ANALYZE``, the median of ``--repeat`` runs of:
`storage.fieldstats.source_field_stats` for every source and for one, ``status``'s
rows (`crawler.cli.runs.status_rows`: ledger facts and field counts), and the CLI's
``health --json`` and ``metrics`` as subprocesses (start-up included); the plans'
index names are printed. None of these reads ``articles`` (the plans say so), so their
cost follows the number of sources, days and runs, not of articles; ``status``'s
article counts are index ranges (bench/README.md, ``scale.py``).

Last, the write path: ``--batches`` batches of 100 records through
`storage.articles.upsert_articles`, one transaction each, with the field counts and
with them switched off (``articles._count_fields`` replaced by a no-op), alternating:
the median time of a batch each way.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO_ROOT, install_sigterm_handler


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


FILL = """
INSERT INTO crawl_runs (source_id, trigger, host, pid, status, started_at, finished_at, stats)
SELECT s.id, 'schedule', 'bench', 1, 'succeeded',
       now() - (g * interval '1 hour' * 24 / :per_day),
       now() - (g * interval '1 hour' * 24 / :per_day) + interval '2 minutes',
       jsonb_build_object('newsingest/store/inserted', 3, 'newsingest/store/updated', 1,
                          'newsingest/store/unchanged', 0, 'newsingest/fetch/articles', 5,
                          'elapsed_time_seconds', 60.5, 'padding', repeat('x', 900))
FROM sources AS s, generate_series(1, :runs) AS g
ORDER BY g DESC, s.id;

INSERT INTO run_field_stats (run_id, source_id, records, with_title, with_lead, with_authors,
    published_minute, published_day, language_agrees, rejected, words_hist, rejections)
SELECT id, source_id, 5, 5, 4, 4, 4, 1, 5, 1,
       '{0,0,0,0,0,1,1,1,1,1,0,0,0,0,0,0}', '{"too_short": 1}'
FROM crawl_runs;

INSERT INTO source_daily_stats (source_id, day, records, with_title, with_lead, with_authors,
    published_minute, published_day, language_agrees, rejected, words_hist, rejections)
SELECT s.id, current_date - d, 5 * :per_day, 5 * :per_day, 4 * :per_day, 4 * :per_day,
       4 * :per_day, :per_day, 5 * :per_day, :per_day,
       '{0,0,0,0,0,1,1,1,1,1,0,0,0,0,0,0}', '{"too_short": 1}'
FROM sources AS s, generate_series(0, :days - 1) AS d;

INSERT INTO fetch_failures (run_id, source_id, url, stage, reason, occurred_at)
SELECT r.id, r.source_id, 'https://x.example/' || r.id || '/' || k, 'fetch',
       CASE WHEN k = 1 THEN 'http_404' ELSE 'timeout' END, r.started_at
FROM crawl_runs AS r, generate_series(1, 2) AS k;
"""


def _plan_indexes(session: Any, sql: str, params: dict[str, Any]) -> str:
    from sqlalchemy import text

    lines = session.execute(text("EXPLAIN (ANALYZE) " + sql), params).scalars().all()
    used = sorted({ln.split(" using ")[1].split()[0] for ln in lines if " using " in ln})
    tables = sorted({ln.split(" on ")[1].split()[0] for ln in lines if "Seq Scan on" in ln})
    took = next((ln.strip() for ln in lines if ln.startswith("Execution Time")), "")
    return f"indexes {', '.join(used) or '-'}; seq scans {', '.join(tables) or 'none'}; {took}"


def _write_path(url: str, source_id: int, batches: int) -> tuple[float, float]:
    from crawler.extraction.record import ArticleRecord
    from storage import articles, db

    engine = db.make_engine(url, pool_size=1)
    sessions = db.make_session_factory(engine)
    real = articles._count_fields
    times: dict[bool, list[float]] = {True: [], False: []}
    try:
        for b in range(2 * batches):
            counted = b % 2 == 0
            records = []
            for i in range(100):
                body = f"Absatz {b} {i} " + "wort " * 400
                records.append(
                    ArticleRecord(
                        url=f"https://bench.example/{b}/{i}",
                        text=body,
                        content_hash=hashlib.sha256(body.encode()).hexdigest(),
                        simhash=(b * 100 + i) * 7919,
                        word_count=402,
                        extractor_version="bench",
                        title="Titel",
                        authors=("Anna Beispiel",),
                        language="de",
                        fetched_at=datetime.now(UTC),
                    )
                )
            items = [articles.StoredArticle(r, source_id) for r in records]
            articles._count_fields = real if counted else (lambda *_: None)
            t0 = time.perf_counter()
            with db.transaction(sessions) as session:
                articles.upsert_articles(session, items)
            times[counted].append((time.perf_counter() - t0) * 1000)
    finally:
        articles._count_fields = real
        engine.dispose()
    return statistics.median(times[True]), statistics.median(times[False])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=500)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs-per-day", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args(argv)
    install_sigterm_handler()

    from sqlalchemy import text

    from crawler.cli.runs import status_rows
    from crawler.health import Thresholds
    from crawler.sources import load_sources
    from storage import db, embedded, fieldstats, migrate
    from storage.sources import SourceRow, source_id, upsert_source

    data_dir = Path(tempfile.mkdtemp(prefix="newsingest-health-bench-"))
    try:
        url = embedded.start(data_dir)
        migrate.upgrade(url)
        engine = db.make_engine(url, pool_size=1)
        sessions = db.make_session_factory(engine)
        keys = [f"src-{i:04d}" for i in range(args.sources)]
        sources_file = data_dir / "sources.yaml"
        sources_file.write_text(
            "sources:\n"
            + "".join(
                f"  - {{key: {k}, url: 'https://{k}.example/', language: de}}\n" for k in keys
            ),
            encoding="utf-8",
        )
        t0 = time.perf_counter()
        with db.transaction(sessions) as session:
            for k in keys:
                upsert_source(
                    session,
                    SourceRow(key=k, name=k, url=f"https://{k}.example/", language="de"),
                )
            runs = args.days * args.runs_per_day
            for statement in FILL.split(";\n"):
                if statement.strip():
                    session.execute(
                        text(statement),
                        {"per_day": args.runs_per_day, "runs": runs, "days": args.days},
                    )
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
            counts = {
                t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("crawl_runs", "run_field_stats", "source_daily_stats", "fetch_failures")
            }
        print(f"filled in {time.perf_counter() - t0:.1f} s: "
              + ", ".join(f"{t} {n:,}" for t, n in counts.items()))  # fmt: skip

        now = datetime.now(UTC)
        sources = load_sources(sources_file)
        th = Thresholds(0.3, 0.3, 0.5, 10, args.days)
        with sessions() as session:
            for name, sql in (("days", fieldstats._DAYS), ("runs", fieldstats._RUNS)):
                params = {"keys": keys, "first": (now - timedelta(days=args.days - 1)).date(),
                          "since": now - timedelta(days=args.days), "runs": 50}  # fmt: skip
                print(f"plan {name}: {_plan_indexes(session, sql.text, params)}")
            table = {
                "source_field_stats, all sources": _median_ms(
                    lambda: fieldstats.source_field_stats(session, keys, now), args.repeat
                ),
                "source_field_stats, one source": _median_ms(
                    lambda: fieldstats.source_field_stats(session, keys[:1], now), args.repeat
                ),
            }
        table["status rows (ledger + field counts + verdicts)"] = _median_ms(
            lambda: status_rows(url, sources, now, th), args.repeat
        )
        env = {"NEWSINGEST_DATABASE_URL": url, "NEWSINGEST_DATA_DIR": str(data_dir / "cli"),
               "PATH": "/usr/bin:/bin"}  # fmt: skip
        for command in (["health", "--json"], ["status", "--json"], ["metrics"]):
            argv_ = [sys.executable, "-m", "crawler.cli", *command, "--sources", str(sources_file)]

            def cli(argv_: list[str] = argv_) -> object:
                return subprocess.run(
                    argv_, cwd=REPO_ROOT, env=env, capture_output=True, check=False
                )

            table[f"newsingest {' '.join(command)} (subprocess)"] = _median_ms(cli, args.repeat)
        print(f"load average after: {Path('/proc/loadavg').read_text().split()[:3]}")
        for label, ms in table.items():
            print(f"{label:55} {ms:9.1f} ms")
        with sessions() as session:
            sid = source_id(session, keys[0])
        assert sid is not None
        with_counts, without = _write_path(url, sid, args.batches)
        print(f"write path, batch of 100: {with_counts:.1f} ms with field counts, "
              f"{without:.1f} ms without (median of {args.batches} each)")  # fmt: skip
        engine.dispose()
    finally:
        embedded.stop(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Archive ingest throughput against the extraction ceiling, and its memory (issue 22).

For each ``--records N``: packs N corpus pages (repeated under distinct URLs) into a
gzip WARC (response + request records, `warc_read.write_warc`), runs
``newsingest warc FILE --source bench`` (a subprocess, ``--workers`` extraction
processes) into a fresh embedded PostgreSQL while sampling its process tree, then the
extraction ceiling over the same N pages (`crawl.ceiling`: the pipeline's process pool
fed from memory). Prints pages/s of both (the ingest's from the engine's elapsed time),
their ratio, and the ingest's peak RSS/PSS, with the load average.

    .venv/bin/python bench/warc_ingest.py [--records 1000 5000] [--workers N] [--corpus DIR...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    corpus_dirs,
    fresh_database,
    install_sigterm_handler,
    interleave,
    load_average,
    load_corpus,
    mb,
    scalar,
)
from crawl import _run_sampled as run_sampled
from crawl import ceiling
from warc_read import write_warc

SITE = "https://news.example"


def ingest(pages: list[bytes], records: int, workers: int, tmp: Path) -> dict[str, float]:
    """One ``newsingest warc`` of ``records`` pages into a fresh database: its figures."""
    path = tmp / f"bench-{records}.warc.gz"
    write_warc(path, pages, records, gzip=True)
    sources = tmp / "sources.yaml"
    sources.write_text(
        f"sources:\n  - key: bench\n    name: bench\n    url: {SITE}/\n", encoding="utf-8"
    )
    with fresh_database() as db:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSINGEST_")}
        env.update(NEWSINGEST_DATABASE_URL=db.url, NEWSINGEST_DATA_DIR=str(tmp / "data"))
        cmd = [
            sys.executable, "-m", "crawler.cli", "warc", str(path), "--source", "bench",
            "--sources", str(sources), "-s", f"NEWSINGEST_EXTRACT_WORKERS={workers}",
        ]  # fmt: skip
        phase, _, out = run_sampled("warc", cmd, env, db, tmp / f"warc-{records}.log")
        stats = json.loads(scalar(db.url, "SELECT stats::text FROM crawl_runs LIMIT 1"))
        articles = scalar(db.url, "SELECT count(*) FROM articles")
    seconds = float(stats.get("elapsed_time_seconds") or phase.wall)
    pages_done = int(stats.get("newsingest/fetch/articles") or 0)
    print(f"  {out.strip()}")
    return {
        "pages": pages_done,
        "articles": articles,
        "seconds": seconds,
        "wall": phase.wall,
        "pages_per_s": pages_done / seconds if seconds else 0.0,
        "peak_rss": phase.crawler.peak_rss,
        "peak_pss": phase.crawler.peak_pss,
        "file_mb": path.stat().st_size / 1e6,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--corpus", nargs="*", help="corpus folders (default ../shared/corpus)")
    parser.add_argument("--skip-ceiling", action="store_true")
    args = parser.parse_args(argv)
    install_sigterm_handler()
    dirs = corpus_dirs(args.corpus)
    pages = [p.html for p in interleave(load_corpus(dirs))]
    for records in args.records:
        print(f"{records} records, {args.workers} workers; {load_average()}", flush=True)
        with tempfile.TemporaryDirectory(prefix="newsingest-warc-ingest-") as tmp:
            got = ingest(pages, records, args.workers, Path(tmp))
        print(
            f"  ingest: {got['pages']} pages ({got['articles']} articles) in"
            f" {got['seconds']:.1f} s = {got['pages_per_s']:.1f} pages/s"
            f" (wall {got['wall']:.1f} s); file {got['file_mb']:.0f} MB;"
            f" peak RSS {mb(got['peak_rss'])}, PSS {mb(got['peak_pss'])}"
            f" (crawler tree); {load_average()}",
            flush=True,
        )
        if args.skip_ceiling:
            continue
        top = ceiling(dirs, records, args.workers, SITE)
        rate = top.pages / top.crawl_seconds if top.crawl_seconds else 0.0
        ratio = got["pages_per_s"] / rate if rate else 0.0
        print(
            f"  ceiling: {top.pages} pages in {top.crawl_seconds:.1f} s = {rate:.1f} pages/s;"
            f" ingest/ceiling = {ratio:.2f}; {load_average()}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Distributed crawl throughput: K local workers on scrapy-redis, and Redis commands per page.

    python bench/distributed.py [--pages 1500] [--workers 1 2 3] [--corpus DIR...]

For each K: a fresh embedded PostgreSQL and a fresh redis-server (from PATH, on a free
loopback port); ``newsingest crawl bench --distributed`` seeds the crawl and works on it,
and K - 1 ``newsingest worker`` processes join it, each with one extraction process. The
crawl time is from the first run's start to the last article stored (the workers' idle
wait before leaving is not counted). Redis commands are counted with ``INFO
commandstats`` before and after. On 2 cores expect the scaling to flatten at K = 2: the
crawl is CPU-bound on extraction.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    SiteSpec,
    StaticSite,
    corpus_dirs,
    fresh_database,
    install_sigterm_handler,
    load_average,
    scalar,
)

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _redis_calls(port: int) -> int:
    out = subprocess.run(
        ["redis-cli", "-p", str(port), "INFO", "commandstats"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    total = 0
    for line in out.splitlines():
        if line.startswith("cmdstat_") and "cmdstat_info" not in line:
            total += int(line.split("calls=", 1)[1].split(",", 1)[0])
    return total


def run(site: StaticSite, workers: int, tmp: Path) -> dict[str, float]:
    """One distributed crawl of the site with ``workers`` local worker processes."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not on PATH")
    port = _free_port()
    redis_dir = Path(tempfile.mkdtemp(prefix="newsingest-bench-redis-"))
    redis = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", redis_dir],
        stdout=subprocess.DEVNULL,
    )
    procs: list[subprocess.Popen[bytes]] = []
    try:
        time.sleep(0.5)
        sources = tmp / f"sources-{workers}.yaml"
        sources.write_text(
            "sources:\n"
            f"  - {{key: bench, url: '{site.base_url}/', sitemaps: [/sitemap.xml],"
            " max_age_days: 3650, article_urls: {allow: ['/article/\\d+\\.html$']}}\n",
            encoding="utf-8",
        )
        with fresh_database() as db:
            env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSINGEST_")}
            env.update(
                NEWSINGEST_DATABASE_URL=db.url,
                NEWSINGEST_DATA_DIR=str(tmp / f"data-{workers}"),
                NEWSINGEST_REDIS_URL=f"redis://127.0.0.1:{port}/0",
            )
            common = [
                "--sources",
                str(sources),
                "-s",
                "AUTOTHROTTLE_ENABLED=False",
                "-s",
                "CONCURRENT_REQUESTS_PER_DOMAIN=16",
                "-s",
                "NEWSINGEST_EXTRACT_WORKERS=1",
            ]
            cli = [sys.executable, "-m", "crawler.cli"]
            before = _redis_calls(port)
            started = time.monotonic()
            procs.append(
                subprocess.Popen(
                    [*cli, "crawl", "bench", "--distributed", "--idle-seconds", "3", *common],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            for _ in range(workers - 1):
                procs.append(
                    subprocess.Popen(
                        [*cli, "worker", "--idle-timeout", "10", "--idle-seconds", "3", *common],
                        cwd=ROOT,
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            for proc in procs:
                proc.wait(timeout=3600)
            wall = time.monotonic() - started
            calls = _redis_calls(port) - before
            articles = int(scalar(db.url, "SELECT count(*) FROM articles"))
            pages = int(
                scalar(
                    db.url,
                    "SELECT coalesce(sum((stats->>'newsingest/extract/pages')::int), 0)"
                    " FROM crawl_runs",
                )
            )
            span = float(
                scalar(
                    db.url,
                    "SELECT extract(epoch FROM (SELECT max(first_seen_at) FROM articles)"
                    " - (SELECT min(started_at) FROM crawl_runs))",
                )
                or wall
            )
            runs = int(scalar(db.url, "SELECT count(*) FROM crawl_runs"))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(redis_dir, ignore_errors=True)
    return {
        "workers": workers,
        "runs": runs,
        "pages": pages,
        "articles": articles,
        "crawl_s": span,
        "wall_s": wall,
        "pages_per_s": pages / span if span else 0.0,
        "redis_calls": calls,
        "redis_per_page": calls / pages if pages else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1500)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--corpus", nargs="+", metavar="DIR")
    args = parser.parse_args(argv)
    install_sigterm_handler()
    dirs = corpus_dirs(args.corpus)
    print(f"bench/distributed.py: {args.pages} pages, workers {args.workers}, {load_average()}")
    with (
        StaticSite(SiteSpec(tuple(map(str, dirs)), args.pages)) as site,
        tempfile.TemporaryDirectory(prefix="newsingest-bench-dist-") as tmp_name,
    ):
        for k in args.workers:
            r = run(site, k, Path(tmp_name))
            print(
                f"  K={k}: {r['pages']:.0f} pages, {r['articles']:.0f} articles stored by"
                f" {r['runs']:.0f} worker runs in {r['crawl_s']:.1f} s of crawl"
                f" ({r['wall_s']:.1f} s with the idle wait): {r['pages_per_s']:.1f} pages/s;"
                f" Redis: {r['redis_calls']:.0f} commands, {r['redis_per_page']:.1f} per page"
                f"  [{load_average()}]",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

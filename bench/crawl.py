"""Crawl throughput and footprint: newsingest against extraction alone and a naive crawler.

Usage::

    python bench/crawl.py [--pages 5000] [--workers CORES] [--skip-naive] [--corpus DIR...]

Serves a site on 127.0.0.1 from a fast static server in another process (pre-rendered
bytes in memory): ``--pages`` article URLs over real corpus pages (repeated under distinct
URLs), a sitemap index with sitemaps of 1,000 URLs, ``robots.txt`` and five listing pages.
Then, side by side:

1. ceiling: ``extract_timed`` over the same pages from memory in a process pool of
   ``--workers`` processes (forkserver, warmed up, as the pipeline runs it);
2. newsingest: ``newsingest crawl`` of the site into a fresh embedded PostgreSQL;
3. naive: ``bench/naive_spider.py`` (inline extraction, one insert per item) into
   another fresh embedded PostgreSQL.

For 2 and 3 it samples (psutil) the CPU seconds and the resident memory of the crawler's
process tree and of the PostgreSQL server's. Prints figures, never asserts: the machine
is shared, so the load average is printed next to every figure.

Longer than ~400 lines on purpose: the three runs and the site they share are one
experiment, printed side by side, kept a single file to run like every bench script.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    REPO_ROOT,
    SiteSpec,
    StaticSite,
    TreeSampler,
    TreeUsage,
    article_path,
    corpus_dirs,
    cpu_by_role,
    db_write_counters,
    fresh_database,
    install_sigterm_handler,
    interleave,
    load_average,
    load_corpus,
    mb,
    scalar,
    wait_for_low_load,
)

BENCH_SETTINGS = (
    "AUTOTHROTTLE_ENABLED=False",
    "ROBOTSTXT_OBEY=True",
    "LOG_LEVEL=WARNING",
)
"""Scrapy settings of both crawls (besides the concurrency ones)."""


@dataclass
class Phase:
    """Figures of one crawl."""

    name: str
    pages: int = 0
    articles: int = 0
    wall: float = 0.0
    """Seconds from process start to exit."""
    crawl_seconds: float = 0.0
    """Seconds Scrapy's engine ran (spider open to close)."""
    crawler: TreeUsage = field(default_factory=TreeUsage)
    postgres: TreeUsage = field(default_factory=TreeUsage)
    rows_written: int = 0
    commits: int = 0
    load_before: str = ""
    load_after: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.crawl_seconds if self.crawl_seconds else 0.0

    @property
    def pages_per_s_wall(self) -> float:
        return self.pages / self.wall if self.wall else 0.0


# --------------------------------------------------------------------------- ceiling


def _ready(_: int) -> int:
    return os.getpid()


class MachineClock:
    """CPU seconds of the whole machine (busy, idle, stolen) and of the site server."""

    def __init__(self, site_pid: int | None) -> None:
        self.site = psutil.Process(site_pid) if site_pid else None
        self.start = (psutil.cpu_times(), self._site_cpu())

    def _site_cpu(self) -> float:
        if self.site is None:
            return 0.0
        t = self.site.cpu_times()
        return float(t.user + t.system)

    def stop(self) -> dict[str, float]:
        times, site = psutil.cpu_times(), self._site_cpu()
        d = {f: getattr(times, f) - getattr(self.start[0], f) for f in times._fields}
        idle = d.get("idle", 0.0) + d.get("iowait", 0.0)
        steal = d.get("steal", 0.0)
        busy = sum(d.values()) - idle - steal - d.get("guest", 0.0) - d.get("guest_nice", 0.0)
        return {"busy": busy, "idle": idle, "steal": steal, "site": site - self.start[1]}


def _machine_line(p: Phase) -> str:
    m = p.extra.get("machine")
    if not m:
        return ""
    total = m["busy"] + m["idle"] + m["steal"]
    return (
        f"  machine over the phase: busy {m['busy']:.1f} s, idle {m['idle']:.1f} s,"
        f" stolen {m['steal']:.1f} s ({100 * m['idle'] / max(total, 1e-9):.0f} % idle);"
        f" site server {m['site']:.1f} s ({1000 * m['site'] / max(1, p.pages):.2f} ms/page)"
    )


def ceiling(dirs: list[Path], pages: int, workers: int, base: str) -> Phase:
    """Extraction alone over the pages from memory, in a pool like the pipeline's."""
    from crawler.extractpool import extract_timed, new_executor

    corpus = interleave(load_corpus(dirs))
    bodies = [corpus[i % len(corpus)].html for i in range(pages)]
    urls = [base + article_path(i) for i in range(pages)]
    phase = Phase("ceiling", load_before=load_average())
    with new_executor(workers) as pool:
        # Start and warm every worker before the clock starts.
        list(pool.map(_ready, range(workers * 8)))
        # One page per task and workers recycled every MAX_TASKS_PER_CHILD pages, as in
        # the pipeline; CPU time is read by a sampler following the fork server's children.
        server = next(
            c.pid for c in psutil.Process().children() if "forkserver" in " ".join(c.cmdline())
        )
        sampler = TreeSampler({"pool": lambda: server}, pss_every=1_000_000)
        with sampler:
            clock = MachineClock(None)
            started = time.perf_counter()
            results = list(pool.map(extract_timed, bodies, urls, [None] * pages))
            phase.crawl_seconds = phase.wall = time.perf_counter() - started
            phase.extra["machine"] = clock.stop()
        phase.extra["worker_cpu"] = cpu_by_role(sampler.usage["pool"]).get("worker", 0.0)
        phase.extra["workers_seen"] = sum(
            1 for role in sampler.usage["pool"].names.values() if role == "worker"
        )
    phase.load_after = load_average()
    phase.pages = pages
    phase.articles = sum(1 for r, _ in results if type(r).__name__ == "ArticleRecord")
    millis = sorted(ms for _, ms in results)
    phase.extra["ms_median"] = millis[len(millis) // 2]
    phase.extra["ms_mean"] = sum(millis) / len(millis)
    phase.extra["ms_p90"] = millis[int(len(millis) * 0.9)]
    return phase


# --------------------------------------------------------------------------- crawls


def _run_sampled(
    name: str,
    cmd: list[str],
    env: dict[str, str],
    db: Any,
    log: Path,
    profile: Path | None = None,
    site_pid: int | None = None,
) -> tuple[Phase, subprocess.CompletedProcess[str] | None, str]:
    """Run ``cmd`` while sampling its process tree and the database server's."""
    phase = Phase(name, load_before=load_average())
    before = db_write_counters(db.url)
    proc: subprocess.Popen[str] | None = None
    with log.open("w") as err:
        proc = subprocess.Popen(
            cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=err, text=True
        )
        pid = proc.pid
        sampler = TreeSampler({"crawler": lambda: pid, "postgres": db.postmaster_pid})
        spy: subprocess.Popen[bytes] | None = None
        if profile is not None:
            # py-spy (not a dependency: pip install py-spy) samples the crawler's main process.
            spy = subprocess.Popen(
                [
                    *(str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid)),
                    *("--rate", "50", "--format", "raw", "--nonblocking", "-o", str(profile)),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        try:
            with sampler:
                clock = MachineClock(site_pid)
                started = time.perf_counter()
                out, _ = proc.communicate()
                phase.wall = time.perf_counter() - started
                phase.extra["machine"] = clock.stop()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            if spy is not None:
                try:
                    spy.wait(30)
                except subprocess.TimeoutExpired:
                    spy.kill()
                    spy.wait()
    phase.load_after = load_average()
    phase.extra["log_bytes"] = log.stat().st_size
    after = db_write_counters(db.url)
    phase.rows_written = sum(after[k] - before[k] for k in ("inserted", "updated", "deleted"))
    phase.commits = after["commits"] - before["commits"]
    phase.crawler = sampler.usage["crawler"]
    phase.postgres = sampler.usage["postgres"]
    if proc.returncode != 0:
        print(f"  {name}: exit code {proc.returncode}; log in {log}:", file=sys.stderr)
        print(log.read_text()[-3000:], file=sys.stderr)
    return phase, None, out


def newsingest(
    site: StaticSite,
    workers: int,
    settings: list[str],
    tmp: Path,
    profile: Path | None = None,
    recrawl: bool = True,
) -> list[Phase]:
    """A full ``newsingest crawl`` of the site into a fresh embedded database, then
    (``recrawl``) the same crawl again into the same database: nothing new to fetch."""
    sources = tmp / "sources.yaml"
    sources.write_text(
        "sources:\n"
        "  - key: bench\n"
        "    name: bench site\n"
        f"    url: {site.base_url}/\n"
        "    sitemaps: [/sitemap.xml]\n"
        "    max_age_days: 3650\n"
        "    article_urls:\n"
        "      allow: ['/article/\\d+\\.html$']\n",
        encoding="utf-8",
    )
    phases: list[Phase] = []
    with fresh_database() as db:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSINGEST_")}
        env.update(NEWSINGEST_DATABASE_URL=db.url, NEWSINGEST_DATA_DIR=str(tmp / "data"))
        cmd = [sys.executable, "-m", "crawler.cli", "crawl", "bench", "--sources", str(sources)]
        for pair in [*BENCH_SETTINGS, f"NEWSINGEST_EXTRACT_WORKERS={workers}", *settings]:
            cmd += ["-s", pair]
        for name in ("newsingest", "recrawl")[: 2 if recrawl else 1]:
            phase, _, out = _run_sampled(
                name,
                cmd,
                env,
                db,
                tmp / f"{name}.log",
                profile if name == "newsingest" else None,
                site_pid=site.pid,
            )
            phase.extra["output"] = out.strip()
            phase.articles = int(scalar(db.url, "SELECT count(*) FROM articles"))
            phase.extra["pages_rows"] = int(scalar(db.url, "SELECT count(*) FROM pages"))
            phase.extra["failures"] = int(scalar(db.url, "SELECT count(*) FROM fetch_failures"))
            phase.extra["logical_rows"] = (
                phase.articles + phase.extra["pages_rows"] + phase.extra["failures"]
            )
            stats = scalar(db.url, "SELECT stats FROM crawl_runs ORDER BY id DESC LIMIT 1") or {}
            phase.extra["stats"] = stats
            phase.pages = int(stats.get("newsingest/extract/pages", 0))
            phase.crawl_seconds = float(stats.get("elapsed_time_seconds") or phase.wall)
            phases.append(phase)
    return phases


def naive(site: StaticSite, settings: list[str], tmp: Path) -> Phase:
    """The naive spider (inline extraction, one insert per item) into a fresh database."""
    with fresh_database(migrate=False) as db:
        cmd = [sys.executable, str(Path(__file__).with_name("naive_spider.py"))]
        cmd += ["--site", site.base_url, "--database-url", db.url]
        for pair in [*BENCH_SETTINGS, *settings]:
            cmd += ["-s", pair]
        phase, _, out = _run_sampled(
            "naive", cmd, dict(os.environ), db, tmp / "naive.log", site_pid=site.pid
        )
        last = out.strip().splitlines()[-1] if out.strip() else "{}"
        result = json.loads(last)
        phase.articles = int(scalar(db.url, "SELECT count(*) FROM naive_articles") or 0)
        phase.extra["logical_rows"] = phase.articles
    phase.pages = int(result.get("responses", 0))
    phase.crawl_seconds = float(result.get("scrapy_elapsed") or phase.wall)
    phase.extra.update(result)
    return phase


# --------------------------------------------------------------------------- report


def _print_phase(p: Phase) -> None:
    print(f"\n== {p.name}  [{p.load_before} -> {p.load_after}]")
    if p.name == "ceiling":
        print(
            f"  {p.pages} pages in {p.wall:.1f} s: {p.pages_per_s:.1f} pages/s"
            f" ({p.articles} records, {p.pages - p.articles} rejections)"
        )
        print(
            f"  extract_timed per page: median {p.extra['ms_median']:.1f} ms,"
            f" mean {p.extra['ms_mean']:.1f} ms, p90 {p.extra['ms_p90']:.1f} ms;"
            f" worker CPU {p.extra['worker_cpu']:.1f} s"
            f" ({1000 * p.extra['worker_cpu'] / max(1, p.pages):.1f} ms/page)"
        )
        print(_machine_line(p))
        return
    if p.name == "recrawl":
        s = p.extra.get("stats", {})
        print(
            f"  re-crawl of the unchanged site: crawl {p.crawl_seconds:.2f} s"
            f" (process {p.wall:.2f} s); {s.get('downloader/request_count', 0)} requests,"
            f" {p.pages} pages extracted, {s.get('newsingest/incremental/skipped_stored', 0)}"
            f" article URLs skipped as stored, {s.get('newsingest/store/inserted', 0)} inserted;"
            f" run: {p.extra.get('output')}"
        )
        roles = cpu_by_role(p.crawler)
        detail = ", ".join(f"{k} {v:.1f}" for k, v in sorted(roles.items(), key=lambda kv: -kv[1]))
        print(
            f"  CPU crawler: {p.crawler.cpu_total:.1f} s [{detail}]; postgres:"
            f" {p.postgres.cpu_total:.1f} s; peak memory crawler PSS {mb(p.crawler.peak_pss)},"
            f" postgres PSS {mb(p.postgres.peak_pss)}"
        )
        print(_machine_line(p))
        return
    print(
        f"  {p.pages} pages extracted, {p.articles} articles stored;"
        f" crawl {p.crawl_seconds:.1f} s (process {p.wall:.1f} s)"
    )
    print(
        f"  {p.pages_per_s:.1f} pages/s, {p.articles / p.crawl_seconds:.1f} articles stored/s"
        f" (over the whole process: {p.pages_per_s_wall:.1f} pages/s)"
    )
    pages = max(1, p.pages)
    for label, usage in (("crawler", p.crawler), ("postgres", p.postgres)):
        roles = cpu_by_role(usage)
        detail = ", ".join(f"{k} {v:.1f}" for k, v in sorted(roles.items(), key=lambda kv: -kv[1]))
        print(
            f"  CPU {label}: {usage.cpu_total:.1f} s ({1000 * usage.cpu_total / pages:.1f} ms/page;"
            f" {usage.cpu_total / p.wall:.2f} cores) [{detail}]"
        )
    print(_machine_line(p))
    print(
        f"  peak memory crawler+workers: RSS {mb(p.crawler.peak_rss)}, PSS {mb(p.crawler.peak_pss)}"
        f" ({p.crawler.peak_count} processes); postgres: RSS {mb(p.postgres.peak_rss)},"
        f" PSS {mb(p.postgres.peak_pss)}; whole crawl: RSS"
        f" {mb(p.crawler.peak_rss + p.postgres.peak_rss)},"
        f" PSS {mb(p.crawler.peak_pss + p.postgres.peak_pss)}"
    )
    for label, usage in (("crawler", p.crawler), ("postgres", p.postgres)):
        role_rss = ", ".join(f"{k} {mb(v)}" for k, v in sorted(usage.peak_by_role.items()))
        print(f"    RSS by role at the {label} peak: {role_rss}")
    rows = int(p.extra.get("logical_rows", 0))
    print(
        f"  database: {rows} table rows written"
        f" ({rows / p.crawl_seconds:.1f} rows/s over the crawl);"
        f" {p.rows_written} heap tuples incl. TOAST chunks and updates (pg_stat_database,"
        f" {p.rows_written / p.crawl_seconds:.0f}/s), {p.commits} commits"
    )
    if p.name == "newsingest":
        s = p.extra.get("stats", {})
        rejected = {
            k.rsplit("/", 1)[1]: v
            for k, v in s.items()
            if k.startswith("newsingest/extract/rejected/")
        }
        print(
            f"  run: {p.extra.get('output')}; rows: pages {p.extra.get('pages_rows')},"
            f" fetch_failures {p.extra.get('failures')}; rejected {rejected};"
            f" store batches {s.get('newsingest/store/batches')},"
            f" merged {s.get('newsingest/store/merged', 0)},"
            f" extraction ms in workers {s.get('newsingest/extract/ms_total')};"
            f" stderr {mb(p.extra.get('log_bytes', 0))}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=5000, help="article URLs (default 5000)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--corpus", nargs="+", metavar="DIR", help="corpus folders")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--skip-ceiling", action="store_true")
    parser.add_argument("--skip-newsingest", action="store_true")
    parser.add_argument(
        "--concurrency", type=int, default=16, help="CONCURRENT_REQUESTS_PER_DOMAIN (default 16)"
    )
    parser.add_argument(
        "-s",
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra Scrapy/NEWSINGEST_* setting for the newsingest crawl (repeatable)",
    )
    parser.add_argument(
        "--wait-load",
        type=float,
        default=0.0,
        help="before each phase, wait (up to 5 min) for the 1-min load to drop below this",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="record the newsingest crawler's main process with py-spy (raw stacks) to this file",
    )
    parser.add_argument(
        "--skip-recrawl",
        action="store_true",
        help="no second newsingest crawl of the unchanged site",
    )
    args = parser.parse_args(argv)
    install_sigterm_handler()
    dirs = corpus_dirs(args.corpus)
    conc = [f"CONCURRENT_REQUESTS_PER_DOMAIN={args.concurrency}", "CONCURRENT_REQUESTS=32"]
    print(
        f"bench/crawl.py: {args.pages} pages, {args.workers} extraction workers,"
        f" {os.cpu_count()} cores, corpus {', '.join(str(d) for d in dirs)}"
    )
    print(f"  crawl settings: {' '.join([*BENCH_SETTINGS, *conc, *args.set])}")
    print(f"  {load_average()}")
    phases: dict[str, Phase] = {}
    with (
        StaticSite(SiteSpec(tuple(map(str, dirs)), args.pages)) as site,
        tempfile.TemporaryDirectory(prefix="newsingest-bench-crawl-") as tmp_name,
    ):
        tmp = Path(tmp_name)
        print(f"  site at {site.base_url}/ (server pid {site.pid})", flush=True)
        if not args.skip_ceiling:
            wait_for_low_load(args.wait_load, 300)
            phases["ceiling"] = ceiling(dirs, args.pages, args.workers, site.base_url)
            _print_phase(phases["ceiling"])
        if not args.skip_newsingest:
            wait_for_low_load(args.wait_load, 300)
            for phase in newsingest(
                site, args.workers, [*conc, *args.set], tmp, args.profile, not args.skip_recrawl
            ):
                phases[phase.name] = phase
                _print_phase(phase)
        if not args.skip_naive:
            wait_for_low_load(args.wait_load, 300)
            phases["naive"] = naive(site, conc, tmp)
            _print_phase(phases["naive"])
    ours = phases.get("newsingest")
    print(f"\n== ratios  [{load_average()}]")
    if ours and "recrawl" in phases:
        again = phases["recrawl"]
        print(
            f"  recrawl/newsingest: {again.crawl_seconds / ours.crawl_seconds:.3f} (crawl time;"
            f" {again.wall / ours.wall:.3f} over the whole process) -- target < 0.10"
        )
    if ours and "ceiling" in phases:
        c = phases["ceiling"]
        print(
            f"  newsingest/ceiling: {ours.pages_per_s / c.pages_per_s:.2f} (pages/s over the"
            f" crawl; {ours.pages_per_s_wall / c.pages_per_s:.2f} over the whole process)"
            " -- target >= 0.85"
        )
    if ours and "naive" in phases:
        n = phases["naive"]
        print(
            f"  newsingest/naive: {ours.pages_per_s / n.pages_per_s:.2f} (pages/s over the"
            f" crawl; {ours.pages_per_s_wall / n.pages_per_s_wall:.2f} over the whole process)"
            " -- target >= 2"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

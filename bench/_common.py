"""Shared helpers of the benchmarks: corpus loading, load average, a fresh embedded
PostgreSQL, a fast static news site in another process, and a process-tree sampler.

Not a test helper and not part of the package: the bench scripts import it as a sibling
module (``bench/`` is on ``sys.path`` when a script in it runs).

Longer than ~400 lines on purpose: the one module the bench scripts share, so that each
script stays a single file to run; its helpers are independent of one another.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

DEFAULT_CORPORA = (
    REPO_ROOT.parent / "shared" / "corpus" / "scrapinghub",
    REPO_ROOT.parent / "shared" / "corpus" / "trafilatura",
)
"""Default corpus folders (``../shared/corpus`` relative to the repository root)."""

ARTICLES_PER_SITEMAP = 1000
LISTING_LINKS = 50
LISTING_PAGES = 5


# --------------------------------------------------------------------------- corpus


@dataclass(frozen=True, slots=True)
class CorpusPage:
    """One page of a corpus: its id, annotated language (or None) and raw HTML bytes."""

    corpus: str
    id: str
    language: str | None
    html: bytes


def corpus_dirs(given: Sequence[str] | None) -> list[Path]:
    """The corpus folders to use; exits with a clear message when one is missing."""
    dirs = [Path(d) for d in given] if given else list(DEFAULT_CORPORA)
    missing = [d for d in dirs if not (d / "manifest.jsonl").is_file()]
    if missing:
        names = ", ".join(str(d) for d in missing)
        raise SystemExit(
            f"error: no corpus at {names} (a folder with manifest.jsonl and html/*.html.gz; "
            "see ../shared/corpus/README.md). Pass --corpus DIR..."
        )
    return dirs


def load_corpus(dirs: Sequence[Path], limit: int | None = None) -> list[CorpusPage]:
    """Pages of the corpora in manifest order (``limit`` per corpus when given)."""
    pages: list[CorpusPage] = []
    for folder in dirs:
        count = 0
        with (folder / "manifest.jsonl").open(encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                entry = json.loads(line)
                path = folder / entry["html_path"]
                try:
                    html = gzip.decompress(path.read_bytes())
                except OSError as exc:
                    print(f"warning: skipping {path}: {exc}", file=sys.stderr)
                    continue
                pages.append(CorpusPage(folder.name, str(entry["id"]), entry.get("language"), html))
                count += 1
                if limit is not None and count >= limit:
                    break
    if not pages:
        raise SystemExit(f"error: no pages in {', '.join(map(str, dirs))}")
    return pages


def interleave(pages: Sequence[CorpusPage]) -> list[CorpusPage]:
    """Pages of several corpora interleaved (so any prefix mixes them as the whole does)."""
    by_corpus: dict[str, list[CorpusPage]] = {}
    for page in pages:
        by_corpus.setdefault(page.corpus, []).append(page)
    total = len(pages)
    keyed: list[tuple[float, int, CorpusPage]] = []
    for order, group in enumerate(by_corpus.values()):
        for i, page in enumerate(group):
            keyed.append(((i + 0.5) * total / len(group), order, page))
    keyed.sort(key=lambda k: (k[0], k[1]))
    return [page for _, _, page in keyed]


# --------------------------------------------------------------------------- machine load


def load_average() -> str:
    """The load average as ``uptime`` prints it, with the core count."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} cores"


def wait_for_low_load(threshold: float, max_wait: float) -> None:
    """Wait (up to ``max_wait`` seconds) until the 1-minute load is below ``threshold``."""
    if threshold <= 0:
        return
    deadline = time.monotonic() + max_wait
    while os.getloadavg()[0] >= threshold and time.monotonic() < deadline:
        print(f"  waiting for the load to drop below {threshold} ({load_average()})", flush=True)
        time.sleep(15)


def install_sigterm_handler() -> None:
    """SIGTERM raises SystemExit, so ``finally`` blocks stop servers on ``kill`` too."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


# --------------------------------------------------------------------------- database


@dataclass
class FreshDatabase:
    """A new embedded PostgreSQL in a temporary folder (``url``), migrated."""

    data_dir: Path
    url: str

    def postmaster_pid(self) -> int | None:
        from storage import embedded

        return embedded.running_pid(self.data_dir)


@contextlib.contextmanager
def fresh_database(
    prefix: str = "newsingest-bench-", migrate: bool = True
) -> Iterator[FreshDatabase]:
    """Start an embedded PostgreSQL in a new temp folder; stop and delete it afterwards."""
    from storage import embedded
    from storage import migrate as migrations

    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        url = embedded.start(data_dir)
        if migrate:
            migrations.upgrade(url)
        yield FreshDatabase(data_dir, url)
    finally:
        try:
            embedded.stop(data_dir)
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)


def db_write_counters(url: str) -> dict[str, int]:
    """Rows inserted/updated/deleted so far in the database of ``url`` (pg_stat_database)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        row = conn.execute(
            "SELECT tup_inserted, tup_updated, tup_deleted, xact_commit"
            " FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    return {"inserted": row[0], "updated": row[1], "deleted": row[2], "commits": row[3]}


def scalar(url: str, sql: str) -> Any:
    """One value of one query."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(sql).fetchone()
    return row[0] if row else None


# --------------------------------------------------------------------------- static site


@dataclass(frozen=True, slots=True)
class SiteSpec:
    """What the static site serves: ``pages`` article URLs over the corpus pages."""

    corpus: tuple[str, ...]
    pages: int


def article_path(i: int) -> str:
    """Path of article number ``i`` on the bench site."""
    return f"/article/{i}.html"


def _response(status: str, body: bytes, content_type: str) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode("ascii") + body


def _site_routes(spec: SiteSpec, base: str) -> tuple[dict[bytes, bytes], list[bytes]]:
    """Pre-rendered responses: fixed routes, and one response per distinct corpus page."""
    pages = interleave(load_corpus([Path(d) for d in spec.corpus]))
    html_type = "text/html; charset=utf-8"
    articles = [_response("200 OK", p.html, html_type) for p in pages]
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    routes: dict[bytes, bytes] = {}
    robots = f"User-agent: *\nAllow: /\nSitemap: {base}/sitemap.xml\n".encode()
    routes[b"/robots.txt"] = _response("200 OK", robots, "text/plain; charset=utf-8")
    n_maps = max(1, -(-spec.pages // ARTICLES_PER_SITEMAP))
    index = ['<?xml version="1.0" encoding="UTF-8"?>']
    index.append('<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">')
    for k in range(n_maps):
        index.append(
            f"<sitemap><loc>{base}/sitemap-{k}.xml</loc><lastmod>{today}</lastmod></sitemap>"
        )
        lines = ['<?xml version="1.0" encoding="UTF-8"?>']
        lines.append('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">')
        stop = min(spec.pages, (k + 1) * ARTICLES_PER_SITEMAP)
        for i in range(k * ARTICLES_PER_SITEMAP, stop):
            lines.append(f"<url><loc>{base}{article_path(i)}</loc><lastmod>{today}</lastmod></url>")
        lines.append("</urlset>")
        body = "\n".join(lines).encode()
        routes[f"/sitemap-{k}.xml".encode()] = _response("200 OK", body, "application/xml")
    index.append("</sitemapindex>")
    routes[b"/sitemap.xml"] = _response("200 OK", "\n".join(index).encode(), "application/xml")
    for p in range(1, LISTING_PAGES + 1):
        start = (p - 1) * LISTING_LINKS
        links = "\n".join(
            f'<li><a href="{article_path(i)}">Article number {i}</a></li>'
            for i in range(start, min(spec.pages, start + LISTING_LINKS))
        )
        nxt = f'<a rel="next" href="/page/{p + 1}">Next</a>' if p < LISTING_PAGES else ""
        body = (
            f"<!DOCTYPE html><html><head><title>Bench news, page {p}</title></head>"
            f"<body><h1>Latest news</h1><ul>{links}</ul>{nxt}</body></html>"
        ).encode()
        path = b"/" if p == 1 else f"/page/{p}".encode()
        routes[path] = _response("200 OK", body, html_type)
    return routes, articles


_NOT_FOUND = _response("404 Not Found", b"not found", "text/plain")


def _serve(spec: SiteSpec, conn: Any) -> None:
    """Child process: serve the site on 127.0.0.1 until SIGTERM; sends the port first."""
    import socket

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us (Ctrl-C hits the group)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    port = sock.getsockname()[1]
    routes, articles = _site_routes(spec, f"http://127.0.0.1:{port}")
    prefix, suffix = b"/article/", b".html"
    served = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                target = request.split(b" ", 2)[1].split(b"?", 1)[0]
                response = routes.get(target)
                if response is None and target.startswith(prefix) and target.endswith(suffix):
                    number = target[len(prefix) : -len(suffix)]
                    if number.isdigit() and int(number) < spec.pages:
                        response = articles[int(number) % len(articles)]
                writer.write(response or _NOT_FOUND)
                served[0] += 1
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, sock=sock, backlog=512)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        conn.send(port)
        async with server:
            await stop.wait()

    asyncio.run(main())


class StaticSite:
    """The bench site served from memory by an asyncio server in a child process."""

    def __init__(self, spec: SiteSpec) -> None:
        self.spec = spec
        self._process: multiprocessing.process.BaseProcess | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def __enter__(self) -> StaticSite:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(self.spec, child), daemon=True)
        self._process.start()
        if not parent.poll(120):
            self.stop()
            raise RuntimeError("the static site did not start within 120 s")
        self.port = int(parent.recv())
        return self

    def stop(self) -> None:
        proc = self._process
        if proc is None:
            return
        if proc.is_alive():
            proc.terminate()
            proc.join(10)
        if proc.is_alive():
            proc.kill()
            proc.join(5)
        self._process = None

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- sampling


@dataclass
class TreeUsage:
    """CPU seconds (user+system) and memory of a group of processes over a run."""

    cpu: dict[int, float] = field(default_factory=dict)
    """Last seen CPU seconds of every process ever seen (pid -> seconds)."""
    names: dict[int, str] = field(default_factory=dict)
    peak_rss: int = 0
    """Peak of the summed RSS of the group (bytes)."""
    peak_pss: int = 0
    """Peak of the summed PSS of the group (bytes; shared pages split between sharers)."""
    peak_count: int = 0
    peak_by_role: dict[str, int] = field(default_factory=dict)
    """RSS by process role in the sample with the peak summed RSS."""

    @property
    def cpu_total(self) -> float:
        return sum(self.cpu.values())


class TreeSampler:
    """Samples, in a thread, the process trees under some root pids (psutil).

    ``groups`` maps a group name to a function returning its root pid (or None). For each
    group: per-process CPU seconds (the last value seen, so processes that exit keep
    their use up to the last sample), peak summed RSS, and peak summed PSS (sampled at
    a lower rate: reading smaps costs more).
    """

    def __init__(
        self,
        groups: dict[str, Callable[[], int | None]],
        interval: float = 0.25,
        pss_every: int = 8,
        baseline: bool = True,
    ) -> None:
        self.groups = groups
        self.interval = interval
        self.pss_every = pss_every
        self.usage = {name: TreeUsage() for name in groups}
        self._base: dict[str, dict[int, float]] = {name: {} for name in groups}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._baseline = baseline
        self._procs: dict[int, Any] = {}

    def __enter__(self) -> TreeSampler:
        if self._baseline:
            # Processes already running (a database server) count from now on only.
            for name in self.groups:
                for proc in self._tree(name):
                    with contextlib.suppress(Exception):
                        t = proc.cpu_times()
                        self._base[name][proc.pid] = t.user + t.system
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if not self._stop.is_set():
            self._stop.set()
            self._thread.join()
            self.sample(with_pss=False)

    def _proc(self, pid: int) -> Any:
        import psutil  # type: ignore[import-untyped]

        proc = self._procs.get(pid)
        if proc is None:
            proc = psutil.Process(pid)
            self._procs[pid] = proc
        return proc

    def _tree(self, name: str) -> list[Any]:
        import psutil

        pid = self.groups[name]()
        if pid is None:
            return []
        try:
            root = self._proc(pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    def sample(self, with_pss: bool) -> None:
        import psutil

        for name in self.groups:
            usage = self.usage[name]
            base = self._base[name]
            rss = pss = count = 0
            by_role: dict[str, int] = {}
            for proc in self._tree(name):
                try:
                    with proc.oneshot():
                        t = proc.cpu_times()
                        mem = proc.memory_info()
                        if proc.pid not in usage.names:
                            usage.names[proc.pid] = _role(proc)
                    if with_pss:
                        pss += proc.memory_full_info().pss
                except psutil.Error:
                    continue
                usage.cpu[proc.pid] = t.user + t.system - base.get(proc.pid, 0.0)
                rss += mem.rss
                count += 1
                role = usage.names.get(proc.pid, "?")
                by_role[role] = by_role.get(role, 0) + mem.rss
            if rss > usage.peak_rss:
                usage.peak_by_role = by_role
            usage.peak_rss = max(usage.peak_rss, rss)
            usage.peak_count = max(usage.peak_count, count)
            if with_pss:
                usage.peak_pss = max(usage.peak_pss, pss)

    def _run(self) -> None:
        n = 0
        while not self._stop.wait(self.interval):
            self.sample(with_pss=n % self.pss_every == 0)
            n += 1


def _role(proc: Any) -> str:
    """A short name for a process: postgres backend kinds, python role."""
    try:
        cmd = proc.cmdline()
    except Exception:
        return "?"
    text = " ".join(cmd)
    if "postgres" in proc.name() or text.startswith("postgres"):
        if ":" not in text:
            return "postgres: postmaster"
        kind = text.split(":", 1)[1].strip()
        if "[local]" in kind or "(" in kind:
            return "postgres: backend"
        return "postgres: " + (kind.split() or ["?"])[0]
    if "forkserver" in text:
        # Workers are forked by the fork server: same command line, the server as parent.
        with contextlib.suppress(Exception):
            parent = proc.parent()
            if parent is not None and "forkserver" in " ".join(parent.cmdline()):
                return "worker"
        return "forkserver"
    if "multiprocessing" in text or "spawn_main" in text:
        return "worker"
    return "main"


def cpu_by_role(usage: TreeUsage) -> dict[str, float]:
    """CPU seconds per process role (``main``, ``worker``, postgres kinds...)."""
    out: dict[str, float] = {}
    for pid, seconds in usage.cpu.items():
        role = usage.names.get(pid, "?")
        out[role] = out.get(role, 0.0) + seconds
    return out


def mb(n: float) -> str:
    """Bytes as MB with no decimals."""
    return f"{n / 1e6:.0f} MB"

"""Fixtures for failure-mode tests: a slow generated news site, crawls run as background
processes, and a real database outage (connections refused and cut) on the scratch database.

The outage never touches the session's server itself: ``ALTER DATABASE ... ALLOW_CONNECTIONS
false`` on the scratch database plus ``pg_terminate_backend`` of its sessions, undone at the
end of the ``with`` block.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crawler.demo.server import SiteServer
from storage import db
from storage.models import Article
from tests.integration.conftest import PROJECT, Cli, write_sources

ARTICLES = 40
"""Articles on the slow site."""

FAST = [
    "-s", "AUTOTHROTTLE_ENABLED=False",
    "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2",
    "-s", "DOWNLOAD_DELAY=0.25",
    "-s", "DOWNLOAD_DELAY_JITTER=0",
    "-s", "NEWSINGEST_STORE_BATCH_SIZE=2",
    "-s", "NEWSINGEST_STORE_FLUSH_SECONDS=0.3",
    "-s", "NEWSINGEST_EXTRACT_WORKERS=1",
]  # fmt: skip

_WORDS = (
    "harbour", "council", "budget", "strike", "school", "river", "bridge", "election",
    "museum", "railway", "tram", "hospital", "market", "festival", "library", "theatre",
    "football", "weather", "police", "court", "mayor", "teachers", "workers", "farmers",
    "energy", "prices", "housing", "rent", "water", "forest", "winter", "summer",
)  # fmt: skip


def article_html(i: int) -> str:
    """A distinct English article (passes extraction: enough text, a title, a date)."""
    words = [_WORDS[(i * 7 + k * 3) % len(_WORDS)] for k in range(12)]
    paras = "".join(
        f"<p>Report {i}.{p}: the {words[p]} and the {words[p + 1]} were discussed by the "
        f"city council on Tuesday, when {p + i} members asked for a decision on the "
        f"{words[p + 2]} before the end of the {words[p + 3]} season.</p>"
        for p in range(8)
    )
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Story {i} about the {words[0]}</title>"
        f"<meta property='article:published_time' content='__TODAY__T08:00:00Z'></head>"
        f"<body><article><h1>Story {i} about the {words[0]}</h1>{paras}</article>"
        f"</body></html>"
    )


def make_slow_site(root: Path, *, articles: int = ARTICLES, delay: float = 0.3) -> Path:
    """A site whose ``articles`` article pages each take ``delay`` seconds to answer."""
    (root / "news").mkdir(parents=True)
    links = "".join(
        f"<li><a href='/news/story-{i}.html'>Story {i}</a></li>" for i in range(articles)
    )
    (root / "index.html").write_text(
        f"<!DOCTYPE html><html><body><ul>{links}</ul></body></html>", encoding="utf-8"
    )
    (root / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
    routes: dict[str, Any] = {}
    for i in range(articles):
        (root / "news" / f"story-{i}.html").write_text(article_html(i), encoding="utf-8")
        routes[f"/news/story-{i}.html"] = {"delay": delay, "file": f"news/story-{i}.html"}
    (root / "_routes.json").write_text(json.dumps(routes), encoding="utf-8")
    return root


@pytest.fixture
def slow_site(tmp_path: Path) -> Iterator[SiteServer]:
    with SiteServer(make_slow_site(tmp_path / "site")) as server:
        yield server


@pytest.fixture
def slow_sources(tmp_path: Path, slow_site: SiteServer) -> Path:
    return write_sources(
        tmp_path / "sources.yaml", slow_site.base_url, listings="[/]", listing_depth=0
    )


def article_paths(site: SiteServer) -> list[str]:
    """Article pages the site answered, in order."""
    return [p for p in site.requested_paths() if p.startswith("/news/")]


def count_articles(sessions: sessionmaker[Session]) -> int:
    try:
        with sessions() as session:
            return int(session.execute(select(func.count()).select_from(Article)).scalar_one())
    except Exception:  # the database is blocked right now
        return -1


def wait_until(
    predicate: Callable[[], bool],
    timeout: float = 60.0,
    what: str = "",
    crawl: Crawl | None = None,
) -> None:
    """Poll ``predicate`` until true; fail after ``timeout`` seconds (a guard, not a timing).

    With ``crawl``, a failure shows the end of the crawl's log (the crawl is killed).
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline or (crawl is not None and crawl.proc.poll() is not None):
            log = ""
            if crawl is not None:
                if crawl.proc.poll() is None:  # dump every thread's stack (faulthandler)
                    crawl.signal(signal.SIGABRT)
                    time.sleep(2)
                    crawl.kill_group()
                crawl.proc.wait(timeout=30)
                lines = [x for x in crawl.stderr.splitlines() if "Scraped from" not in x]
                log = "\n".join(line[:300] for line in lines[-60:])
            pytest.fail(f"gave up waiting for {what or predicate}\n{log}")
        time.sleep(0.1)


@dataclass
class Crawl:
    """A ``newsingest crawl`` running in the background, its output going to files."""

    proc: subprocess.Popen[str]
    log_dir: Path
    copiers: list[threading.Thread]

    @property
    def stdout(self) -> str:
        return (self.log_dir / "stdout.txt").read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return (self.log_dir / "stderr.txt").read_text(encoding="utf-8", errors="replace")

    def wait(self, timeout: float = 180) -> tuple[int, str, str]:
        code = self.proc.wait(timeout=timeout)
        for thread in self.copiers:  # the pipes end with the crawl's process group
            thread.join(timeout=30)
        return code, self.stdout, self.stderr

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def kill_group(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)


_LIMITED = (
    "import resource, runpy, signal, sys\n"
    "limit = int(sys.argv.pop(1))\n"
    "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG\n"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))\n"
    "sys.argv[0] = 'newsingest'\n"
    "runpy.run_module('crawler.cli', run_name='__main__', alter_sys=True)\n"
)


def _copy(stream: Any, path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for line in stream:
            out.write(line)
            out.flush()


def start_crawl(
    cli: Cli, sources: Path, *extra: str, file_size_limit: int = 0, log_level: str = "WARNING"
) -> Crawl:
    """Start a crawl; ``file_size_limit`` > 0 caps the size of files it may write."""
    if file_size_limit:
        launcher = [sys.executable, "-c", _LIMITED, str(file_size_limit)]
    else:
        launcher = [sys.executable, "-m", "crawler.cli"]
    log_dir = Path(tempfile.mkdtemp(prefix="crawl-", dir=cli.data_dir.parent))
    args = ["--log-level", log_level, "crawl", "site", "--sources", str(sources), *FAST, *extra]
    proc = subprocess.Popen(
        [*launcher, *args],
        cwd=PROJECT,
        env=cli.env(PYTHONFAULTHANDLER="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    # Pipes copied to files by this process: the crawl's own file writes may be limited.
    copiers = [
        threading.Thread(target=_copy, args=(stream, log_dir / name), daemon=True)
        for stream, name in ((proc.stdout, "stdout.txt"), (proc.stderr, "stderr.txt"))
    ]
    for thread in copiers:
        thread.start()
    return Crawl(proc, log_dir, copiers)


@pytest.fixture
def crawls() -> Iterator[list[Crawl]]:
    """Crawls started by a test; any still running at its end are killed."""
    started: list[Crawl] = []
    yield started
    for crawl in started:
        if crawl.proc.poll() is None:
            crawl.kill_group()
            crawl.proc.wait(timeout=30)


@pytest.fixture
def outage(pg_server: str, database_url: str) -> Callable[..., Any]:
    """``with outage(): ...``: the scratch database refuses and cuts every connection
    (``with outage(spare=name)``: every connection but those named ``name``)."""
    name = conninfo_to_dict(db.libpq_url(database_url))["dbname"]
    admin = db.libpq_url(pg_server)

    @contextmanager
    def blocked(spare: str = "") -> Iterator[None]:
        """``spare``: the application name of connections the outage leaves open (a
        test's own, opened before it), so the test can act while everyone else is cut."""
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()"
                " AND application_name IS DISTINCT FROM %s",
                (name, spare or None),
            )
        try:
            yield
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

    return blocked


def spool_files(data_dir: Path) -> list[Path]:
    folder = data_dir / "spool"
    return sorted(folder.glob("*.jsonl*")) if folder.is_dir() else []

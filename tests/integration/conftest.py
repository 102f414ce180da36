"""Integration fixtures: a real PostgreSQL and a real HTTP server on 127.0.0.1.

PostgreSQL is the embedded server (started in a temporary folder for the session and
stopped at its end) unless ``TEST_DATABASE_URL`` names another; then a scratch database
is created on that server for the session and dropped afterwards. Migrations run once
per session; every test starts from empty tables.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from crawler.demo.server import SiteServer
from storage import db, embedded, migrate
from tests.integration import fixture_site

PROJECT = Path(__file__).resolve().parents[2]
TABLES = (
    "fetch_failures, pages, article_versions, articles, crawl_runs, crawl_locks, sources,"
    " warc_files"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


def _scratch_database(admin_url: str) -> Iterator[str]:
    """A fresh database on the server of ``admin_url``, dropped afterwards."""
    name = f"newsingest_test_{uuid.uuid4().hex[:10]}"
    libpq = db.libpq_url(admin_url)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    head, sep, query = libpq.partition("?")
    url = head.rsplit("/", 1)[0] + "/" + name + (sep + query if sep else "")
    try:
        yield url
    finally:
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """URL of a PostgreSQL server's maintenance database (embedded unless TEST_DATABASE_URL)."""
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        yield external
        return
    # Not under pytest's basetemp: pytest prunes old basetemps, which would pull the
    # data directory from under a server still used by a concurrent session.
    data_dir = Path(tempfile.mkdtemp(prefix="newsingest-test-pg-"))
    url = embedded.start(data_dir, database="postgres")
    try:
        yield url
    finally:
        embedded.stop(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(pg_server: str) -> Iterator[str]:
    """A migrated scratch database for this test session."""
    for url in _scratch_database(pg_server):
        migrate.upgrade(url)
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = db.make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """Session factory on empty tables."""
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    return db.make_session_factory(engine)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """NEWSINGEST_TEST_REDIS_URL, else a redis-server from PATH on a free loopback port."""
    given = os.environ.get("NEWSINGEST_TEST_REDIS_URL")
    if given:
        yield given
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(
            "redis-server is not on PATH (.ci/run installs it); or set NEWSINGEST_TEST_REDIS_URL"
        )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    home = tempfile.mkdtemp(prefix="newsingest-redis-")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            home,
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.1)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def site_server() -> Iterator[SiteServer]:
    with fixture_site.server() as server:
        yield server


@pytest.fixture
def site(site_server: SiteServer) -> SiteServer:
    """The fixture news site (the demo site and the tests' overlay, `fixture_site`) on
    127.0.0.1, with a fresh request log."""
    site_server.reset()
    return site_server


def _without_retry_wait(args: tuple[str, ...]) -> list[str]:
    """A ``crawl`` retries without waiting (the fixture site's 500 page would cost every
    crawl 3 s of backoff) unless the test sets ``NEWSINGEST_RETRY_BACKOFF`` itself."""
    command = next((a for a in args if not a.startswith("-")), None)
    if command != "crawl" or any(a.startswith("NEWSINGEST_RETRY_BACKOFF=") for a in args):
        return list(args)
    return [*args, "-s", "NEWSINGEST_RETRY_BACKOFF=0"]


@dataclass
class Cli:
    """Runs ``newsingest`` in a subprocess against the test database."""

    database_url: str
    data_dir: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSINGEST_")}
        env.update(
            NEWSINGEST_DATABASE_URL=self.database_url,
            NEWSINGEST_DATA_DIR=str(self.data_dir),
            **extra,
        )
        return env

    def run(
        self, *args: str, timeout: float = 180, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "crawler.cli", *_without_retry_wait(args)],
            cwd=PROJECT,
            env=self.env(**extra),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@pytest.fixture
def cli(database_url: str, sessions: sessionmaker[Session], tmp_path: Path) -> Cli:
    """The CLI on empty tables, with its own data dir."""
    return Cli(database_url=database_url, data_dir=tmp_path / "data")


def write_sources(path: Path, base_url: str, **keys: object) -> Path:
    """A sources file with one source ``site`` at ``base_url``."""
    lines = ["sources:", "  - key: site", "    name: Fixture site", f"    url: {base_url}/"]
    for key, value in keys.items():
        lines.append(f"    {key}: {value}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path

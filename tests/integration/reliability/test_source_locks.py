"""The per-source crawl lock: it survives a database restart or is given up, no read-only
login can hold it (nor the article writers' lock), and `status` says when a source's
crawl was skipped."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.demo.server import SiteServer
from storage import db, ledger, locks
from storage.models import CrawlRun, Source
from tests.integration.conftest import Cli, write_sources
from tests.integration.reliability.conftest import (
    Crawl,
    article_paths,
    count_articles,
    make_slow_site,
    start_crawl,
    wait_until,
)

CHECK = ["-s", "NEWSINGEST_LOCK_CHECK_SECONDS=0.5"]
TAKER = "newsingest-test-taker"


@pytest.fixture
def slower_sources(tmp_path: Path) -> Iterator[tuple[Path, SiteServer]]:
    """A site slow enough (40 pages of 1 s, two at a time) to outlast a restart."""
    with SiteServer(make_slow_site(tmp_path / "site", delay=1.0)) as server:
        path = write_sources(
            tmp_path / "sources.yaml", server.base_url, listings="[/]", listing_depth=0
        )
        yield path, server


def _runs(sessions: sessionmaker[Session]) -> list[CrawlRun]:
    with sessions() as session:
        return list(session.execute(select(CrawlRun).order_by(CrawlRun.id)).scalars())


def _running(crawl: Crawl, sessions: sessionmaker[Session]) -> int:
    """Wait until ``crawl`` has opened its run and stored two articles; its run id."""
    wait_until(lambda: bool(_runs(sessions)), 90, "the run row", crawl)
    wait_until(lambda: count_articles(sessions) >= 2, 90, "two stored articles", crawl)
    return _runs(sessions)[0].id


def test_a_crawl_takes_its_lock_again_after_a_database_restart_so_a_second_crawl_is_skipped(
    cli: Cli,
    slower_sources: tuple[Path, SiteServer],
    sessions: sessionmaker[Session],
    crawls: list[Crawl],
    outage: Callable[[], Any],
) -> None:
    sources, _ = slower_sources
    first = start_crawl(cli, sources, *CHECK)
    crawls.append(first)
    run_id = _running(first, sessions)
    with outage():  # every session of the database is cut, the lock's included
        wait_until(lambda: count_articles(sessions) == -1, 30, "the outage")
    wait_until(lambda: "took the lock of source site again" in first.stderr, 60, "", first)

    second = cli.run("crawl", "site", "--sources", str(sources))
    assert second.returncode == 0, second.stdout + second.stderr
    assert "site: skipped" in second.stdout
    skipped = _runs(sessions)[-1]
    assert (skipped.status, skipped.error) == ("skipped", f"source locked by run {run_id}")
    health = cli.run("status", "--sources", str(sources))
    assert f"skipped (locked by run {run_id})" in health.stdout, health.stdout
    assert " ok " not in health.stdout

    code, out, err = first.wait()
    assert code == 0, err[-3000:]
    assert "site: succeeded" in out
    assert [r.status for r in _runs(sessions)] == ["succeeded", "skipped"]


def test_a_crawl_whose_lock_was_taken_during_a_restart_stops_and_keeps_the_takers_verdict(
    cli: Cli,
    slower_sources: tuple[Path, SiteServer],
    database_url: str,
    sessions: sessionmaker[Session],
    crawls: list[Crawl],
    outage: Callable[..., Any],
) -> None:
    sources, server = slower_sources
    first = start_crawl(cli, sources, *CHECK, "-s", "NEWSINGEST_EXTRACT_WORKERS=1")
    crawls.append(first)
    run_id = _running(first, sessions)
    # Another crawler takes the lock while the first crawl's sessions are cut, as a crawl
    # of the source starting then would, and marks the first crawl's run abandoned. It
    # acts on two connections the outage spares, opened before it: when the server is
    # back the first crawl finds the lock taken (racing it for a free lock after the
    # outage, the first crawl sometimes won and finished its run).
    engine = db.make_engine(database_url, pool_size=2, application_name=TAKER)
    with engine.connect() as one, engine.connect() as two:
        one.execute(select(1))
        two.execute(select(1))
    held = None
    try:
        with outage(spare=TAKER):
            wait_until(lambda: count_articles(sessions) == -1, 30, "the outage")
            held = locks.try_lock_source(engine, "site")
            assert held is not None
            with db.transaction(db.make_session_factory(engine)) as session:
                sid = session.execute(select(Source.id).where(Source.key == "site")).scalar_one()
                assert ledger.mark_source_runs_abandoned(session, sid) == 1
        code, out, err = first.wait(timeout=120)
        fetched = len(article_paths(server))
    finally:
        if held is not None:
            locks.unlock_source(held)
        engine.dispose()
    assert code == 1, out + err[-3000:]
    assert "site: interrupted" in out
    assert "lost the lock of source site" in err
    assert fetched < 40  # it stopped, not crawled on beside the other crawler
    (run,) = _runs(sessions)
    assert (run.id, run.status) == (run_id, "abandoned")  # never rewritten by its end


@pytest.fixture
def readonly_role(cli: Cli, database_url: str) -> Iterator[str]:
    name = f"newsingest_ro_{uuid.uuid4().hex[:8]}"
    done = cli.run("db", "grant-readonly", name, "--password", "pw")
    assert done.returncode == 0, done.stderr
    yield name
    with psycopg.connect(db.libpq_url(database_url), autocommit=True) as conn:
        conn.execute(f'DROP OWNED BY "{name}"')
        conn.execute(f'DROP ROLE IF EXISTS "{name}"')


def test_the_readonly_role_can_hold_no_lock_of_a_crawl_nor_block_it(
    cli: Cli,
    site: SiteServer,
    tmp_path: Path,
    database_url: str,
    sessions: sessionmaker[Session],
    readonly_role: str,
) -> None:
    sources = write_sources(tmp_path / "s.yaml", site.base_url, listings="[/aktuell/]")
    with psycopg.connect(
        db.libpq_url(database_url), user=readonly_role, password="pw", autocommit=True
    ) as ro:
        # what the lock used to be: a session advisory lock on the source's name
        ro.execute("SELECT pg_advisory_lock(hashtextextended('newsingest:source:site', 0))")
        ro.execute("SELECT pg_advisory_lock(1852143475, 1)")  # what article writers took
        done = cli.run(
            "crawl", "site", "--sources", str(sources), "-s", "AUTOTHROTTLE_ENABLED=0", timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "site: succeeded" in done.stdout
        for lock in ("FOR UPDATE", "FOR NO KEY UPDATE", "FOR SHARE", "FOR KEY SHARE"):
            for table in ("crawl_locks", "write_locks"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    ro.execute(f"SELECT 1 FROM {table} {lock}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege), ro.transaction():
            ro.execute("LOCK TABLE crawl_locks IN EXCLUSIVE MODE")
    assert [r.status for r in _runs(sessions)] == ["succeeded"]

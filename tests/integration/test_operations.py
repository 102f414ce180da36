"""Operations: --due, one crawl per source at a time, status verdicts and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from crawler.demo.server import SiteServer
from storage import db, ledger, locks
from storage.models import CrawlRun, Source
from storage.sources import SourceRow, upsert_source
from tests.integration.conftest import PROJECT, Cli

FAST = ["-s", "AUTOTHROTTLE_ENABLED=False"]


def _two_sources(path: Path, base_url: str) -> Path:
    path.write_text(
        "sources:\n"
        f"  - {{key: alpha, url: '{base_url}/', listings: [/aktuell/], max_age_days: 30}}\n"
        f"  - {{key: beta, url: '{base_url}/', listings: [/aktuell/], max_age_days: 30}}\n"
        f"  - {{key: gamma, url: '{base_url}/', enabled: false}}\n",
        encoding="utf-8",
    )
    return path


def _finished_run(
    sessions: sessionmaker[Session], key: str, status: str, started: datetime
) -> None:
    with db.transaction(sessions) as session:
        sid = upsert_source(session, SourceRow(key=key, name=key, url="http://x/"))
        rid = ledger.start_run(session, source_id=sid, trigger="cli", host="h", pid=1)
        ledger.finish_run(session, rid, status=status, stats={})
        session.execute(
            update(CrawlRun)
            .where(CrawlRun.id == rid)
            .values(started_at=started, finished_at=started + timedelta(minutes=1))
        )


def test_crawl_due_runs_only_sources_whose_interval_has_passed(
    cli: Cli, site: SiteServer, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    sources = _two_sources(tmp_path / "s.yaml", site.base_url)
    _finished_run(sessions, "alpha", "succeeded", datetime.now(UTC) - timedelta(minutes=5))
    result = cli.run("crawl", "--due", "--sources", str(sources), *FAST)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "beta: succeeded" in result.stdout
    assert "alpha" not in result.stdout and "gamma" not in result.stdout
    with sessions() as session:
        runs = session.execute(
            select(Source.key, CrawlRun.trigger).join(Source, Source.id == CrawlRun.source_id)
        ).all()
    assert sorted(runs) == [("alpha", "cli"), ("beta", "schedule")]


def test_crawl_of_a_locked_source_is_skipped_and_recorded_with_the_run_holding_it(
    cli: Cli, site: SiteServer, tmp_path: Path, engine: Engine, sessions: sessionmaker[Session]
) -> None:
    sources = _two_sources(tmp_path / "s.yaml", site.base_url)
    with db.transaction(sessions) as session:  # as another crawler would: a run, the lock
        sid = upsert_source(session, SourceRow(key="alpha", name="a", url="http://x/"))
        holder = ledger.start_run(session, source_id=sid, trigger="cli", host="h", pid=1)
    held = locks.try_lock_source(engine, "alpha")
    assert held is not None
    try:
        result = cli.run("crawl", "alpha", "beta", "--sources", str(sources), *FAST)
        health = cli.run("status", "--json", "--sources", str(sources))
    finally:
        locks.unlock_source(held)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "alpha: skipped" in result.stdout
    assert "beta: succeeded" in result.stdout
    with sessions() as session:
        runs = session.execute(
            select(Source.key, CrawlRun.status, CrawlRun.error).join(
                CrawlRun, CrawlRun.source_id == Source.id
            )
        ).all()
    assert sorted(runs) == [  # the CLI crawls its sources in parallel: any order
        ("alpha", "running", None),
        ("alpha", "skipped", f"source locked by run {holder}"),
        ("beta", "succeeded", None),
    ]
    rows = {row["source"]: row for row in json.loads(health.stdout)["sources"]}
    assert (rows["alpha"]["verdict"], rows["alpha"]["locked_by_run_id"]) == ("skipped", holder)
    assert rows["beta"]["verdict"] == "ok"


def test_two_overlapping_crawl_processes_crawl_a_source_once(
    cli: Cli, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    root = tmp_path / "slowsite"
    root.mkdir()
    (root / "robots.txt").write_text("User-agent: *\nDisallow:\n")
    (root / "index.html").write_text('<html><body><a href="/slow.html">s</a></body></html>')
    (root / "page.html").write_text("<html><body><p>" + "Wort " * 300 + "</p></body></html>")
    (root / "_routes.json").write_text('{"/slow.html": {"delay": 20.0, "file": "page.html"}}')
    with SiteServer(root) as server:
        sources = tmp_path / "s.yaml"
        sources.write_text(f"sources:\n  - {{key: slow, url: '{server.base_url}/'}}\n")
        args = [sys.executable, "-m", "crawler.cli", "crawl", "slow", "--sources", str(sources)]
        first = subprocess.Popen(
            [*args, *FAST], cwd=PROJECT, env=cli.env(), stdout=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait until the first crawl holds the source
            with sessions() as session:
                if session.execute(select(CrawlRun.id)).first():
                    break
            time.sleep(0.2)
        second = cli.run("crawl", "slow", "--sources", str(sources), *FAST)
        out, _ = first.communicate(timeout=120)
    assert first.returncode == 0, out
    assert "slow: succeeded" in out
    assert second.returncode == 0
    assert "slow: skipped" in second.stdout
    with sessions() as session:
        statuses = session.execute(select(CrawlRun.status).order_by(CrawlRun.id)).scalars().all()
    assert statuses == ["succeeded", "skipped"]


def test_status_reports_verdicts_and_exits_1_when_a_source_fails(
    cli: Cli, site: SiteServer, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    sources = tmp_path / "s.yaml"
    sources.write_text(
        "sources:\n"
        "  - {key: fine, url: 'http://127.0.0.1:9/', interval: 1h}\n"
        "  - {key: broken, url: 'http://127.0.0.1:9/', interval: 1h}\n"
        "  - {key: stale, url: 'http://127.0.0.1:9/', interval: 1h}\n"
        "  - {key: fresh, url: 'http://127.0.0.1:9/', interval: 1h}\n",
        encoding="utf-8",
    )
    now = datetime.now(UTC)
    _finished_run(sessions, "fine", "succeeded", now - timedelta(minutes=30))
    _finished_run(sessions, "broken", "succeeded", now - timedelta(hours=2))
    _finished_run(sessions, "broken", "failed", now - timedelta(minutes=10))
    _finished_run(sessions, "stale", "succeeded", now - timedelta(hours=5))
    result = cli.run("status", "--json", "--sources", str(sources))
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)
    verdicts = {row["source"]: row["verdict"] for row in doc["sources"]}
    assert verdicts == {"fine": "ok", "broken": "failing", "stale": "late", "fresh": "never-run"}
    assert doc["ok"] is False

    healthy = tmp_path / "ok.yaml"
    healthy.write_text("sources:\n  - {key: fine, url: 'http://127.0.0.1:9/', interval: 1h}\n")
    result = cli.run("status", "--sources", str(healthy))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "fine" in result.stdout and " ok " in result.stdout


def test_runs_lists_runs_with_their_stats(
    cli: Cli, site: SiteServer, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    sources = _two_sources(tmp_path / "s.yaml", site.base_url)
    assert cli.run("crawl", "alpha", "--sources", str(sources), *FAST).returncode == 0
    result = cli.run("runs", "--source", "alpha")
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.strip().splitlines()
    assert "alpha" in line and "succeeded" in line and "new=" in line


def test_json_log_format_writes_json_lines(cli: Cli, site: SiteServer, tmp_path: Path) -> None:
    sources = _two_sources(tmp_path / "s.yaml", site.base_url)
    result = cli.run(
        "--log-format", "json", "--log-level", "INFO", "crawl", "alpha", "--sources", str(sources)
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert lines and all({"time", "level", "logger", "message"} <= set(x) for x in lines)

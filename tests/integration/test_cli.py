"""The newsingest command and `scrapy crawl` end to end, in subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.demo import DEMO_SITE
from crawler.demo.server import SiteServer
from storage import embedded
from storage.models import Article, CrawlRun, Source
from tests.integration.conftest import PROJECT, Cli, write_sources

DEMO_EXPECTED = json.loads((DEMO_SITE / "_expected.json").read_text(encoding="utf-8"))
DEMO_ARTICLES = [k for k in DEMO_EXPECTED if k.startswith("/")] + list(DEMO_EXPECTED["stubs"])
"""Paths the demo stores: its articles and its stubs (a paywalled article's lead)."""


def test_demo_stores_the_sample_sites_articles(cli: Cli, sessions: sessionmaker[Session]) -> None:
    result = cli.run("demo", "--database-url", cli.database_url)
    assert result.returncode == 0, result.stdout + result.stderr
    with sessions() as session:
        titles = set(session.execute(select(Article.title)).scalars())
        run = session.execute(select(CrawlRun)).scalar_one()
        source = session.execute(select(Source)).scalar_one()
    assert {DEMO_EXPECTED[p]["title"] for p in DEMO_ARTICLES if p in DEMO_EXPECTED} <= titles
    assert source.key == "demo"
    assert run.status == "succeeded"
    assert f"{len(titles)} articles from the demo site" in result.stdout
    with sessions() as session:
        stubs = dict(
            session.execute(
                select(Article.url, Article.stub).where(Article.stub.is_not(None))
            ).all()
        )
    assert sorted(str(v) for v in stubs.values()) == sorted(DEMO_EXPECTED["stubs"].values())
    assert all(any(u.endswith(p) for p in DEMO_EXPECTED["stubs"]) for u in stubs)


def test_a_second_demo_stores_nothing_new(cli: Cli, sessions: sessionmaker[Session]) -> None:
    first = cli.run("demo", "--database-url", cli.database_url)
    second = cli.run("demo", "--database-url", cli.database_url)
    n = len(DEMO_ARTICLES)
    assert f"run: succeeded; {n} new, 0 updated, 0 unchanged; {n} articles" in first.stdout
    assert f"run: succeeded; 0 new, 0 updated, {n} unchanged; {n} articles" in second.stdout
    with sessions() as session:
        assert len(session.execute(select(Article.id)).all()) == n


def test_demo_ignores_newsingest_database_url_without_database_url(
    cli: Cli, sessions: sessionmaker[Session]
) -> None:
    try:
        result = cli.run("demo")  # NEWSINGEST_DATABASE_URL names the test database
    finally:
        embedded.stop(cli.data_dir)  # the demo's embedded server
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the demo uses the embedded database, not NEWSINGEST_DATABASE_URL" in result.stderr
    assert f"{len(DEMO_ARTICLES)} articles from the demo site" in result.stdout
    with sessions() as session:
        assert session.execute(select(Article.id)).all() == []
        assert session.execute(select(Source)).all() == []


def test_unknown_source_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    sources = write_sources(tmp_path / "s.yaml", "http://127.0.0.1:9")
    result = cli.run("crawl", "nope", "--sources", str(sources))
    assert result.returncode == 2
    assert "unknown source" in result.stderr


def test_invalid_sources_file_names_the_source_and_key(cli: Cli, tmp_path: Path) -> None:
    bad = write_sources(tmp_path / "s.yaml", "http://127.0.0.1:9", max_age_days="seven")
    result = cli.run("sources", "check", "--sources", str(bad))
    assert result.returncode == 2
    assert "site" in result.stderr and "max_age_days" in result.stderr


def test_db_url_prints_a_url_psql_accepts(cli: Cli) -> None:
    result = cli.run("db", "url")
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    assert url.startswith("postgresql://")
    import psycopg

    with psycopg.connect(url) as conn:
        assert conn.execute("select 1").fetchone() == (1,)


def test_unreachable_site_makes_a_failed_run_and_exit_code_1(
    cli: Cli, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    # port 9 (discard) on loopback: nothing listens, connections are refused at once
    sources = write_sources(tmp_path / "s.yaml", "http://127.0.0.1:9")
    result = cli.run("crawl", "site", "--sources", str(sources), "-s", "RETRY_ENABLED=False")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines() == ["site: failed — 2 discovery URLs: connection_refused"]
    assert "Traceback" not in result.stderr  # an expected network failure is one line
    with sessions() as session:
        run = session.execute(select(CrawlRun)).scalar_one()
    assert run.status == "failed"
    assert "discovery" in (run.error or "")


def test_scrapy_crawl_news_works_with_the_project_settings(
    cli: Cli, site: SiteServer, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    sources = write_sources(tmp_path / "s.yaml", site.base_url, max_age_days=30)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "news",
            "-a",
            "source=site",
            "-s",
            f"NEWSINGEST_SOURCES={sources}",
            "-s",
            "AUTOTHROTTLE_ENABLED=False",
            "-s",
            "LOG_LEVEL=WARNING",
        ],
        cwd=PROJECT,
        env=cli.env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    with sessions() as session:
        run = session.execute(select(CrawlRun)).scalar_one()
        count = len(session.execute(select(Article.id)).all())
    assert run.trigger == "scrapy"
    assert run.status == "succeeded"
    assert count >= 5


def test_make_run_is_quiet_and_make_reports_the_crawls_exit_code_1(
    cli: Cli, tmp_path: Path
) -> None:
    sources = write_sources(tmp_path / "s.yaml", "http://127.0.0.1:9")
    venv = Path(sys.prefix)
    result = subprocess.run(
        # the venv of this test run, not (re)installed: -o marks its stamp as up to date
        ["make", "-s", "-o", f"{venv}/.installed-stamp", f"VENV={venv}", "run"],
        cwd=PROJECT,
        # not as a sub-make when the suite itself runs under `make test` (then make
        # prints "make[1]: ***" instead of "make: ***")
        env={
            k: v
            for k, v in cli.env(NEWSINGEST_SOURCES=str(sources)).items()
            if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")
        },
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert "site: failed — 2 discovery URLs: connection_refused" in result.stdout
    assert "make: *** [Makefile" in result.stderr and "run] Error 1" in result.stderr
    levels = {line.split()[2] for line in result.stderr.splitlines() if line[:2] == "20"}
    assert levels <= {"WARNING", "ERROR"}, result.stderr  # no INFO by default


def test_crawl_logs_info_only_with_v(cli: Cli, tmp_path: Path) -> None:
    sources = write_sources(tmp_path / "s.yaml", "http://127.0.0.1:9")
    args = ["crawl", "site", "--sources", str(sources), "-s", "NEWSINGEST_RETRY_BACKOFF=0"]
    quiet, verbose = cli.run(*args), cli.run("-v", *args)
    assert quiet.returncode == verbose.returncode == 1
    assert quiet.stdout == verbose.stdout == "site: failed — 2 discovery URLs: connection_refused\n"
    # an expected network failure (robots.txt, the retries given up) is the summary line
    # and the failure rows: no log line at the default level
    assert [line for line in quiet.stderr.splitlines() if line[:2] == "20"] == []
    assert " INFO scrapy.core.engine: Spider opened" in verbose.stderr
    assert " INFO scrapy.downloadermiddlewares.retry: Gave up retrying" in verbose.stderr
    assert " INFO scrapy.downloadermiddlewares.robotstxt: Error downloading" in verbose.stderr


def test_scrapy_feed_export_writes_every_item_as_json(
    cli: Cli, site: SiteServer, tmp_path: Path
) -> None:
    # the front page and the faults' listing: articles, rejections and failed fetches
    sources = write_sources(
        tmp_path / "s.yaml", site.base_url, max_age_days=30, listings="[/, /faults/]"
    )
    out = tmp_path / "items.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "news", "-a", "source=site",
         "-s", f"NEWSINGEST_SOURCES={sources}", "-s", "AUTOTHROTTLE_ENABLED=False",
         "-s", "LOG_LEVEL=WARNING", "-O", str(out)],
        cwd=PROJECT, env=cli.env(), capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    articles = [i for i in items if "record" in i]
    assert len(articles) >= 5
    for item in articles:
        assert item["record"]["url"] and item["record"]["text"]
        assert item["page"]["final_url"].startswith(site.base_url)
        assert item["page"]["body_bytes"] > 0 and "body" not in item["page"]
    assert any("reason" in i for i in items)  # failures and rejections are items too
    assert any("rejection" in i for i in items)


def test_db_prune_deletes_runs_older_than_asked_and_dry_run_only_counts(
    cli: Cli, sessions: sessionmaker[Session]
) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from storage import db, ledger
    from storage.sources import SourceRow, upsert_source

    with db.transaction(sessions) as session:
        sid = upsert_source(session, SourceRow(key="a", name="a", url="u"))
        for age in (2, 40):
            run = ledger.start_run(session, source_id=sid, trigger="cli", host="h", pid=1)
            ledger.finish_run(session, run, status="succeeded", stats={})
            session.execute(
                update(CrawlRun)
                .where(CrawlRun.id == run)
                .values(started_at=datetime.now(UTC) - timedelta(days=age))
            )
    dry = cli.run("db", "prune", "--runs-older-than", "30d", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("would delete 1 crawl runs started before ")
    assert cli.run("db", "prune", "--runs-older-than", "1x").returncode == 2
    done = cli.run("db", "prune", "--runs-older-than", "30d")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("deleted 1 crawl runs") and "source_daily_stats" in done.stdout
    with sessions() as session:
        assert len(session.execute(select(CrawlRun.id)).all()) == 1

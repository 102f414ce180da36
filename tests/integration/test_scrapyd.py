"""scrapyd round trip: deploy with scrapyd-client, schedule `news`, read the ledger row."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.demo.server import SiteServer
from storage.models import Article, CrawlRun
from tests.integration.conftest import PROJECT, Cli, write_sources

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _call(url: str, data: dict[str, str] | None = None) -> Any:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    with urllib.request.urlopen(url, data=body, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def scrapyd(cli: Cli, site: SiteServer, tmp_path: Path) -> Iterator[str]:
    sources = write_sources(tmp_path / "sources.yaml", site.base_url, max_age_days=30)
    port = _free_port()
    home = tmp_path / "scrapyd"
    home.mkdir()
    (home / "scrapyd.conf").write_text(
        "[scrapyd]\n"
        "bind_address = 127.0.0.1\n"
        f"http_port = {port}\n"
        f"eggs_dir = {home / 'eggs'}\n"
        f"logs_dir = {home / 'logs'}\n"
        f"dbs_dir = {home / 'dbs'}\n"
        "items_dir =\n"
        "max_proc = 1\n"
        "poll_interval = 0.5\n",
        encoding="utf-8",
    )
    env = cli.env(NEWSINGEST_SOURCES=str(sources))
    proc = subprocess.Popen(
        [str(BIN / "scrapyd")],
        cwd=home,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _call(url + "daemonstatus.json")
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("scrapyd did not start") from None
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_scrapyd_job_crawls_and_writes_a_scrapyd_ledger_row(
    scrapyd: str, cli: Cli, sessions: sessionmaker[Session]
) -> None:
    deploy = subprocess.run(
        [str(BIN / "scrapyd-deploy"), "env", "-p", "newsingest", "--version", "1"],
        cwd=PROJECT,
        env={**os.environ, "NEWSINGEST_SCRAPYD_URL": scrapyd},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    assert "news" in _call(scrapyd + "listspiders.json?project=newsingest")["spiders"]
    job = _call(
        scrapyd + "schedule.json",
        {
            "project": "newsingest",
            "spider": "news",
            "source": "site",
            "setting": "AUTOTHROTTLE_ENABLED=False",
        },
    )["jobid"]
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        jobs = _call(scrapyd + "listjobs.json?project=newsingest")
        if any(j["id"] == job for j in jobs["finished"]):
            break
        time.sleep(0.5)
    else:
        pytest.fail("the scrapyd job did not finish")
    with sessions() as session:
        run = session.execute(select(CrawlRun)).scalar_one()
        articles = session.execute(select(Article.id)).all()
    assert run.trigger == "scrapyd"
    assert run.status == "succeeded"
    assert len(articles) >= 5

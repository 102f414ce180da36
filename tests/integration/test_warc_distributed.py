"""newsingest warc --distributed: archive files queued in a real redis-server, claimed
whole by `newsingest worker` processes, a killed worker's file taken over (issue 22)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler import distributed as dist
from crawler import distributed_warc as dwarc
from storage.models import Article, ArticleVersion, CrawlRun, Page, WarcFile
from tests.integration.conftest import PROJECT, Cli
from tests.integration.test_distributed import _paragraphs

pytestmark = pytest.mark.slow

FILES = 4
PAGES = 40  # per file
HOME = "https://archiv.example.org"
WORKER = [
    "-s", "NEWSINGEST_EXTRACT_WORKERS=1",
    "-s", "NEWSINGEST_WARC_CHECKPOINT_SECONDS=0.5",
    "-s", "NEWSINGEST_STORE_FLUSH_SECONDS=0.25",  # checkpoints every 2 x 0.25 s
    "-s", "NEWSINGEST_WARC_IN_FLIGHT=4",
]  # fmt: skip


def _warc(path: Path, file_no: int) -> list[str]:
    """A WARC file of PAGES article pages (and their request records); their URLs."""
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True)
    urls = []
    for i in range(PAGES):
        n = file_no * PAGES + i
        url = f"{HOME}/news/{file_no}/a{n}.html"
        body = (
            f"<!doctype html><html lang='de'><head><title>Artikel {n}</title></head><body>"
            f"<article><h1>Archivartikel Nummer {n}</h1>{_paragraphs(n)}</article>"
            "</body></html>"
        ).encode()
        http = StatusAndHeaders(
            "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
        )
        date = {"WARC-Date": f"2025-03-{1 + file_no:02d}T10:{i:02d}:00Z"}
        response = writer.create_warc_record(
            url, "response", payload=io.BytesIO(body), http_headers=http, warc_headers_dict=date
        )
        writer.write_record(response)
        request = StatusAndHeaders("GET / HTTP/1.1", [], is_http_request=True)
        sent = writer.create_warc_record(
            url, "request", payload=io.BytesIO(b""), http_headers=request, warc_headers_dict=date
        )
        writer.write_record(sent)
        urls.append(url)
    path.write_bytes(buf.getvalue())
    return urls


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    c = dist.connect(redis_url)
    c.flushdb()  # the server is the session's: no ingest of another test is claimed
    yield c
    c.close()


_STARTED: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _no_leftover_processes() -> Iterator[None]:
    yield
    while _STARTED:
        proc = _STARTED.pop()
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def _worker(cli: Cli, redis_url: str, *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "worker", *args],
        cwd=PROJECT,
        env=cli.env(NEWSINGEST_REDIS_URL=redis_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the kill takes its pool too
    )
    _STARTED.append(proc)
    return proc


# --------------------------------------------------------------------------- the queue


def test_files_are_claimed_once_leases_run_out_and_the_last_file_ends_the_ingest(
    client: redis.Redis,
) -> None:
    ingest = dwarc.queue_files(
        client, ["/a.warc.gz", "/b.warc.gz", "/a.warc.gz"], source_key="s", lease_seconds=1
    )
    assert ingest.files == 2
    (listed,) = dwarc.warc_ingests(client).values()
    assert listed == ingest
    assert listed.spider_args() == {"source": "s"}
    a = dwarc.claim_file(client, ingest, "w1")
    b = dwarc.claim_file(client, ingest, "w2")
    assert a is not None and b is not None
    assert (a.location, b.location, a.reclaimed) == ("/a.warc.gz", "/b.warc.gz", False)
    assert dwarc.claim_file(client, ingest, "w3") is None  # both held
    assert dwarc.warc_progress(client, ingest.ingest_id).claimed == {
        "/a.warc.gz": "w1",
        "/b.warc.gz": "w2",
    }
    time.sleep(0.6)
    assert dwarc.renew(client, b)  # w2 keeps its lease, w1 does not
    time.sleep(0.6)
    taken = dwarc.claim_file(client, ingest, "w3")
    assert taken is not None and (taken.location, taken.reclaimed) == ("/a.warc.gz", True)
    assert not dwarc.renew(client, a)  # w1 lost it
    assert dwarc.complete(client, a, "done") is None  # and cannot complete it
    assert dwarc.complete(client, b, "release") is False  # queued again
    again = dwarc.claim_file(client, ingest, "w2")
    assert again is not None and again.location == "/b.warc.gz"
    assert dwarc.complete(client, again, "failed") is False
    assert dwarc.complete(client, taken, "done") is True  # the last one ends the ingest
    assert dwarc.warc_ingests(client) == {}
    assert not client.keys("newsingest:warc:*")


def test_registry_entries_are_data_checked_not_code(client: redis.Redis) -> None:
    """What Redis holds is JSON read as data; an entry that is not what `queue_files`
    writes is ignored (with a warning), not run, not crashed on."""
    import pickle

    good = dwarc.queue_files(client, ["/x.warc"], source_key=None, since="2025-01-01T00:00:00")
    assert good.spider_args() == {"match_sources": "1", "since": "2025-01-01T00:00:00"}
    client.hset(dwarc.WARC_REGISTRY, "pickled", pickle.dumps({"source": "s"}))
    client.hset(dwarc.WARC_REGISTRY, "list", "[1, 2]")
    client.hset(dwarc.WARC_REGISTRY, "both", json.dumps({"source": "s", "match_sources": True}))
    client.hset(dwarc.WARC_REGISTRY, "lease", json.dumps({"source": "s", "lease_seconds": "9"}))
    assert list(dwarc.warc_ingests(client)) == [good.ingest_id]


# --------------------------------------------------------------------------- workers


def test_two_workers_ingest_the_files_and_a_killed_workers_file_is_finished_by_the_other(
    cli: Cli, client: redis.Redis, redis_url: str, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    sources = tmp_path / "s.yaml"
    sources.write_text(f"sources:\n  - {{key: archiv, url: '{HOME}/'}}\n")
    files = [tmp_path / f"cc-news-{n}.warc.gz" for n in range(FILES)]
    urls = [u for n, path in enumerate(files) for u in _warc(path, n)]
    queued = cli.run(
        "warc", "--distributed", *map(str, files), "--source", "archiv",
        "--sources", str(sources), "--lease-seconds", "4",
        NEWSINGEST_REDIS_URL=redis_url,
    )  # fmt: skip
    assert queued.returncode == 0, queued.stdout + queued.stderr
    (ingest,) = dwarc.warc_ingests(client).values()
    assert f"queued {FILES} files as archive ingest {ingest.ingest_id}" in queued.stdout
    assert "newsingest worker" in queued.stdout and "newsingest runs" in queued.stdout
    assert dwarc.warc_progress(client, ingest.ingest_id).queued == FILES

    common = ["--idle-timeout", "10", "--sources", str(sources), *WORKER]
    victim = _worker(cli, redis_url, *common)
    other = _worker(cli, redis_url, *common)

    # kill the victim mid-file: some of its file checkpointed, not all of it read
    deadline = time.monotonic() + 240
    killed_file = None
    while killed_file is None and time.monotonic() < deadline:
        with sessions() as session:
            run_ids = list(
                session.execute(
                    select(CrawlRun.id).where(
                        CrawlRun.pid == victim.pid, CrawlRun.status == "running"
                    )
                ).scalars()
            )
            for point in session.execute(select(WarcFile)).scalars():
                if set(point.run_ids) & set(run_ids) and not point.done and point.records >= 10:
                    killed_file = point.location
        if killed_file is None:
            assert victim.poll() is None, victim.communicate()
            time.sleep(0.1)
    assert killed_file is not None, "the victim never got half-way through a file"
    os.killpg(victim.pid, signal.SIGKILL)
    victim.communicate(timeout=30)
    with sessions() as session:
        stopped = session.get(WarcFile, killed_file)
        assert stopped is not None and not stopped.done
        checkpoint = stopped.offset
    assert checkpoint > 0

    out, err = other.communicate(timeout=400)
    assert other.returncode == 0, out + err[-4000:]
    assert f"taking over {killed_file} of archive ingest {ingest.ingest_id}" in err
    assert f"{killed_file}: succeeded" in out

    with sessions() as session:
        articles = session.execute(select(func.count()).select_from(Article)).scalar_one()
        pages = session.execute(select(func.count()).select_from(Page)).scalar_one()
        versions = session.execute(select(func.count()).select_from(ArticleVersion)).scalar_one()
        stored_urls = set(session.execute(select(Article.url)).scalars())
        points = {p.location: p for p in session.execute(select(WarcFile)).scalars()}
        runs = list(session.execute(select(CrawlRun).order_by(CrawlRun.id)).scalars())
    assert stored_urls == set(urls)
    assert articles == pages == FILES * PAGES
    assert versions == 0  # nothing stored twice: a second store would make a version
    assert all(p.done for p in points.values())
    assert {r.crawl_id for r in runs} == {ingest.ingest_id}
    assert all(r.kind == "warc" for r in runs)
    by_id = {r.id: r for r in runs}
    # each file claimed by one worker, the killed one's by both
    for location, point in points.items():
        pids = [by_id[i].pid for i in point.run_ids]
        if location == killed_file:
            assert pids == [victim.pid, other.pid]
        else:
            assert len(pids) == 1
    (resumed,) = [by_id[points[killed_file].run_ids[-1]]]
    assert resumed.status == "succeeded"
    assert resumed.stats["newsingest/warc/files_resumed"] == 1
    assert resumed.stats.get("newsingest/store/unchanged", 0) == 0
    assert resumed.stats.get("newsingest/store/updated", 0) == 0
    assert Counter(r.status for r in runs) == Counter({"succeeded": len(runs) - 1, "abandoned": 1})
    assert dwarc.warc_ingests(client) == {}  # the last file ended it
    assert not client.keys("newsingest:warc:*")

    listing = cli.run("runs").stdout.splitlines()
    assert listing[0].startswith(f"warc {ingest.ingest_id} archiv")
    assert " succeeded " in listing[0] and f"runs={len(runs)}" in listing[0]
    assert f"files={FILES} (done={FILES} " in listing[0]  # the killed run recorded no stats
    status = json.loads(cli.run("status", "--json", "--sources", str(sources)).stdout)
    last = status["last_warc_ingest"]
    assert (last["distributed_id"], last["status"], last["runs"]) == (
        ingest.ingest_id,
        "succeeded",
        len(runs),
    )

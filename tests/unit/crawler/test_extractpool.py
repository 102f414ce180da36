"""The extraction pool (`crawler.extractpool`): workers are forks of a warm, frozen fork
server, recycled without old and new running side by side, started before the first
page; the worker decodes with the HTTP charset."""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import time
from datetime import UTC, datetime
from typing import Any

from scrapy.utils.test import get_crawler

from crawler import settings as project
from crawler.extraction.record import Rejection
from crawler.extractpool import ExtractionPool, charset_of, extract_timed, new_executor
from crawler.extractpool.pool import PRELOAD_MODULE, _reap
from crawler.items import FetchedPage, Rejected
from crawler.pipelines.extract import ExtractPipeline

BASE = "http://127.0.0.1:8000"


def _frozen(_: int) -> int:
    return gc.get_freeze_count()


def test_workers_are_forks_of_a_warm_frozen_server() -> None:
    with new_executor(1) as pool:
        frozen = pool.submit(_frozen, 0).result(timeout=120)
    # the fork server ran `preload` (warm-up, then gc.freeze) before forking the worker
    assert frozen > 10_000


def pid_of_worker(
    body: bytes, url: str, hints: Any, content_type: str | None = None
) -> tuple[Rejection, float]:
    """Worker function: a rejection whose detail is the worker's pid."""
    return Rejection(url, "parse_error", str(os.getpid())), 0.0


def _extract_pages(extract: Any, workers: int, recycle: int, count: int = 12) -> list[Any]:
    """Run ``count`` pages through an ExtractPipeline whose pool recycles after
    ``recycle`` pages per worker; the results in page order."""
    crawler = get_crawler()
    assert crawler.stats is not None
    crawler.stats.open_spider()
    pool = ExtractionPool(workers, extract, recycle_pages_per_worker=recycle)
    pipe = ExtractPipeline(
        crawler.stats, pool, timeout=60, max_bytes=project.NEWSINGEST_EXTRACT_MAX_BYTES
    )
    pages = [
        FetchedPage("s", f"{BASE}/{n}", f"{BASE}/{n}", 200, "text/html", b"x", datetime.now(UTC))
        for n in range(count)
    ]

    async def run() -> list[Any]:
        await pipe.open_spider()
        try:
            return list(await asyncio.gather(*(pipe.process_item(p) for p in pages)))
        finally:
            await pipe.close_spider()

    return asyncio.run(run())


def test_the_pipeline_recycles_its_workers_and_extracts_every_page() -> None:
    results = _extract_pages(pid_of_worker, workers=1, recycle=5)
    assert all(isinstance(r, Rejected) for r in results)
    pids = {r.rejection.detail for r in results}
    assert len(pids) == 3  # pages 1-5, 6-10 and 11-12, each lot in a fresh worker


def timed_pid_of_worker(
    body: bytes, url: str, hints: Any, content_type: str | None = None
) -> tuple[Rejection, float]:
    """Worker function: odd pages run longer; the detail is ``pid start end siblings``
    (siblings: the pids, comma-separated, of the live processes forked by the same fork
    server, this one included)."""
    import time

    start = time.time()
    parent = os.getppid()
    siblings: list[str] = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z" and int(fields[1]) == parent:
                siblings.append(entry)
    time.sleep(1.0 if int(url.rsplit("/", 1)[1]) % 2 else 0.02)
    detail = f"{os.getpid()} {start} {time.time()} {','.join(siblings)}"
    return Rejection(url, "parse_error", detail), 0.0


def test_a_recycled_pool_forks_only_after_the_retired_workers_exited() -> None:
    # 6 pages per pool of 2 workers
    results = _extract_pages(timed_pid_of_worker, workers=2, recycle=3)
    details = [r.rejection.detail.split() for r in results]
    assert len({pid for pid, *_ in details}) >= 4  # two pools of two workers at least
    ours = {pid for pid, *_ in details}
    # counted among this pool's workers only: an earlier test's retired workers may still
    # be exiting on a loaded machine
    assert max(len(ours.intersection(siblings.split(","))) for *_, siblings in details) <= 2


def test_start_fork_server_starts_the_warming_server_for_later_pools() -> None:
    import subprocess
    import sys

    # A fresh interpreter: in this one an earlier test's pool may have started it.
    code = (
        "from multiprocessing import forkserver\n"
        "from crawler import extractpool\n"
        "extractpool.start_fork_server()\n"
        "pid = forkserver._forkserver._forkserver_pid\n"
        "import time\n"
        "for _ in range(200):  # its command line is empty until it has exec'd\n"
        "    cmd = open(f'/proc/{pid}/cmdline', 'rb').read()\n"
        "    if cmd:\n"
        "        break\n"
        "    time.sleep(0.05)\n"
        "print(cmd.replace(bytes(1), b' ').decode())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert "multiprocessing.forkserver" in out
    assert PRELOAD_MODULE in out  # it preloads (warms) the extraction code


def test_opening_the_pool_starts_a_worker_before_the_first_page() -> None:
    import time

    with ExtractionPool(1) as pool:
        deadline = time.monotonic() + 120
        while not pool.worker_pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        # no page was submitted: the warm-up thread forked the server and a worker
        assert pool.worker_pids()
    assert pool.worker_pids() == []  # closed: its workers are gone


def test_charset_of_reads_the_content_type_parameter() -> None:
    assert charset_of("text/html; charset=windows-1251") == "windows-1251"
    assert charset_of('text/html;Charset="UTF-8"') == "UTF-8"
    assert charset_of("text/html") is None
    assert charset_of(None) is None


def test_extract_timed_decodes_with_the_http_charset() -> None:
    from crawler.extraction import ArticleRecord

    sentences = [
        "Паром на остров снова ходит по расписанию, сообщил перевозчик в понедельник.",
        "Зимой лёд в проливе дважды останавливал движение судов на несколько дней.",
        "Жители посёлка говорят, что теперь могут возить детей в школу без опозданий.",
        "Администрация района обещает отремонтировать причал до начала лета.",
        "Стоимость билета не изменилась, но расписание стало немного плотнее.",
    ]
    paragraphs = "".join(f"<p>{s}</p>" for s in sentences)
    page = "<html><head><title>Паром снова ходит</title></head><body><article>"
    page += f"<h1>Паром снова ходит</h1>{paragraphs}</article></body></html>"
    result, _ = extract_timed(
        page.encode("cp1251"), "http://127.0.0.1/a.html", None, "text/html; charset=windows-1251"
    )
    assert isinstance(result, ArticleRecord)
    assert result.title == "Паром снова ходит"


def test_the_crawls_of_one_process_share_one_pool_and_zero_workers_extract_inline() -> None:
    pipes = [
        ExtractPipeline.from_crawler(get_crawler(settings_dict={"NEWSINGEST_EXTRACT_WORKERS": n}))
        for n in (2, 2, 0)
    ]
    assert pipes[0].pool is pipes[1].pool  # one set of workers for every crawl
    assert pipes[0].pool.workers > 0  # made by the first crawl of the process to ask
    inline = pipes[2].pool
    assert inline is not pipes[0].pool and inline.workers == 0

    async def run() -> tuple[Any, list[int]]:
        with inline:
            result = await inline.extract(b"<p>x</p>", f"{BASE}/x", None, None, timeout=1)
            return result, inline.worker_pids()

    (result, _millis), pids = asyncio.run(run())
    assert isinstance(result, Rejection) and pids == []  # ran here: no worker forked


def test_a_worker_a_retired_pool_left_alive_is_killed() -> None:
    # Python 3.11's executor may start a worker while it terminates a broken pool; that
    # worker waits for work for ever, and the interpreter waits for it at exit.
    idle = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(60,))
    idle.start()
    try:
        _reap({idle.pid or 0: idle}, after=0.1).join(timeout=10)
        idle.join(timeout=10)
        assert not idle.is_alive()
    finally:
        if idle.is_alive():
            idle.kill()

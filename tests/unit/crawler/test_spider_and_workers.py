"""Footprint habits of the spider and the extraction pool: a sitemap index's children
are read after the articles already queued, and workers are forks of a warm, frozen
fork server."""

from __future__ import annotations

import asyncio
import gc
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapy import Request
from scrapy.http import HtmlResponse, XmlResponse
from scrapy.utils.test import get_crawler

from crawler import pipelines, workers
from crawler.extraction.record import Rejection
from crawler.items import FetchedPage, FetchFailed, Rejected
from crawler.pipelines import ExtractPipeline
from crawler.spiders.news import NewsSpider

BASE = "http://127.0.0.1:8000"
INDEX = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    f"<sitemap><loc>{BASE}/sitemap-0.xml</loc></sitemap>"
    f"<sitemap><loc>{BASE}/sitemap-1.xml</loc></sitemap>"
    "</sitemapindex>"
)
URLSET = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    + "".join(f"<url><loc>{BASE}/article/{n}.html</loc></url>" for n in range(3))
    + "</urlset>"
)


def _spider(tmp_path: Path) -> NewsSpider:
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        f"sources:\n  - key: site\n    url: {BASE}/\n    sitemaps: [/sitemap.xml]\n",
        encoding="utf-8",
    )
    crawler = get_crawler(NewsSpider, {"NEWSINGEST_SOURCES": str(sources)})
    crawler.spider = crawler._create_spider(source="site")
    assert crawler.stats is not None
    crawler.stats.open_spider()
    spider = crawler.spider
    assert isinstance(spider, NewsSpider)
    return spider


def _parse(spider: NewsSpider, url: str, body: str) -> list[Any]:
    request = Request(url, meta={"newsingest_kind": "discovery"})
    return list(spider.parse_sitemap(XmlResponse(url, body=body.encode(), request=request)))


def test_child_sitemaps_of_an_index_go_after_the_articles(tmp_path: Path) -> None:
    spider = _spider(tmp_path)
    children = _parse(spider, f"{BASE}/sitemap.xml", INDEX)
    articles = _parse(spider, f"{BASE}/sitemap-0.xml", URLSET)
    assert [r.url for r in children] == [f"{BASE}/sitemap-0.xml", f"{BASE}/sitemap-1.xml"]
    assert len(articles) == 3
    # the scheduler pops higher priorities first: queued articles drain before the next
    # child sitemap adds its own
    assert max(r.priority for r in children) < min(r.priority for r in articles)


def _frozen(_: int) -> int:
    return gc.get_freeze_count()


def test_workers_are_forks_of_a_warm_frozen_server() -> None:
    with workers.new_pool(1) as pool:
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
    pipe = ExtractPipeline(crawler.stats, workers=workers, timeout=60, extract=extract)
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

    saved = pipelines._POOL.recycle_pages_per_worker
    pipelines._POOL.recycle_pages_per_worker = recycle
    try:
        return asyncio.run(run())
    finally:
        pipelines._POOL.recycle_pages_per_worker = saved


def test_the_pipeline_recycles_its_workers_and_extracts_every_page() -> None:
    results = _extract_pages(pid_of_worker, workers=1, recycle=5)
    assert all(isinstance(r, Rejected) for r in results)
    pids = {r.rejection.detail for r in results}
    assert len(pids) == 3  # pages 1-5, 6-10 and 11-12, each lot in a fresh worker


def timed_pid_of_worker(
    body: bytes, url: str, hints: Any, content_type: str | None = None
) -> tuple[Rejection, float]:
    """Worker function: odd pages run longer; the detail is ``pid start end siblings``
    (siblings: live processes forked by the same fork server, this one included)."""
    import time

    start = time.time()
    parent = os.getppid()
    siblings = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            siblings += fields[0] != "Z" and int(fields[1]) == parent
    time.sleep(1.0 if int(url.rsplit("/", 1)[1]) % 2 else 0.02)
    detail = f"{os.getpid()} {start} {time.time()} {siblings}"
    return Rejection(url, "parse_error", detail), 0.0


def test_a_recycled_pool_forks_only_after_the_retired_workers_exited() -> None:
    # 6 pages per pool of 2 workers
    results = _extract_pages(timed_pid_of_worker, workers=2, recycle=3)
    details = [r.rejection.detail.split() for r in results]
    assert len({pid for pid, *_ in details}) >= 4  # two pools of two workers at least
    assert max(int(siblings) for *_, siblings in details) <= 2


def test_start_fork_server_starts_the_warming_server_for_later_pools() -> None:
    import subprocess
    import sys

    # A fresh interpreter: in this one an earlier test's pool may have started it.
    code = (
        "from multiprocessing import forkserver\n"
        "from crawler import workers\n"
        "workers.start_fork_server()\n"
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
    assert workers.PRELOAD_MODULE in out  # it preloads (warms) the extraction code


def test_opening_the_pool_starts_a_worker_before_the_first_page() -> None:
    import time

    pipelines._POOL.acquire(1)
    try:
        pool = pipelines._POOL._pool
        assert pool is not None
        deadline = time.monotonic() + 120
        while not pool._processes and time.monotonic() < deadline:
            time.sleep(0.05)
        # no page was submitted: the warm-up thread forked the server and a worker
        assert pool._processes
    finally:
        pipelines._POOL.release()


def test_charset_of_reads_the_content_type_parameter() -> None:
    from crawler.workers import charset_of

    assert charset_of("text/html; charset=windows-1251") == "windows-1251"
    assert charset_of('text/html;Charset="UTF-8"') == "UTF-8"
    assert charset_of("text/html") is None
    assert charset_of(None) is None


def test_extract_timed_decodes_with_the_http_charset() -> None:
    from crawler.extraction import ArticleRecord
    from crawler.workers import extract_timed

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


def test_urls_past_the_length_limit_become_failures_not_silent_drops(tmp_path: Path) -> None:
    spider = _spider(tmp_path)
    long_url = f"{BASE}/article/{'x' * 2100}.html"
    links = f"<a href='{long_url}'>long</a><a href='{BASE}/article/1.html'>short</a>"
    request = Request(f"{BASE}/", meta={"newsingest_kind": "discovery"})
    response = HtmlResponse(f"{BASE}/", body=f"<html><body>{links}</body></html>".encode(),
                            request=request, headers={"Content-Type": "text/html"})  # fmt: skip
    out = list(spider.parse_listing(response))
    failures = [o for o in out if isinstance(o, FetchFailed)]
    assert [(f.url, f.reason, f.stage) for f in failures] == [(long_url, "url_too_long", "fetch")]
    assert [o.url for o in out if isinstance(o, Request)] == [f"{BASE}/article/1.html"]
    sitemap = spider._discovery(f"{BASE}/{'s' * 2100}.xml", spider.parse_sitemap)
    assert isinstance(sitemap, FetchFailed) and sitemap.reason == "url_too_long"


def test_a_page_of_one_giant_word_is_not_an_article() -> None:
    crawler = get_crawler()
    assert crawler.stats is not None
    crawler.stats.open_spider()
    pipe = ExtractPipeline(crawler.stats, workers=0)
    html = "<html><body><article><p>" + "Q" * 200_000 + "</p></article></body></html>"
    page = FetchedPage("s", f"{BASE}/w", f"{BASE}/w", 200, "text/html", html.encode(),
                       datetime.now(UTC))  # fmt: skip
    out = asyncio.run(pipe.process_item(page))
    assert isinstance(out, Rejected)
    assert out.rejection.reason == "too_short"  # one word, on a page not marked as an article


def test_the_telnet_console_is_off_unless_asked_for() -> None:
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    assert settings.getbool("TELNETCONSOLE_ENABLED") is False

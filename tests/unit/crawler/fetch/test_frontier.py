"""The disk frontier: pending requests wait in a private folder that the crawl removes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from scrapy import Request, Spider
from scrapy.utils.test import get_crawler

from crawler.extraction.record import Hints
from crawler.fetch.frontier import FRONTIER_FOLDER, DiskFrontierScheduler, remove_stale


class _Spider(Spider):
    name = "frontier-test"

    def parse_article(self, response: object) -> None:
        pass

    def article_failed(self, failure: object) -> None:
        pass


def _scheduler(tmp_path: Path, **settings: object) -> tuple[DiskFrontierScheduler, _Spider]:
    crawler = get_crawler(
        _Spider,
        {
            "NEWSINGEST_DATA_DIR": str(tmp_path),
            "NEWSINGEST_DISK_FRONTIER": True,  # the project's default (crawler.settings)
            "SCHEDULER": "crawler.fetch.frontier.DiskFrontierScheduler",
            # Scrapy's default (downloader-aware) queue needs a running engine; the
            # end-to-end crawls use it.
            "SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.ScrapyPriorityQueue",
            **settings,
        },
    )
    crawler.spider = spider = _Spider()
    assert crawler.stats is not None
    crawler.stats.open_spider()
    scheduler = DiskFrontierScheduler.from_crawler(crawler)
    scheduler.open(spider)
    return scheduler, spider


def _article(spider: _Spider, n: int) -> Request:
    return Request(
        f"http://127.0.0.1:8000/article/{n}.html",
        callback=spider.parse_article,
        errback=spider.article_failed,
        meta={"newsingest_kind": "article", "newsingest_hints": Hints(language="de")},
    )


def test_article_requests_wait_on_disk_and_come_back_whole(tmp_path: Path) -> None:
    scheduler, spider = _scheduler(tmp_path)
    for n in range(50):
        assert scheduler.enqueue_request(_article(spider, n))
    assert scheduler.dqs is not None and len(scheduler.dqs) == 50
    assert len(scheduler.mqs) == 0
    back = [scheduler.next_request() for _ in range(50)]
    assert scheduler.next_request() is None
    assert sorted(r.url for r in back if r) == sorted(_article(spider, n).url for n in range(50))
    first = back[0]
    assert first is not None
    assert first.callback == spider.parse_article
    assert first.errback == spider.article_failed
    assert first.meta["newsingest_hints"] == Hints(language="de")
    scheduler.close("finished")


def test_the_frontier_folder_is_removed_when_the_crawl_closes(tmp_path: Path) -> None:
    scheduler, spider = _scheduler(tmp_path)
    folder = scheduler.frontier_dir
    assert folder is not None and folder.parent == tmp_path / FRONTIER_FOLDER
    scheduler.enqueue_request(_article(spider, 1))
    assert any(folder.rglob("*"))
    scheduler.close("shutdown")
    assert not folder.exists()


def test_a_jobdir_keeps_scrapys_resumable_queue(tmp_path: Path) -> None:
    jobdir = tmp_path / "job"
    scheduler, spider = _scheduler(tmp_path, JOBDIR=str(jobdir))
    assert scheduler.frontier_dir is None
    scheduler.enqueue_request(_article(spider, 1))
    scheduler.close("shutdown")
    assert (jobdir / "requests.queue" / "active.json").exists()
    assert not (tmp_path / FRONTIER_FOLDER).exists()


def test_switched_off_the_requests_stay_in_memory(tmp_path: Path) -> None:
    scheduler, spider = _scheduler(tmp_path, NEWSINGEST_DISK_FRONTIER=False)
    assert scheduler.frontier_dir is None and scheduler.dqs is None
    scheduler.enqueue_request(_article(spider, 1))
    assert len(scheduler.mqs) == 1
    scheduler.close("finished")


def test_folders_of_crawls_that_are_gone_are_removed(tmp_path: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = tmp_path / f"{gone.stdout.strip()}-abc"
    mine = tmp_path / f"{os.getpid()}-def"
    alive = tmp_path / "1-ghi"  # pid 1 always runs
    other = tmp_path / "not-a-frontier"
    for folder in (dead, mine, alive, other):
        folder.mkdir()
    assert remove_stale(tmp_path) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (mine, alive, other)
    )


def test_a_refused_disk_write_keeps_the_request_and_later_ones_in_memory(
    tmp_path: Path,
) -> None:
    scheduler, spider = _scheduler(tmp_path)
    scheduler.enqueue_request(_article(spider, 0))  # on disk

    def full(request: Request) -> None:
        raise OSError(28, "No space left on device")

    assert scheduler.dqs is not None
    scheduler.dqs.push = full  # type: ignore[method-assign]
    assert scheduler.enqueue_request(_article(spider, 1))
    assert scheduler.enqueue_request(_article(spider, 2))
    assert scheduler.disk_failed and len(scheduler.mqs) == 2
    urls = {r.url for r in iter(scheduler.next_request, None)}
    assert urls == {_article(spider, n).url for n in range(3)}
    assert scheduler.stats is not None
    assert scheduler.stats.get_value("newsingest/frontier/disk_errors") == 1
    scheduler.close("finished")


def test_requests_that_cannot_be_read_back_are_counted_as_lost(tmp_path: Path) -> None:
    scheduler, spider = _scheduler(tmp_path)
    for n in range(3):
        scheduler.enqueue_request(_article(spider, n))

    def unreadable() -> Request:
        raise OSError(5, "Input/output error")

    assert scheduler.dqs is not None
    scheduler.dqs.pop = unreadable  # type: ignore[method-assign]
    assert scheduler.next_request() is None
    assert not scheduler.has_pending_requests()
    assert scheduler.stats is not None
    assert scheduler.stats.get_value("newsingest/frontier/lost") == 3
    scheduler.close("finished")


def test_a_data_dir_without_room_for_the_frontier_keeps_requests_in_memory(
    tmp_path: Path,
) -> None:
    (tmp_path / FRONTIER_FOLDER).write_text("a file where the folder should be")
    scheduler, spider = _scheduler(tmp_path)
    assert scheduler.frontier_dir is None and scheduler.dqs is None
    assert scheduler.enqueue_request(_article(spider, 1))
    assert len(scheduler.mqs) == 1
    assert scheduler.stats is not None
    assert scheduler.stats.get_value("newsingest/frontier/disk_errors") == 1
    assert scheduler.next_request() is not None
    scheduler.close("finished")

"""CompactDupeFilter: Scrapy's duplicate filter at 8 bytes a URL, also across a resumed job."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from scrapy import Request, Spider
from scrapy.utils.test import get_crawler

from crawler import settings as project
from crawler.fetch.dupefilter import SEEN_FILE, CompactDupeFilter, FingerprintSet
from crawler.fetch.frontier import DiskFrontierScheduler


@given(st.lists(st.integers(min_value=0, max_value=2**64 - 1) | st.integers(0, 40), max_size=300))
def test_fingerprint_set_answers_as_a_python_set_across_merges(keys: list[int]) -> None:
    small = FingerprintSet(min_recent=3, merge_ratio=2)  # merges every few inserts
    expected: set[int] = set()
    for key in keys:
        assert small.insert(key) is (key not in expected)
        expected.add(key)
    assert len(small) == len(expected)
    assert all(key in small for key in expected)
    assert not any(probe in small for probe in range(41, 60) if probe not in expected)


class _Spider(Spider):
    name = "dupefilter-test"


def test_a_repeated_request_is_filtered_and_counted(tmp_path: Path) -> None:
    # the project's own settings: its scheduler and the filter it configures
    settings = {k: getattr(project, k) for k in dir(project) if k.isupper()}
    settings["NEWSINGEST_DATA_DIR"] = str(tmp_path)
    # the project's downloader-aware queue needs a running engine; the filter does not
    settings["SCHEDULER_PRIORITY_QUEUE"] = "scrapy.pqueues.ScrapyPriorityQueue"
    crawler = get_crawler(_Spider, settings)
    crawler.spider = spider = _Spider.from_crawler(crawler)
    assert crawler.stats is not None
    crawler.stats.open_spider()
    scheduler = DiskFrontierScheduler.from_crawler(crawler)
    scheduler.open(spider)
    try:
        assert isinstance(scheduler.df, CompactDupeFilter)
        assert scheduler.enqueue_request(Request("http://127.0.0.1:8000/a.html"))
        assert scheduler.enqueue_request(Request("http://127.0.0.1:8000/b.html"))
        # Scrapy's fingerprint: the fragment does not make another page
        assert not scheduler.enqueue_request(Request("http://127.0.0.1:8000/a.html#top"))
        assert scheduler.enqueue_request(Request("http://127.0.0.1:8000/a.html", dont_filter=True))
        assert crawler.stats.get_value("dupefilter/filtered") == 1
    finally:
        scheduler.close("finished")


def test_a_resumed_job_remembers_its_requests_even_after_a_torn_write(tmp_path: Path) -> None:
    first = CompactDupeFilter(str(tmp_path))
    assert not first.request_seen(Request("http://127.0.0.1:8000/1.html"))
    assert not first.request_seen(Request("http://127.0.0.1:8000/2.html"))
    first.close("shutdown")
    with Path(tmp_path, SEEN_FILE).open("ab") as seen:
        seen.write(b"\x01\x02\x03")  # the process died in the middle of a write

    second = CompactDupeFilter(str(tmp_path))
    assert second.request_seen(Request("http://127.0.0.1:8000/1.html"))
    assert second.request_seen(Request("http://127.0.0.1:8000/2.html"))
    assert not second.request_seen(Request("http://127.0.0.1:8000/3.html"))
    second.close("shutdown")

    third = CompactDupeFilter(str(tmp_path))
    assert third.request_seen(Request("http://127.0.0.1:8000/3.html"))  # read aligned
    assert not third.request_seen(Request("http://127.0.0.1:8000/4.html"))
    third.close("finished")

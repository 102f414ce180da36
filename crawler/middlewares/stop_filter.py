"""`StopFilter` (spider middleware) cuts a callback's output short once the crawl is
asked to stop (see `crawler.extensions.stopping`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from crawler import stats as stat
from crawler.extensions.stopping import shortens_stops, stop_requested


class StopFilter:
    """Spider middleware: once the crawl is asked to stop, a callback's output ends at
    its first request (see `crawler.extensions.stopping`).

    Innermost (next to the spider): the rest of a sitemap's URLs are neither checked
    against the database nor queued. Items yielded before that request still pass; a
    discovery document cut short is read in full by the next crawl (a stopped crawl
    saves no validators).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StopFilter:
        if not shortens_stops(crawler):
            raise NotConfigured
        return cls(crawler)

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        async for out in result:
            if isinstance(out, Request) and stop_requested(self.crawler):
                assert self.crawler.stats is not None
                self.crawler.stats.inc_value(stat.STOP_CUT_CALLBACKS)
                aclose = getattr(result, "aclose", None)
                if aclose is not None:
                    await aclose()
                return
            yield out

"""`SharedRobotsTxt`: Scrapy's robots.txt middleware that also answers the spider's own
robots.txt request (discovery reads its sitemaps) with the response it fetched, so a
crawl asks a site for robots.txt once, not twice.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached

from crawler.meta import ROBOTS_TXT


class SharedRobotsTxt(RobotsTxtMiddleware):
    """Scrapy's `RobotsTxtMiddleware`, whose robots.txt download also answers the
    spider's robots.txt request (meta `ROBOTS_TXT`).

    The middleware fetches a host's robots.txt before the first request to that host
    (with retries); the spider's request then gets that response, or fails with that
    download's error, without being retried (the fetch already was), instead of a
    second download.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._fetched: dict[str, Response | Exception] = {}

    async def process_request(  # type: ignore[override]
        self, request: Request, spider: object = None
    ) -> Response | None:
        if not request.meta.get(ROBOTS_TXT):
            await super().process_request(request)
            return None
        await self.robot_parser(request)  # downloads it unless done already
        fetched = self._fetched.get(urlparse_cached(request).netloc)
        if fetched is None:  # fetched for another request's netloc: download it
            return None
        request.meta["dont_retry"] = True
        if isinstance(fetched, Exception):
            raise fetched
        return fetched.replace(request=request)

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        self._fetched[netloc] = response
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        self._fetched[netloc] = exc
        super()._robots_error(exc, netloc)

"""`ProxyAll`: every request through the HTTP proxy ``NEWSINGEST_PROXY``."""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured


class ProxyAll:
    """Every request through the HTTP proxy ``NEWSINGEST_PROXY`` (Scrapy's
    `HttpProxyMiddleware` reads ``meta["proxy"]``); off when the setting is empty. The
    demo crawls its loopback server this way under a stable site name."""

    def __init__(self, proxy: str) -> None:
        self.proxy = proxy

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProxyAll:
        proxy = crawler.settings.get("NEWSINGEST_PROXY") or ""
        if not proxy:
            raise NotConfigured
        return cls(str(proxy))

    def process_request(self, request: Request) -> None:
        request.meta.setdefault("proxy", self.proxy)

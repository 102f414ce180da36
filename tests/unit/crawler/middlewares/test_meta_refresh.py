"""The meta-refresh redirect: followed as Scrapy does, without decoding pages that have none."""

from __future__ import annotations

from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.middlewares.meta_refresh import MetaRefresh

URL = "http://127.0.0.1:8000/moved.html"


def _middleware() -> MetaRefresh:
    crawler = get_crawler()
    assert crawler.stats is not None
    crawler.stats.open_spider()
    return MetaRefresh.from_crawler(crawler)


def _response(body: bytes) -> HtmlResponse:
    return HtmlResponse(URL, body=body, request=Request(URL))


def test_a_meta_refresh_redirects_to_its_target() -> None:
    body = (
        b"<html><head><META HTTP-EQUIV='Refresh' CONTENT='0; url=/new.html'></head>"
        b"<body>moved</body></html>"
    )
    result = _middleware().process_response(Request(URL), _response(body))
    assert isinstance(result, Request)
    assert result.url == "http://127.0.0.1:8000/new.html"


def test_a_page_without_refresh_passes_undecoded() -> None:
    body = b"<html><head><title>Hafen</title></head><body>" + b"<p>Text</p>" * 5000 + b"</body>"
    response = _response(body)
    assert _middleware().process_response(Request(URL), response) is response
    assert response._cached_ubody is None  # Scrapy's check would have decoded the body


def test_a_utf16_page_gets_scrapys_full_check() -> None:
    html = "<html><head><meta http-equiv='refresh' content='0; url=/neu.html'></head></html>"
    body = html.encode("utf-16")
    response = HtmlResponse(URL, body=body, encoding="utf-16", request=Request(URL))
    result = _middleware().process_response(Request(URL), response)
    assert isinstance(result, Request)
    assert result.url.startswith("http://127.0.0.1:8000/neu.html")

"""`MetaRefresh`: Scrapy's meta-refresh redirect for pages that can have one.

Scrapy's own decodes every HTML body in full (``response.text``) to look at its first
4,096 characters, work the crawler's main process does for nothing on article pages,
whose bodies the extraction workers decode.
"""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.http import HtmlResponse, Response

_REFRESH_WINDOW = 4 * 4096
"""Bytes that hold Scrapy's 4,096-character meta-refresh window in any ASCII-compatible
encoding (at most 4 bytes a character)."""


class MetaRefresh(MetaRefreshMiddleware):
    """Scrapy's `MetaRefreshMiddleware`, skipped for pages that cannot hold a refresh.

    A meta refresh needs the word ``refresh`` in the window Scrapy reads; in an
    ASCII-compatible encoding that is the same bytes, so a body without them in its
    first `_REFRESH_WINDOW` bytes passes untouched (and undecoded). Bodies that may be
    UTF-16 or UTF-32 (NUL bytes near the start) always get Scrapy's full check.
    """

    def process_response(
        self, request: Request, response: Response, spider: Any = None
    ) -> Request | Response:
        if isinstance(response, HtmlResponse):
            head = response.body[:_REFRESH_WINDOW]
            if b"\x00" not in head[:1024] and b"refresh" not in head.lower():
                return response
        return super().process_response(request, response)

"""Items: what flows from the spider through the pipelines.

The spider yields `FetchedPage` (an article page as downloaded) and `FetchFailed`
(a URL that could not be fetched or parsed). `ExtractPipeline` turns a page into
`ExtractedArticle` or `Rejected`; `StorePipeline` writes all of them.

They serialize with Scrapy's item exporters (``scrapy crawl news -O items.jsonl``):
a page's raw body is exported as text (`body_text`), and the page of an extracted or
rejected article without its body (`page_summary`: the record holds the text), through
the ``serializer`` of the fields' metadata, which the exporters apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crawler.extraction.record import ArticleRecord, Hints, Rejection


def body_text(body: bytes) -> str:
    """A raw body as exported: UTF-8, undecodable bytes as U+FFFD."""
    return body.decode("utf-8", errors="replace")


def page_summary(page: FetchedPage) -> dict[str, Any]:
    """A page as exported beside its record: everything but the body, and its size."""
    return {
        "source_key": page.source_key,
        "requested_url": page.requested_url,
        "final_url": page.final_url,
        "status": page.status,
        "content_type": page.content_type,
        "body_bytes": len(page.body),
        "fetched_at": page.fetched_at,
        "hints": page.hints,
    }


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """An article page as downloaded."""

    source_key: str
    """Key of the source the page belongs to."""

    requested_url: str
    """URL as requested (after discovery, before redirects)."""

    final_url: str
    """URL of the response after redirects."""

    status: int
    """HTTP status of the final response."""

    content_type: str | None
    """Content-Type header of the response."""

    body: bytes = field(metadata={"serializer": body_text})
    """Raw response body (HTML); exported as text."""

    fetched_at: datetime
    """When the response arrived (UTC)."""

    hints: Hints | None = None
    """What discovery knew about the page (feed/sitemap title, date, author, language)."""

    headers: tuple[tuple[str, str], ...] = ()
    """The response's HTTP headers as kept with the page (`crawler.spiders.news.kept_headers`:
    no cookies, no transfer framing), in order."""


@dataclass(frozen=True, slots=True)
class ExtractedArticle:
    """A page that extraction turned into a record."""

    page: FetchedPage = field(metadata={"serializer": page_summary})
    """The page the record came from (exported without its body)."""

    record: ArticleRecord
    """The extracted record."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """A page that extraction judged not to be an article."""

    page: FetchedPage = field(metadata={"serializer": page_summary})
    """The page (exported without its body)."""

    rejection: Rejection
    """Why."""


@dataclass(frozen=True, slots=True)
class FetchFailed:
    """A URL that produced no page: network error, HTTP error, non-HTML, bad feed..."""

    source_key: str
    """Key of the source."""

    url: str
    """The URL that failed."""

    stage: str
    """``discovery`` (sitemap/feed/listing) or ``fetch`` (article page)."""

    reason: str
    """Short machine-friendly reason (``http_404``, ``dns_error``, ``not_html`` ...)."""

    status: int | None = None
    """HTTP status, when there was a response."""

    detail: str | None = None
    """Human-readable explanation."""

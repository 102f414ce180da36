"""Items: what flows from the spider through the pipelines.

The spider yields `FetchedPage` (an article page as downloaded) and `FetchFailed`
(a URL that could not be fetched or parsed). `ExtractPipeline` turns a page into
`ExtractedArticle` or `Rejected`; `StorePipeline` writes all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crawler.extraction.record import ArticleRecord, Hints, Rejection


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

    body: bytes
    """Raw response body (HTML)."""

    fetched_at: datetime
    """When the response arrived (UTC)."""

    hints: Hints | None = None
    """What discovery knew about the page (feed/sitemap title, date, author, language)."""


@dataclass(frozen=True, slots=True)
class ExtractedArticle:
    """A page that extraction turned into a record."""

    page: FetchedPage
    """The page the record came from."""

    record: ArticleRecord
    """The extracted record."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """A page that extraction judged not to be an article."""

    page: FetchedPage
    """The page."""

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

"""NewsSpider: discovery and fetching for one source. It only fetches and routes.

Discovery reads the source's sitemaps (or those robots.txt names), feeds and listing
pages, keeps the URLs the source calls articles and that are fresh enough, and requests
them with what discovery knew as extraction hints. Article responses leave as
`FetchedPage` items; every failed fetch leaves as a `FetchFailed` item. Parsing is done
by the pure `crawler.discovery` functions; the spider keeps no state beyond counters, so
several processes can share one request queue.

Longer than ~400 lines on purpose: one Scrapy spider, whose callbacks follow a source
from robots.txt to an article request; Scrapy finds them on the spider's class.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.python.failure import Failure
from w3lib.encoding import http_content_type_encoding

from crawler import stats as stat
from crawler.discovery import (
    DiscoveryError,
    extract_links,
    is_fresh,
    pagination_links,
    parse_feed,
    parse_sitemap,
    sitemaps_from_robots,
)
from crawler.exceptions import AlreadyStored, CrawlStopped
from crawler.extraction.record import Hints
from crawler.failures import FailureReason, http_reason
from crawler.items import FetchedPage, FetchFailed
from crawler.meta import (
    ARTICLE,
    CONDITIONAL,
    DEPTH,
    DISCOVERY,
    HINTS,
    KIND,
    NO_VALIDATORS,
    ROBOTS_TXT,
)
from crawler.sources import Source, SourcesError, load_sources, page_hints

logger = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
DISCOVERY_PRIORITY = 10
"""Feeds, listings and top-level sitemaps go before articles."""
CHILD_SITEMAP_PRIORITY = -10
"""The sitemaps of a sitemap index go after the articles already found (pending
requests wait on disk, see `crawler.fetch.frontier`, so a large index costs no memory)."""


_NETWORK_REASONS = (
    # (reason, exception class names anywhere in the cause chain), first match wins
    (FailureReason.TLS_ERROR, ("SSLError", "SSL.Error", "Error@OpenSSL.SSL", "CertificateError")),
    (FailureReason.DNS_ERROR, ("DNSLookupError", "CannotResolveHostError", "gaierror")),
    (FailureReason.TIMEOUT, ("DownloadTimeoutError", "TimeoutError", "TCPTimedOutError")),
    (FailureReason.TRUNCATED, ("ResponseDataLossError", "_DataLoss", "PotentialDataLoss")),
    (FailureReason.BAD_RESPONSE, ("ParseError", "BadStatusLine", "BadHttpHeaderError")),
    (
        FailureReason.CONNECTION_REFUSED,
        ("DownloadConnectionRefusedError", "ConnectionRefusedError"),
    ),
    (FailureReason.CONNECTION_RESET, ("ConnectionResetError",)),
    (FailureReason.CONNECTION_CLOSED, ("ConnectionDone",)),
    (FailureReason.CONNECTION_LOST, ("ConnectionLost", "ConnectionAborted", "BrokenPipeError")),
    (FailureReason.CANCELLED, ("CancelledError", "DownloadCancelledError")),
    (FailureReason.UNSUPPORTED_SCHEME, ("UnsupportedURLSchemeError", "NotSupported")),
)
"""Network failure reasons by the exception types that cause them (Scrapy 2.19 wraps
Twisted's errors in its own ``Download*Error`` types, with the original as the cause)."""


def _cause_chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what caused it: ``__cause__``/``__context__`` and Twisted's ``reasons``."""
    out: list[BaseException] = []
    todo: list[object] = [exc]
    while todo and len(out) < 20:
        item = todo.pop(0)
        value = getattr(item, "value", item) if isinstance(item, Failure) else item
        if not isinstance(value, BaseException) or any(value is seen for seen in out):
            continue
        out.append(value)
        todo.extend(getattr(value, "reasons", None) or [])
        todo.extend(x for x in (value.__cause__, value.__context__) if x is not None)
    return out


def _class_keys(exc: BaseException) -> set[str]:
    keys: set[str] = set()
    for cls in type(exc).__mro__:
        keys.add(cls.__name__)
        keys.add(f"{cls.__name__}@{cls.__module__}")
        keys.add(f"{cls.__module__.rsplit('.', 1)[-1]}.{cls.__name__}")
    return keys


_DESCRIPTIONS: dict[str, str] = {
    FailureReason.TLS_ERROR: "TLS handshake failed",
    FailureReason.DNS_ERROR: "the host name does not resolve",
    FailureReason.TIMEOUT: "no complete answer in time",
    FailureReason.TRUNCATED: "the body ended before its announced length (connection closed early)",
    FailureReason.BAD_RESPONSE: "the answer is not valid HTTP",
    FailureReason.CONNECTION_REFUSED: "connection refused",
    FailureReason.CONNECTION_RESET: "the connection was reset",
    FailureReason.CONNECTION_CLOSED: "the server closed the connection without answering",
    FailureReason.CONNECTION_LOST: "the connection was lost",
    FailureReason.CANCELLED: "the download was cancelled",
    FailureReason.UNSUPPORTED_SCHEME: "the URL scheme is not supported",
    FailureReason.DOWNLOAD_FAILED: "the download failed",
}


def _detail(reason: str, chain: list[BaseException]) -> str:
    """What happened in words, then the innermost cause (Scrapy's wrappers repeat it)."""
    if not chain:
        return _DESCRIPTIONS.get(reason, reason)
    inner = chain[-1]
    text = " ".join(str(inner).split())
    cause = f"{type(inner).__name__}: {text}" if text else type(inner).__name__
    return f"{_DESCRIPTIONS.get(reason, reason)} ({cause})"


def failure_reason(failure: Failure) -> tuple[str, int | None, str]:
    """A short reason, the HTTP status if any, and a detail for a failed request.

    Network errors are classified by every exception in their cause chain, so a reset,
    a cut-off body, a stalled server, a TLS handshake with a plain-HTTP server, a name
    that does not resolve or a non-HTTP answer each get their own reason (see
    `_NETWORK_REASONS`); an unknown error keeps its class name as the reason.
    """
    exc = failure.value
    response = getattr(exc, "response", None)
    status = getattr(response, "status", None)
    name = type(exc).__name__
    detail = " ".join(str(exc).split()) or name
    if name == "HttpError" and status is not None:
        return http_reason(status), status, f"HTTP {status}"
    if name == "RedirectLoop":
        return FailureReason.REDIRECT_LOOP, status, detail
    if name == "OffsiteRedirect":
        return FailureReason.OFFSITE_REDIRECT, status, detail
    if name == "DeniedRedirect":
        return FailureReason.DENIED_REDIRECT, status, detail
    if "maxsize" in detail.lower() or "max size" in detail.lower():
        # also Scrapy's IgnoreRequest for a body that inflates past DOWNLOAD_MAXSIZE
        return FailureReason.TOO_LARGE, status, detail
    if name == "IgnoreRequest":
        text = detail.lower()
        if "robots" in text:
            return FailureReason.ROBOTS_DISALLOWED, status, detail
        if "offsite" in text or "filtered offsite" in text:
            return FailureReason.OFFSITE, status, detail
        return FailureReason.IGNORED, status, detail
    chain = _cause_chain(exc) if exc is not None else []
    keys: set[str] = set().union(*(_class_keys(e) for e in chain))
    texts = " ".join(str(e) for e in chain)
    for reason, names in _NETWORK_REASONS:
        if keys.intersection(names):
            found = reason
            if found == FailureReason.CONNECTION_LOST and "non-clean" in texts:
                found = FailureReason.CONNECTION_RESET  # how Twisted reports a TCP reset
            return found, status, _detail(found, chain)
    if name == "DownloadFailedError":
        return FailureReason.DOWNLOAD_FAILED, status, _detail(FailureReason.DOWNLOAD_FAILED, chain)
    return name, status, detail


def _charset(response: Response) -> str | None:
    """The charset of the response's ``Content-Type`` (as Scrapy reads it), if any: the
    fallback for a feed or sitemap that declares no encoding."""
    content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
    return http_content_type_encoding(content_type)


DROPPED_HEADERS = frozenset(
    {
        "set-cookie", "set-cookie2",  # the crawler's session, not the page
        "content-length", "content-encoding", "transfer-encoding",  # the body is kept decoded
        "connection", "keep-alive",  # hop-by-hop
    }
)  # fmt: skip
MAX_HEADERS = 64
MAX_HEADER_BYTES = 8192


def kept_headers(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The HTTP response headers kept with a page (``pages.http_headers``, written back by
    the WARC export): in order, without cookies, the transfer's framing (the body is kept
    decoded) and hop-by-hop headers; at most `MAX_HEADERS`, `MAX_HEADER_BYTES` in all (the
    rest are dropped). The rule for crawled and archived pages alike."""
    out: list[tuple[str, str]] = []
    size = 0
    for name, value in pairs:
        if name.lower() in DROPPED_HEADERS:
            continue
        size += len(name) + len(value) + 4
        if len(out) >= MAX_HEADERS or size > MAX_HEADER_BYTES:
            break
        out.append((name, value))
    return tuple(out)


def response_headers(response: Response) -> tuple[tuple[str, str], ...]:
    """`kept_headers` of a Scrapy response (names as Scrapy normalises them)."""
    return kept_headers(
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, values in response.headers.items()
        for value in values
    )


def looks_like_html(content_type: str | None, body: bytes) -> bool:
    """Whether a response is an HTML page: its ``Content-Type`` says so, or, when it has
    none, its body starts like one. The rule for crawled and archived pages alike."""
    ctype = (content_type or "").lower()
    if not ctype:
        return body[:1024].lstrip().lower().startswith((b"<!doctype html", b"<html"))
    return any(t in ctype for t in HTML_TYPES)


class NewsSpider(scrapy.Spider):
    """Crawls one source: ``scrapy crawl news -a source=KEY``."""

    name = "news"

    def __init__(
        self, source: str | None = None, seed: str | bool = True, *args: Any, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.source_key = source
        # In a distributed crawl only the seeding worker yields the discovery requests;
        # the others take theirs from the shared queue.
        self.seed = seed not in (False, "0", "false", "no")
        self.source: Source
        self.max_articles = 0
        self.articles_requested = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> NewsSpider:
        spider: NewsSpider = super().from_crawler(crawler, *args, **kwargs)
        if not spider.source_key:
            raise ValueError("the news spider needs a source: -a source=KEY")
        path = kwargs.get("sources") or crawler.settings.get("NEWSINGEST_SOURCES")
        try:
            by_key = {s.key: s for s in load_sources(path)}
        except SourcesError as exc:
            raise ValueError(str(exc)) from exc
        if spider.source_key not in by_key:
            raise ValueError(f"unknown source {spider.source_key!r} in {path}")
        spider.source = by_key[spider.source_key]
        spider.allowed_domains = [spider.source.domain]  # type: ignore[attr-defined]
        spider.max_articles = int(
            kwargs.get("max_articles") or crawler.settings.getint("NEWSINGEST_MAX_ARTICLES")
        )
        return spider

    # --- discovery --------------------------------------------------------------------
    async def start(self) -> AsyncIterator[Any]:
        if not self.seed:
            return
        src = self.source
        sitemaps = src.sitemap_urls
        if sitemaps:
            for url in sitemaps:
                yield self._discovery(url, self.parse_sitemap)
        else:
            robots = self._discovery(
                urljoin(src.url, "/robots.txt"), self.parse_robots, conditional=False
            )
            if isinstance(robots, scrapy.Request):  # answered by the robots.txt middleware
                robots.meta[ROBOTS_TXT] = True
            yield robots
        for url in src.feed_urls:
            yield self._discovery(url, self.parse_feed)
        listings = src.listing_urls or ((src.url,) if not src.feed_urls else ())
        for url in listings:
            yield self._discovery(url, self.parse_listing, depth=0)

    def _discovery(
        self,
        url: str,
        callback: Any,
        depth: int = 0,
        *,
        conditional: bool = True,
        priority: int = DISCOVERY_PRIORITY,
    ) -> scrapy.Request | FetchFailed:
        too_long = self._too_long(url, "discovery")
        if too_long is not None:
            return too_long
        try:
            return scrapy.Request(
                url,
                callback=callback,
                errback=self.discovery_failed,
                meta={
                    KIND: DISCOVERY,
                    DEPTH: depth,
                    CONDITIONAL: conditional,
                    "handle_httpstatus_list": [304],
                },
                priority=priority,
            )
        except ValueError as exc:  # the URL parsers refuse it
            return self._invalid_url(url, "discovery", exc)

    def _not_modified(self, response: Response) -> bool:
        """A 304 to a conditional request: the document is unchanged since the last crawl."""
        if response.status != 304:
            return False
        self._discovered_ok()
        return True

    def parse_robots(self, response: Response) -> Iterator[Any]:
        if self._not_modified(response):
            return
        self._discovered_ok()
        for url in sitemaps_from_robots(response.text, response.url):
            if self.source.allows_domain(url):
                yield self._discovery(url, self.parse_sitemap)

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        if self._not_modified(response):
            return
        maxsize = int(self.settings.getint("DOWNLOAD_MAXSIZE") or 50 * 1024 * 1024)
        try:
            sitemap = parse_sitemap(
                response.body,
                response.url,
                max_size=maxsize,
                encoding=_charset(response),
                country=self.source.country,
            )
        except DiscoveryError as exc:
            yield self._bad_discovery(response, FailureReason.BAD_SITEMAP, str(exc))
            return
        self._discovered_ok()
        if sitemap.kind == "sitemapindex":
            response.meta[NO_VALIDATORS] = True  # children may change on their own
        now = datetime.now(UTC)
        for ref in sitemap.sitemaps:
            if not self.source.allows_domain(ref.url):
                continue
            if not is_fresh(ref.lastmod, self.source.max_age_days, now):
                self._inc(stat.DISCOVERY_SKIPPED_OLD_SITEMAPS)
                continue
            yield self._discovery(ref.url, self.parse_sitemap, priority=CHILD_SITEMAP_PRIORITY)
        for entry in sitemap.entries:
            hints = page_hints(
                self.source,
                title=entry.news_title,
                authors=entry.authors,
                published_at=entry.news_publication_date,
                language=entry.news_language,
            )
            yield from self._article(entry.url, entry.published_at, hints, now)

    def parse_feed(self, response: Response) -> Iterator[Any]:
        if self._not_modified(response):
            return
        maxsize = int(self.settings.getint("DOWNLOAD_MAXSIZE") or 50 * 1024 * 1024)
        try:
            feed = parse_feed(
                response.body,
                response.url,
                max_size=maxsize,
                encoding=_charset(response),
                country=self.source.country,
            )
        except DiscoveryError as exc:
            yield self._bad_discovery(response, FailureReason.BAD_FEED, str(exc))
            return
        self._discovered_ok()
        now = datetime.now(UTC)
        for entry in feed.entries:
            hints = page_hints(
                self.source,
                title=entry.title,
                authors=entry.authors,
                published_at=entry.published_at,
                language=entry.language,
            )
            yield from self._article(entry.url, entry.published_at or entry.updated_at, hints, now)

    def parse_listing(self, response: Response) -> Iterator[Any]:
        if self._not_modified(response):
            return
        self._discovered_ok()
        if not self._is_html(response):
            yield self._bad_discovery(response, FailureReason.NOT_HTML, "listing page is not HTML")
            return
        now = datetime.now(UTC)
        depth = int(response.meta.get(DEPTH, 0))
        for url in extract_links(response.body, response.url):
            if self.source.is_article_url(url):
                yield from self._article(url, None, page_hints(self.source), now)
        if self.source.follow_pagination and depth < self.source.listing_depth:
            for url in pagination_links(response.body, response.url):
                if self.source.allows_domain(url):
                    yield self._discovery(url, self.parse_listing, depth=depth + 1)

    def _article(
        self, url: str, when: datetime | None, hints: Hints, now: datetime
    ) -> Iterator[scrapy.Request | FetchFailed]:
        self._inc(stat.DISCOVERY_URLS_FOUND)
        try:
            yield from self._article_request(url, when, hints, now)
        except ValueError as exc:  # the URL parsers refuse it: one bad link, not the page's
            yield self._invalid_url(url, "fetch", exc)

    def _article_request(
        self, url: str, when: datetime | None, hints: Hints, now: datetime
    ) -> Iterator[scrapy.Request | FetchFailed]:
        if not self.source.allows_domain(url):
            self._inc(stat.DISCOVERY_SKIPPED_OFFSITE)
            return
        if not self.source.is_article_url(url):
            self._inc(stat.DISCOVERY_SKIPPED_PATTERN)
            return
        if not is_fresh(when, self.source.max_age_days, now):
            self._inc(stat.DISCOVERY_SKIPPED_OLD)
            return
        if self.max_articles and self.articles_requested >= self.max_articles:
            self._inc(stat.DISCOVERY_SKIPPED_MAX_ARTICLES)
            return
        too_long = self._too_long(url, "fetch")
        if too_long is not None:
            yield too_long
            return
        self.articles_requested += 1
        yield scrapy.Request(
            url,
            callback=self.parse_article,
            errback=self.article_failed,
            meta={KIND: ARTICLE, HINTS: hints},
        )

    # --- articles -----------------------------------------------------------------------
    def parse_article(self, response: Response) -> Iterator[Any]:
        request_url = (response.meta.get("redirect_urls") or [response.url])[0]
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1") or None
        if not self._is_html(response):
            yield FetchFailed(
                source_key=self.source.key,
                url=request_url,
                stage="fetch",
                reason=FailureReason.NOT_HTML,
                status=response.status,
                detail=f"content type {content_type!r} is not HTML",
            )
            return
        self._inc(stat.FETCH_ARTICLES)
        yield FetchedPage(
            source_key=self.source.key,
            requested_url=request_url,
            final_url=response.url,
            status=response.status,
            content_type=content_type,
            body=response.body,
            fetched_at=datetime.now(UTC),
            hints=response.meta.get(HINTS),
            headers=response_headers(response),
        )

    def _is_html(self, response: Response) -> bool:
        ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        return looks_like_html(ctype, response.body)

    # --- failures -----------------------------------------------------------------------
    def article_failed(self, failure: Failure) -> Iterator[Any]:
        if isinstance(failure.value, (AlreadyStored, CrawlStopped)):
            return
        yield self._failed(failure, "fetch")

    def discovery_failed(self, failure: Failure) -> Iterator[Any]:
        if isinstance(failure.value, CrawlStopped):
            return  # not fetched: the next crawl asks again
        self._inc(stat.DISCOVERY_FAILED)
        yield self._failed(failure, "discovery")

    def _failed(self, failure: Failure, stage: str) -> FetchFailed:
        reason, status, detail = failure_reason(failure)
        request = getattr(failure, "request", None)
        # Record the URL discovery asked for, not where redirects ended.
        url = (request.meta.get("redirect_urls") or [request.url])[0] if request else "?"
        self._inc(stat.failed(stage, reason))
        logger.info("%s failed: %s (%s)", url, reason, detail)
        return FetchFailed(
            source_key=self.source.key,
            url=url,
            stage=stage,
            reason=reason,
            status=status,
            detail=detail[:1000],
        )

    def _bad_discovery(self, response: Response, reason: str, detail: str) -> FetchFailed:
        self._inc(stat.DISCOVERY_FAILED)
        self._inc(stat.failed("discovery", reason))
        logger.warning("%s: %s (%s)", response.url, reason, detail)
        return FetchFailed(
            source_key=self.source.key,
            url=response.url,
            stage="discovery",
            reason=reason,
            status=response.status,
            detail=detail[:1000],
        )

    def _too_long(self, url: str, stage: str) -> FetchFailed | None:
        """A failure for a URL longer than ``URLLENGTH_LIMIT`` (Scrapy would drop its
        request with a debug line only), else None."""
        limit = self.settings.getint("URLLENGTH_LIMIT", 2083)
        if not limit or len(url) <= limit:
            return None
        self._inc(stat.failed(stage, FailureReason.URL_TOO_LONG))
        logger.warning("not fetching a URL of %d characters: %s...", len(url), url[:200])
        return FetchFailed(
            source_key=self.source.key,
            url=url,
            stage=stage,
            reason=FailureReason.URL_TOO_LONG,
            status=None,
            detail=f"the URL has {len(url)} characters; URLLENGTH_LIMIT is {limit}",
        )

    def _invalid_url(self, url: str, stage: str, exc: ValueError) -> FetchFailed:
        """A failure for a URL that Scrapy's URL parsing refuses (a host that is no valid
        name or address, a port out of range): Scrapy would raise while the page's other
        links wait behind it."""
        self._inc(stat.failed(stage, FailureReason.INVALID_URL))
        logger.warning("not fetching an invalid URL (%s): %s", exc, url[:200])
        return FetchFailed(
            source_key=self.source.key,
            url=url[:2000],
            stage=stage,
            reason=FailureReason.INVALID_URL,
            status=None,
            detail=str(exc)[:1000],
        )

    def _discovered_ok(self) -> None:
        self._inc(stat.DISCOVERY_OK)

    def _inc(self, key: str, count: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key, count)

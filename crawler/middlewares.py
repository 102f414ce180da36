"""Middlewares: the already-stored URL filters, conditional requests, retries, redirects.

`StoredUrlBatchFilter` (spider middleware) and `StoredUrlFilter` (downloader
middleware) make crawls incremental: an article request whose URL is stored (as
canonical, requested or final URL) is dropped before download unless a refresh is
asked for. Discovery's requests are checked in batches as they leave the spider; the
downloader filter checks what reaches it unchecked. Lookups run in a thread, never on
the reactor.

`PoliteRetry` waits before retries as the server asks (Retry-After) or with backoff,
after a 5xx/429 answer and after a network error alike (a wait ends when the crawl is
asked to stop).

`StopFilter` cuts a callback's output short once the crawl is asked to stop.

`MetaRefresh` is Scrapy's meta-refresh redirect for pages that can have one: Scrapy's
own decodes every HTML body in full (``response.text``) to look at its first 4,096
characters, work the crawler's main process does for nothing on article pages, whose
bodies the extraction workers decode.

`SharedRobotsTxt` is Scrapy's robots.txt middleware that also answers the spider's own
robots.txt request (discovery reads its sitemaps) with the response it fetched, so a
crawl asks a site for robots.txt once, not twice.

`RedirectGuard` turns redirect loops and redirects that leave the source's domains into
errors the spider records (Scrapy would drop both silently: the duplicate filter eats
the loop, the off-site filter the redirect).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Self
from urllib.parse import urljoin

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import NotConfigured
from scrapy.http import HtmlResponse, Response
from scrapy.settings import Settings
from scrapy.statscollectors import StatsCollector
from scrapy.utils.httpobj import urlparse_cached
from sqlalchemy import Engine

from crawler import stats as stat
from crawler.exceptions import AlreadyStored, DeniedRedirect, OffsiteRedirect, RedirectLoop
from crawler.extraction.urls import canonicalize_url
from crawler.failures import is_transient_reason
from crawler.meta import ARTICLE, CHECKED, CONDITIONAL, DISCOVERY, KIND, NO_VALIDATORS, ROBOTS_TXT
from crawler.stopping import POLL_SECONDS as STOP_POLL_SECONDS
from crawler.stopping import shortens_stops, stop_requested
from storage import db, repository

logger = logging.getLogger(__name__)


class _StoredUrls:
    """The stored-URL lookup shared by both filters: one query for many URLs, in a thread.

    ``lookup`` answers which of some URLs are stored; by default the database's
    `storage.repository.stored_urls` (tests give a stand-in).
    """

    def __init__(
        self,
        stats: StatsCollector,
        database_url: str | None,
        data_dir: Path,
        lookup: Callable[[list[str]], set[str]] | None = None,
    ) -> None:
        self.stats = stats
        self.database_url = database_url
        self.data_dir = data_dir
        self.lookup = lookup or self._stored_in_database
        self._engine: Engine | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        s = crawler.settings
        if s.getbool("NEWSINGEST_REFRESH") or not s.getbool("NEWSINGEST_STORE_ENABLED"):
            raise NotConfigured
        assert crawler.stats is not None
        mw = cls(
            crawler.stats, s.get("NEWSINGEST_DATABASE_URL") or None, Path(s["NEWSINGEST_DATA_DIR"])
        )
        mw.configure(s)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    def configure(self, settings: Settings) -> None:
        """Read the settings of the subclass (after `__init__`)."""

    @staticmethod
    def candidates(url: str) -> list[str]:
        """The forms of ``url`` that count as stored: as requested, and canonical."""
        return list(dict.fromkeys([url, canonicalize_url(url)]))

    def _stored_in_database(self, urls: list[str]) -> set[str]:
        if self._engine is None:
            self._engine = db.make_engine(
                db.resolve_url(self.database_url, self.data_dir), pool_size=1
            )
        with db.make_session_factory(self._engine)() as session:
            return repository.stored_urls(session, urls)

    async def stored(self, urls: list[str]) -> set[str]:
        """Those of ``urls`` already stored (one query, off the reactor)."""
        return await asyncio.to_thread(self.lookup, urls)

    def spider_closed(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


class StoredUrlBatchFilter(_StoredUrls):
    """Spider middleware: drops the article requests of a callback whose URL is stored.

    Article requests leaving a discovery callback (a sitemap lists up to 50,000) are
    checked ``NEWSINGEST_STORED_CHECK_BATCH`` at a time with one query each, instead of
    one query per request: a re-crawl of an unchanged site costs a few queries per
    sitemap. Requests let through carry the checked URL in their meta (`CHECKED`), so
    the downloader filter does not ask again. The check runs before Scrapy's duplicate
    filter: ``newsingest/incremental/skipped_stored`` counts a stored URL once per time
    discovery yields it (found in a sitemap and on a listing page: twice).

    A batch's requests are alive until its query returns, in every sitemap response
    being processed at once (all the children of a sitemap index arrive together): with
    20 sitemaps of 1,000 URLs the main process's peak resident memory was 204-211 MB with
    batches of 500, 193 with 100, 186 with 25. Batches of 50 cost a re-crawl 20 queries
    per 1,000 URLs.
    """

    batch_size = 50

    def configure(self, settings: Settings) -> None:
        self.batch_size = max(1, settings.getint("NEWSINGEST_STORED_CHECK_BATCH"))

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        batch: list[Request] = []
        async for out in result:
            if (
                isinstance(out, Request)
                and out.meta.get(KIND) == ARTICLE
                and out.meta.get(CHECKED) != out.url
            ):
                batch.append(out)
                if len(batch) >= self.batch_size:
                    for request in await self.filter(batch):
                        yield request
                    batch = []
            else:
                yield out
        if batch:
            for request in await self.filter(batch):
                yield request

    async def filter(self, requests: list[Request]) -> list[Request]:
        """The requests whose URL is not stored, marked as checked."""
        forms = {r.url: self.candidates(r.url) for r in requests}
        try:
            found = await self.stored(list(dict.fromkeys(u for fs in forms.values() for u in fs)))
        except Exception as exc:  # the database being down must not stop fetching
            logger.warning(
                "stored-URL check of %d requests failed (%s); fetching them anyway",
                len(requests),
                exc,
            )
            self.stats.inc_value(stat.INCREMENTAL_CHECK_FAILED, len(requests))
            found = set()
        kept: list[Request] = []
        for request in requests:
            if found.intersection(forms[request.url]):
                self.stats.inc_value(stat.INCREMENTAL_SKIPPED_STORED)
                continue
            request.meta[CHECKED] = request.url
            kept.append(request)
        return kept


class StopFilter:
    """Spider middleware: once the crawl is asked to stop, a callback's output ends at
    its first request (see `crawler.stopping`).

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


class StoredUrlFilter(_StoredUrls):
    """Downloader middleware: drops an article request whose URL is stored.

    Only requests `StoredUrlBatchFilter` did not check for their current URL reach the
    database here (one query each): the new URL of a redirect, requests made elsewhere.
    """

    async def process_request(self, request: Request) -> None:
        meta = request.meta
        if meta.get(KIND) != ARTICLE or meta.get(CHECKED) == request.url:
            return None
        try:
            found = await self.stored(self.candidates(request.url))
        except Exception as exc:  # the database being down must not stop fetching
            logger.warning("stored-URL check failed (%s); fetching %s anyway", exc, request.url)
            self.stats.inc_value(stat.INCREMENTAL_CHECK_FAILED)
            return None
        if found:
            self.stats.inc_value(stat.INCREMENTAL_SKIPPED_STORED)
            raise AlreadyStored(f"already stored: {request.url}")
        meta[CHECKED] = request.url
        return None


class RedirectGuard:
    """Raises `RedirectLoop` / `OffsiteRedirect` / `DeniedRedirect` for redirects.

    Every hop is checked: a 3xx's ``Location`` when the response arrives, and every
    request that is itself a hop (a 3xx or a ``<meta http-equiv=refresh>``: it carries
    ``redirect_urls``) before it is downloaded (`ScopeGuard`). A hop must stay within the source's
    domains and port (`Source.allows_domain`; Scrapy's own off-site check ignores
    ports), and a hop of an article request must still be an article URL of the source
    (``article_urls`` allow/deny, `Source.is_article_url`). Scrapy would drop a loop and
    an off-site hop silently; these become failures the spider records.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedirectGuard:
        return cls(crawler)

    def check(self, request: Request, target: str) -> None:
        """Raise when ``target``, a hop of ``request``, leaves the source's scope."""
        source = getattr(self.crawler.spider, "source", None)
        if source is None:
            return
        if not source.allows_domain(target):
            raise OffsiteRedirect(f"redirect leaves the source's domains: {target}")
        if request.meta.get(KIND) == ARTICLE and not source.is_article_url(target):
            raise DeniedRedirect(f"redirect to a URL article_urls does not allow: {target}")

    def process_response(self, request: Request, response: Response) -> Response:
        if not 300 <= response.status < 400 or b"Location" not in response.headers:
            return response
        location = (response.headers.get(b"Location") or b"").decode("latin-1")
        target = urljoin(request.url, location.strip())
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if target in chain:
            raise RedirectLoop(f"redirect loop: {' -> '.join([*chain, target])}")
        self.check(request, target)
        return response


class ScopeGuard:
    """`RedirectGuard`'s check of every hop request, before robots.txt is asked for it
    (so an off-scope origin is not contacted at all)."""

    def __init__(self, crawler: Crawler) -> None:
        self.guard = RedirectGuard(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ScopeGuard:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if request.meta.get("redirect_urls"):
            self.guard.check(request, request.url)


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


class ConditionalRequests:
    """Conditional GETs for discovery URLs (feeds, sitemaps, listing pages).

    ETag and Last-Modified of discovery responses are remembered in ``url_state`` when
    the crawl finishes successfully (so a crawl that died half-way asks again in full)
    and sent back as If-None-Match / If-Modified-Since by the next crawl; a 304 reaches
    the spider, which then skips that document. Sitemap indexes are never answered from
    validators: the spider flags them, since their children can change on their own.
    """

    def __init__(self, stats: StatsCollector, database_url: str | None, data_dir: Path) -> None:
        self.stats = stats
        self.database_url = database_url
        self.data_dir = data_dir
        self._engine: Engine | None = None
        self._seen: list[tuple[dict[str, object], repository.Validators]] = []
        self.refresh = False
        """A refresh (``crawl --refresh``) asks for everything in full and remembers
        the new validators for the next crawl."""
        self.distributed = False
        """A worker of a distributed crawl (``NEWSINGEST_CRAWL_ID``) keeps no validators."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequests:
        s = crawler.settings
        if not s.getbool("NEWSINGEST_CONDITIONAL_REQUESTS") or not s.getbool(
            "NEWSINGEST_STORE_ENABLED"
        ):
            raise NotConfigured
        assert crawler.stats is not None
        mw = cls(
            crawler.stats, s.get("NEWSINGEST_DATABASE_URL") or None, Path(s["NEWSINGEST_DATA_DIR"])
        )
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        mw.refresh = s.getbool("NEWSINGEST_REFRESH")
        mw.distributed = bool(s.get("NEWSINGEST_CRAWL_ID"))
        return mw

    @staticmethod
    def _key(request: Request) -> str:
        return str((request.meta.get("redirect_urls") or [request.url])[0])

    def _engine_for_thread(self) -> Engine:
        if self._engine is None:
            url = db.resolve_url(self.database_url, self.data_dir)
            self._engine = db.make_engine(url, pool_size=1)
        return self._engine

    def _lookup(self, url: str) -> repository.Validators | None:
        with db.make_session_factory(self._engine_for_thread())() as session:
            return repository.get_validators(session, [url]).get(url)

    async def process_request(self, request: Request) -> None:
        meta = request.meta
        if meta.get(KIND) != DISCOVERY or not meta.get(CONDITIONAL):
            return None
        if self.refresh:
            return None
        try:
            found = await asyncio.to_thread(self._lookup, self._key(request))
        except Exception as exc:
            logger.warning("validator lookup failed (%s); plain GET of %s", exc, request.url)
            return None
        if found is not None:
            if found.etag:
                request.headers[b"If-None-Match"] = found.etag.encode("latin-1")
            if found.last_modified:
                request.headers[b"If-Modified-Since"] = found.last_modified.encode("latin-1")
        return None

    def process_response(self, request: Request, response: Response) -> Response:
        meta = request.meta
        if meta.get(KIND) != DISCOVERY or not meta.get(CONDITIONAL):
            return response
        if response.status == 304:
            self.stats.inc_value(stat.DISCOVERY_NOT_MODIFIED)
            return response
        if response.status == 200:
            etag = response.headers.get(b"ETag")
            modified = response.headers.get(b"Last-Modified")
            if etag or modified:
                self._seen.append(
                    (
                        meta,
                        repository.Validators(
                            url=self._key(request),
                            etag=etag.decode("latin-1") if etag else None,
                            last_modified=modified.decode("latin-1") if modified else None,
                            status=200,
                        ),
                    )
                )
        return response

    async def spider_closed(self, spider: object, reason: str) -> None:
        keep = [v for meta, v in self._seen if not meta.get(NO_VALIDATORS)]
        if reason != "finished" or not keep:
            return
        if not self.complete(self.stats.get_stats(), distributed=self.distributed):
            logger.info("not remembering validators: this crawl may have missed articles")
            return
        try:
            await asyncio.to_thread(self._save, keep)
            self.stats.inc_value(stat.DISCOVERY_VALIDATORS_SAVED, len(keep))
        except Exception as exc:
            logger.warning("could not remember validators: %s", exc)

    @staticmethod
    def complete(stats: dict[str, object], *, distributed: bool = False) -> bool:
        """Whether a finished crawl saw everything its discovery documents listed.

        Not so when a transient failure (`crawler.failures.is_transient_reason`: a
        timeout, a connection error, HTTP 5xx, 408, 429) may have cost an article, when
        records were spooled, or in a distributed crawl (a worker cannot know what the
        others lost): then the next crawl reads every document in full, so incremental
        discovery finds the missing articles again.
        """
        if distributed or stats.get(stat.STORE_SPOOLED_ARTICLES):
            return False
        failed = stat.reasons(stats, stat.FETCH_FAILED_PREFIX)
        return not any(is_transient_reason(reason) for reason in failed)

    def _save(self, rows: list[repository.Validators]) -> None:
        engine = self._engine_for_thread()
        try:
            with db.transaction(db.make_session_factory(engine)) as session:
                repository.save_validators(session, rows)
        finally:
            engine.dispose()


def retry_delay(
    retry_after: bytes | str | None,
    attempt: int,
    *,
    backoff: float,
    cap: float,
    now: datetime | None = None,
) -> float:
    """Seconds to wait before retry number ``attempt + 1`` (pure).

    A ``Retry-After`` header wins (delta-seconds or an HTTP date); otherwise exponential
    backoff ``backoff * 2**attempt``. Never more than ``cap``, never negative.
    """
    delay: float | None = None
    if retry_after:
        text = retry_after.decode("latin-1") if isinstance(retry_after, bytes) else retry_after
        text = text.strip()
        if text.isdigit():
            delay = float(text)
        else:
            try:
                when = parsedate_to_datetime(text)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=UTC)
                delay = (when - (now or datetime.now(UTC))).total_seconds()
    if delay is None:
        delay = backoff * (2**attempt)
    return max(0.0, min(delay, cap))


class PoliteRetry(RetryMiddleware):
    """Scrapy's retries, waiting as the server asks (Retry-After) or with backoff.

    The wait holds the request's download slot, so the whole site is given the pause,
    not just this URL. ``NEWSINGEST_RETRY_BACKOFF`` (seconds, doubled per attempt) and
    ``NEWSINGEST_RETRY_MAX_DELAY`` (cap) tune it.
    """

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.backoff = settings.getfloat("NEWSINGEST_RETRY_BACKOFF")
        self.max_delay = settings.getfloat("NEWSINGEST_RETRY_MAX_DELAY")

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        result = super().process_response(request, response)
        if isinstance(result, Request):
            delay = retry_delay(
                response.headers.get(b"Retry-After"),
                int(request.meta.get("retry_times", 0)),
                backoff=self.backoff,
                cap=self.max_delay,
            )
            if delay > 0:
                self._count_wait(delay)
                await self._wait(delay)
        return result

    async def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception
    ) -> Request | Response | None:
        """A network error (refused, reset, DNS, timeout...) waits the backoff too."""
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            delay = retry_delay(
                None,
                int(request.meta.get("retry_times", 0)),
                backoff=self.backoff,
                cap=self.max_delay,
            )
            if delay > 0:
                self._count_wait(delay)
                await self._wait(delay)
        return result

    def _count_wait(self, delay: float) -> None:
        stats = getattr(getattr(self, "crawler", None), "stats", None)
        if stats is not None:
            stats.inc_value(stat.RETRY_WAITED_MS, int(delay * 1000))

    async def _wait(self, delay: float) -> None:
        """Sleep ``delay`` seconds, or until the crawl is asked to stop."""
        crawler = getattr(self, "crawler", None)
        if crawler is None:
            await asyncio.sleep(delay)
            return
        deadline = time.monotonic() + delay
        while not stop_requested(crawler):
            left = deadline - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(min(left, STOP_POLL_SECONDS))


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

"""`PoliteRetry`: Scrapy's retries, waiting as the server asks (Retry-After) or with
backoff, after a 5xx/429 answer and after a network error alike (a wait ends when the
crawl is asked to stop).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response
from scrapy.settings import Settings

from crawler import stats as stat
from crawler.extensions.stopping import POLL_SECONDS as STOP_POLL_SECONDS
from crawler.extensions.stopping import stop_requested


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

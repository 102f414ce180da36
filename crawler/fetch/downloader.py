"""The downloader: Scrapy's, with its per-site concurrency limit enforced, and a stop.

Scrapy 2.19's `Downloader._process_queue` hands the requests queued in a download slot
to the handler while ``slot.free_transfer_slots() > 0``, but a request counts as
transferring only once its download task has started: ``_schedule_coro`` makes an
asyncio task, which runs on a later turn of the event loop. Without a download delay
(autothrottle off), every request queued in the slot at that moment is started at
once, whatever ``CONCURRENT_REQUESTS_PER_DOMAIN`` says (24 requests at once against a
site with a limit of 1, counted at the server). Under Twisted's own reactors the
coroutine starts synchronously and the count was right.

`SlotLimitedDownloader` marks a request as transferring when it leaves the slot's queue,
before its task is scheduled, so the limit holds. Scrapy's ``_download`` adds it again
(a set: no change) and removes it when the download ends, as before.

Scrapy's graceful stop (the first SIGTERM or SIGINT) waits for every request already
handed to the downloader, queued in a slot or transferring, to be downloaded and
processed: with a sitemap index of many large sitemaps that took minutes. `stop` ends
that: queued requests and transfers in flight fail at once with `CrawlStopped`, and
requests that reach the downloader afterwards (robots.txt checks) fail the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from time import monotonic
from typing import Any

from scrapy import Request
from scrapy.core.downloader import Downloader, Slot
from scrapy.http import Response
from scrapy.utils.asyncio import call_later, is_asyncio_available
from twisted.internet.defer import CancelledError, Deferred

from crawler.exceptions import CrawlStopped

logger = logging.getLogger(__name__)


def _start(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None] | Deferred[None]:
    """Run ``coro`` as Scrapy's ``_schedule_coro`` does, keeping a handle to cancel it."""
    if is_asyncio_available():
        return asyncio.get_event_loop().create_task(coro)
    return Deferred.fromCoroutine(coro)


class SlotLimitedDownloader(Downloader):
    """`Downloader` whose slots never run more downloads than their concurrency."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self.stopped = False
        """True once `stop` ran: nothing more is downloaded."""
        self._transfers: dict[
            Request, tuple[asyncio.Task[None] | Deferred[None], Deferred[Response]]
        ] = {}

    def _process_queue(self, slot: Slot) -> None:
        # Scrapy 2.19's method, with the request reserved in slot.transferring at once.
        if self.stopped:
            self._drop_queued(slot)
            return
        if slot.latercall:
            return  # a delayed call processes the queue
        now = monotonic()
        delay = slot.download_delay()
        if delay:
            penalty = delay - now + slot.lastseen
            if penalty > 0:
                slot.latercall = call_later(penalty, self._latercall, slot)
                return
        while slot.queue and slot.free_transfer_slots() > 0:
            slot.lastseen = now
            request, queue_dfd = slot.queue.popleft()
            slot.transferring.add(request)  # counted before its task runs
            task = _start(self._wait_for_download(slot, request, queue_dfd))
            self._transfers[request] = (task, queue_dfd)
            if delay:  # one request per delay: no burst
                self._process_queue(slot)
                break

    async def _wait_for_download(
        self, slot: Slot, request: Request, queue_dfd: Deferred[Response]
    ) -> None:
        try:
            response = await self._download(slot, request)
        except (asyncio.CancelledError, CancelledError):
            pass  # by `stop`, which failed queue_dfd
        except Exception:
            if not queue_dfd.called:
                queue_dfd.errback()  # the exception being handled
        else:
            if not queue_dfd.called:
                queue_dfd.callback(response)  # awaited in _enqueue_request()
        finally:
            self._transfers.pop(request, None)

    def _drop_queued(self, slot: Slot) -> int:
        slot.close()  # a pending delayed call
        dropped = 0
        while slot.queue:
            _request, queue_dfd = slot.queue.popleft()
            queue_dfd.errback(CrawlStopped("the crawl was stopped before the download"))
            dropped += 1
        return dropped

    def stop(self) -> tuple[int, int]:
        """Fail every queued request and cancel every transfer in flight, with
        `CrawlStopped`; later requests fail at once. Returns (queued, in flight)."""
        self.stopped = True
        queued = sum(self._drop_queued(slot) for slot in self.slots.values())
        transfers = list(self._transfers.values())
        self._transfers.clear()
        for task, queue_dfd in transfers:
            # A task cancelled before its first step never runs its handlers: the
            # request's waiter is failed here, whatever the task does.
            task.cancel()
            if not queue_dfd.called:
                queue_dfd.errback(CrawlStopped("the crawl was stopped during the download"))
        return queued, len(transfers)

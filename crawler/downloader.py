"""The downloader: Scrapy's, with its per-site concurrency limit enforced.

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
"""

from __future__ import annotations

from time import monotonic

from scrapy.core.downloader import Downloader, Slot
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import _schedule_coro


class SlotLimitedDownloader(Downloader):
    """`Downloader` whose slots never run more downloads than their concurrency."""

    def _process_queue(self, slot: Slot) -> None:
        # Scrapy 2.19's method, with the request reserved in slot.transferring at once.
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
            _schedule_coro(self._wait_for_download(slot, request, queue_dfd))
            if delay:  # one request per delay: no burst
                self._process_queue(slot)
                break

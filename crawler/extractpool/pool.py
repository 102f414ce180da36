"""`ExtractionPool`: the parent side of extraction in worker processes.

The pool is a ``forkserver`` process pool (workers do not inherit the reactor's threads
and sockets) whose fork server imports `crawler.extractpool.forkserver` first, which
warms the extraction code and freezes the heap (see `crawler.extractpool.worker`).

`ExtractionPool.extract` runs one page with a timeout of its own: a page whose
extraction takes longer raises `ExtractionTimedOut` after the pool's workers are killed
and a new pool started; pages that were in the killed pool (or in a pool whose worker
crashed) are extracted again on the new pool, one at a time, and a page that breaks a
pool twice raises `WorkerCrashed`. What a caller makes of these (a rejection, a line
on stderr) is its own business; the pool only keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import threading
import weakref
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor
from typing import Any

from crawler.extraction.record import ArticleRecord, Hints, Rejection
from crawler.extractpool.worker import extract_timed, warm_up

logger = logging.getLogger(__name__)

PRELOAD_MODULE = "crawler.extractpool.forkserver"
"""Imported by the fork server before it forks any worker."""

PAGES_PER_WORKER = 2
"""Pages submitted to the pool per worker: one running and one waiting, so a worker that
finishes a page starts the next at once instead of idling until the crawler's main
process, busy with downloads and storage, gets round to sending one (see
bench/README.md for what it changed)."""

RECYCLE_PAGES_PER_WORKER = 250
"""Pages per worker after which the pool is replaced by fresh forks of the warm server.
A worker's private memory grows with the pages it has done (the server's pages it writes
to, caches, the allocator's fragmentation): on the corpora ~58 MB after 10 pages, ~67
after 250, ~80 after 500, ~84 after 1,000. The switch leaves a core idle for about one
page's time (the old pool drains before new workers fork), under 1 % of the time at 250."""

REAP_AFTER_SECONDS = 2.0
"""How long a broken or timed-out pool's workers get to exit before the ones left are
killed (`_reap`)."""

ExtractFn = Callable[
    [bytes, str, Hints | None, str | None], tuple[ArticleRecord | Rejection, float]
]
"""What runs in a worker: ``(body, url, hints, content_type) -> (record or rejection,
milliseconds)``; a module-level function (it is pickled by name)."""


class ExtractionFailed(Exception):
    """The pool could not extract a page (not the page's fault as far as it knows)."""

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(f"{url}: {detail}")
        self.url = url
        self.detail = detail


class ExtractionTimedOut(ExtractionFailed):
    """The page's extraction ran longer than its timeout; the workers were killed."""

    def __init__(self, url: str, timeout: float) -> None:
        super().__init__(url, f"extraction timed out after {timeout:g} s")
        self.timeout = timeout


class WorkerCrashed(ExtractionFailed):
    """The page broke a pool twice, the second time running alone."""

    def __init__(self, url: str) -> None:
        super().__init__(url, "the extraction worker crashed on this page")


def _context() -> Any:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([PRELOAD_MODULE])
    return ctx


def start_fork_server() -> None:
    """Start the extraction fork server now, without waiting for its warm-up.

    The server imports and warms the extraction code (about 2 s of one core) in its own
    process; a crawl command calls this before it starts the database and builds its
    crawlers, so that work overlaps them instead of delaying the first page. The first
    pool forks its workers from this server. Never raises: the pool starts the server
    itself if this failed.
    """
    _context()
    try:
        from multiprocessing import forkserver

        forkserver.ensure_running()
    except Exception:
        logger.debug("starting the extraction fork server early failed", exc_info=True)


def new_executor(workers: int) -> ProcessPoolExecutor:
    """A bare process pool of ``workers`` extraction workers forked from the warm fork
    server (what `ExtractionPool` runs pages in; `bench/crawl.py` uses it directly).

    No ``max_tasks_per_child``: on Python 3.11.7 a forkserver pool using it was seen to
    stop spawning replacements once its workers started exiting, and hang;
    `ExtractionPool` recycles whole pools instead.
    """
    # Only the first pool of a process starts the fork server (unless
    # `start_fork_server` did); later ones reuse it.
    return ProcessPoolExecutor(max_workers=workers, mp_context=_context(), initializer=warm_up)


class ExtractionPool:
    """Extraction in ``workers`` worker processes (0: in the calling process).

    `open` and `close` are counted: several users (the crawls of one process) share one
    pool, which starts at the first `open` and stops at the last `close`.

    At most ``workers * PAGES_PER_WORKER`` pages are submitted at a time. The pool runs
    them in submission order, so a page's timeout starts when it can be running: once
    fewer than ``workers`` pages submitted before it are unfinished. The timeout thus
    measures a page's own run time, not its wait behind a slow page. A page retried
    after its pool broke runs alone.

    Workers are recycled to keep their memory flat: after ``recycle_pages_per_worker``
    pages per worker the pool is retired and a new one is forked from the warm fork
    server once the pages still running in the old one have finished, so old and new
    workers never run side by side (that overlap was the crawl's memory peak).
    """

    def __init__(
        self,
        workers: int,
        extract: ExtractFn = extract_timed,
        *,
        recycle_pages_per_worker: int = RECYCLE_PAGES_PER_WORKER,
    ) -> None:
        self.workers = max(0, workers)
        self.extract_fn = extract
        self.recycle_pages_per_worker = recycle_pages_per_worker
        self._pool: ProcessPoolExecutor | None = None
        self._users = 0
        self._slots: asyncio.Semaphore | None = None
        self._submitted = 0
        self._killed: weakref.WeakSet[ProcessPoolExecutor] = weakref.WeakSet()
        self._running: dict[Future[Any], None] = {}
        """Submitted and unfinished pages, in submission order (the pool's order)."""
        self._switch = asyncio.Lock()
        self._alone = asyncio.Lock()

    # --- life -------------------------------------------------------------------------

    def open(self) -> None:
        """Start the pool for one more user (the first starts its processes)."""
        self._users += 1
        if self.workers == 0 or self._pool is not None:
            return
        self._pool = self._new()
        # The fork server's start-up (imports, warm-up: ~2 s) overlaps with the crawl's
        # discovery instead of holding up the first page.
        threading.Thread(target=_start_worker, args=(self._pool,), daemon=True).start()
        self._slots = asyncio.Semaphore(self.workers * PAGES_PER_WORKER)
        # asyncio primitives belong to one event loop: new ones for each crawl's loop
        self._alone = asyncio.Lock()
        self._switch = asyncio.Lock()

    def close(self) -> None:
        """One user fewer; the last one stops the processes (pages still queued are
        cancelled)."""
        self._users -= 1
        if self._users <= 0:
            self._users = 0
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
                self._slots = None

    def __enter__(self) -> ExtractionPool:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def worker_pids(self) -> list[int]:
        """Process ids of the current pool's live workers (none before the first fork)."""
        processes: dict[int, Any] = getattr(self._pool, "_processes", None) or {}
        return [p.pid for p in list(processes.values()) if p.is_alive()]

    # --- pages ------------------------------------------------------------------------

    async def extract(
        self, body: bytes, url: str, hints: Hints | None, content_type: str | None, *,
        timeout: float,
    ) -> tuple[ArticleRecord | Rejection, float]:  # fmt: skip
        """One page's record or rejection and the milliseconds its extraction took.

        Raises `ExtractionTimedOut` or `WorkerCrashed`; anything the extraction
        function raised (or a result that could not be sent back) is raised as it is.
        """
        if self.workers == 0:
            return self.extract_fn(body, url, hints, content_type)
        if self._users == 0:
            raise RuntimeError("ExtractionPool.extract before open()")
        broken = 0
        while True:
            # after a broken pool, alone: an innocent page is not broken by the same crash
            async with self._alone_in_pool() if broken else self._held_slots():
                pool = await self._current()
                try:
                    fut = self._submit(pool, body, url, hints, content_type)
                    await self._started(fut)
                    return await asyncio.wait_for(asyncio.wrap_future(fut), timeout)
                except TimeoutError:
                    self._replace(pool, kill=True)
                    logger.warning("extraction of %s took longer than %g s", url, timeout)
                    raise ExtractionTimedOut(url, timeout) from None
                except BrokenProcessPool:
                    self._replace(pool, kill=False)
                    broken += 1
            if broken >= 2:
                logger.error("extraction of %s crashed a worker twice", url)
                raise WorkerCrashed(url)
            # once: another page may have broken (or timed out in) that pool

    async def _current(self) -> ProcessPoolExecutor:
        """The pool to submit to; a recycled one once the retired one has drained."""
        async with self._switch:
            if self._pool is None:
                self._pool = self._new()
            elif self._submitted >= self.workers * self.recycle_pages_per_worker > 0:
                old = self._pool
                running = [asyncio.wrap_future(f) for f in list(self._running)]
                if running:
                    await asyncio.wait(running)  # each has its own timeout
                if self._pool is old:  # not replaced meanwhile (a timeout or a crash)
                    # its idle processes exit (joined off the event loop) before new ones fork
                    await asyncio.to_thread(old.shutdown, wait=True)
                    self._pool = self._new()
            assert self._pool is not None
            return self._pool

    def _submit(
        self, pool: ProcessPoolExecutor, body: bytes, url: str, hints: Hints | None,
        content_type: str | None,
    ) -> Future[Any]:  # fmt: skip
        """Submit one page to ``pool`` (from `_current`), counted for recycling."""
        self._submitted += 1
        future = pool.submit(self.extract_fn, body, url, hints, content_type)
        self._running[future] = None
        future.add_done_callback(self._finished)  # runs in the pool's manager thread
        return future

    def _finished(self, future: Future[Any]) -> None:
        self._running.pop(future, None)

    async def _started(self, future: Future[Any]) -> None:
        """Return once ``future`` can be running: fewer than ``workers`` pages submitted
        before it are unfinished (or it is done itself). Each of those has a timeout of
        its own, so the wait is bounded."""
        while not future.done():
            older: list[Future[Any]] = []
            for other in list(self._running):  # a copy: the manager thread removes entries
                if other is future:
                    break
                older.append(other)
            if len(older) < self.workers:
                return
            await asyncio.wait(
                [asyncio.wrap_future(f) for f in (*older, future)],
                return_when=asyncio.FIRST_COMPLETED,
            )

    @contextlib.asynccontextmanager
    async def _held_slots(self) -> AsyncIterator[None]:
        assert self._slots is not None
        async with self._slots:
            yield

    @contextlib.asynccontextmanager
    async def _alone_in_pool(self) -> AsyncIterator[None]:
        """Hold every slot: the page submitted meanwhile is the only one in the pool.

        For a page retried after its pool broke: a crash breaks every page in the pool,
        so the page that crashes it is only known when it runs alone.
        """
        assert self._slots is not None
        slots, total = self._slots, self.workers * PAGES_PER_WORKER
        held = 0
        try:
            async with self._alone:
                for _ in range(total):
                    await slots.acquire()
                    held += 1
            yield
        finally:
            for _ in range(held):
                slots.release()

    def _new(self) -> ProcessPoolExecutor:
        self._submitted = 0
        return new_executor(self.workers)

    def _replace(self, old: ProcessPoolExecutor, *, kill: bool) -> None:
        """A fresh pool instead of ``old`` (once per old pool); ``kill`` its workers first.

        A retired pool (recycled while the page ran) has its workers killed too.
        """
        processes: dict[int, Any] = getattr(old, "_processes", None) or {}
        if kill and old not in self._killed:
            self._killed.add(old)
            logger.error("an extraction timed out; killing the extraction workers")
            for process in list(processes.values()):
                with contextlib.suppress(OSError, ValueError, AttributeError):  # gone
                    process.kill()
        if self._pool is not old:
            return
        if not kill:
            logger.error("an extraction worker died; starting a new process pool")
        # not cancel_futures: pages still queued in the old pool then fail with
        # BrokenProcessPool (and are retried) instead of being cancelled
        old.shutdown(wait=False)
        _reap(processes)
        self._pool = self._new()


def _reap(processes: dict[int, Any], after: float = REAP_AFTER_SECONDS) -> threading.Thread:
    """Kill the workers of a retired broken pool still alive after ``after`` seconds.

    ``processes`` is the pool's own worker table (its manager thread keeps using it after
    ``shutdown``). Python 3.11's executor can start a worker while its manager thread
    terminates a broken pool's workers; that worker never gets the signal, and the
    manager thread then waits for it for ever, and so does the interpreter at exit (a
    unit-test run hung there). The old pool's pages have failed or been retried by then,
    so nothing of value runs in what is left.
    """

    def reap() -> None:
        threading.Event().wait(after)
        for process in list(processes.values()):
            with contextlib.suppress(OSError, ValueError, AttributeError):  # gone
                if process.is_alive():
                    logger.warning(
                        "killing extraction worker %s left by a retired pool", process.pid
                    )
                    process.kill()

    thread = threading.Thread(target=reap, name="newsingest-pool-reaper", daemon=True)
    thread.start()
    return thread


def _start_worker(pool: ProcessPoolExecutor) -> None:
    """Start ``pool``'s fork server and a first worker (blocks until the server is warm)."""
    try:
        pool.submit(int).result()
    except Exception:  # shut down meanwhile, or broken: the first page reports it
        logger.debug("extraction pool warm-up failed", exc_info=True)


_shared: dict[str, ExtractionPool] = {}


def shared_pool(workers: int) -> ExtractionPool:
    """The process's extraction pool, made with ``workers`` processes on first use.

    Every crawl running in one process (``newsingest crawl`` with several sources, a
    distributed worker) is given this pool by its `ExtractPipeline`, so the machine's
    cores are shared instead of each crawl forking its own workers. ``workers`` 0 gives
    a pool of its own that extracts in the calling process (for debugging).
    """
    if workers <= 0:
        return ExtractionPool(0)
    pool = _shared.get("pool")
    if pool is None:
        pool = _shared["pool"] = ExtractionPool(workers)
    return pool

"""Code that runs inside the extraction worker processes (and their fork server).

Imports only the pure extraction package and the standard library, never Scrapy,
Twisted or SQLAlchemy: a worker is a fork of the fork server, which imports this module
(through `crawler.extractpool.forkserver`) and warms the extraction code (`preload`:
trafilatura, lxml, langdetect's language profiles) once, then freezes the heap
(``gc.freeze``). Every worker is then a plain fork of a warm process: it starts in
milliseconds, needs no initializer of its own, and shares those pages with its siblings
instead of holding a private copy. That makes recycling workers cheap, so the pool
(`crawler.extractpool.pool`) recycles them often to keep their memory flat.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import logging
import multiprocessing
import os
import signal
import threading
import time
from typing import Any

from crawler.extraction.record import ArticleRecord, Hints, Rejection

logger = logging.getLogger(__name__)

TRIM_AFTER_BYTES = 256 * 1024
"""After a page this large (one in ten on the corpora) the worker hands the free pages
its parse tree left behind back to the system (glibc ``malloc_trim``, ~1 ms): a big
page's tree would otherwise set the worker's resident size until it is recycled."""

_state = {"warm": False}


def charset_of(content_type: str | None) -> str | None:
    """The ``charset`` parameter of an HTTP ``Content-Type`` value, if any."""
    if not content_type:
        return None
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip(" \t\"'"):
            return value.strip(" \t\"'")
    return None


def extract_timed(
    body: bytes, url: str, hints: Hints | None, content_type: str | None = None
) -> tuple[ArticleRecord | Rejection, float]:
    """Extract one page; return the result and the milliseconds it took.

    The ``Content-Type`` header's charset (only the header's: Scrapy's own guess would
    read the body) goes to the decoder before the page's ``<meta charset>``.
    """
    from crawler.extraction.article import extract_article  # loaded by the fork server

    started = time.perf_counter()
    result = extract_article(body, url, hints=hints, encoding=charset_of(content_type))
    millis = (time.perf_counter() - started) * 1000.0
    if len(body) > TRIM_AFTER_BYTES:
        trim = _libc_function("malloc_trim")
        if trim is not None:
            trim(0)
    return result, millis


@functools.cache
def _libc_function(name: str) -> Any:
    try:
        return getattr(ctypes.CDLL("libc.so.6"), name)
    except (OSError, AttributeError):
        return None


_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux).

    A worker's parent is the fork server (a single-threaded process), so a killed fork
    server takes its workers with it. No-op where ``prctl`` is missing.
    """
    prctl = _libc_function("prctl")
    if prctl is None:
        return
    parent = os.getppid()
    prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def watch_parent(interval: float = 1.0) -> threading.Thread:
    """In the fork server: exit as soon as the process that started it is gone.

    The fork server's parent is whichever thread of the crawler started it, so the
    kernel's parent-death signal (tied to that thread) cannot be used; a daemon thread
    polls the parent pid instead. Its exit kills the workers (`die_with_parent`), and the
    resource tracker exits once nobody holds its pipe: a SIGKILLed crawler leaves no
    extraction process behind.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(0)

    thread = threading.Thread(target=watch, name="newsingest-parent-watch", daemon=True)
    thread.start()
    return thread


def warm_up() -> None:
    """Import trafilatura and its models before the first page (once per process).

    Also the pool's initializer: every worker first arranges to die with the fork
    server (`die_with_parent`)."""
    if multiprocessing.parent_process() is not None:
        die_with_parent()
    if _state["warm"]:
        return
    from crawler.extraction.article import preload as preload_extraction

    preload_extraction()  # models, patterns, language profiles, htmldate's dateparser
    _state["warm"] = True


_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


def tune_malloc() -> bool:
    """glibc's allocator for long crawls: two arenas, big blocks mapped on their own.

    By default every thread that allocates may get its own arena (up to 8 per core), and
    the threshold above which a block is mapped on its own rises to the largest block
    freed so far: page bodies (100 KB - 4 MB) then end up in the arenas, whose free
    space is rarely given back. Fixing the threshold at 128 KB and the arenas at two
    keeps the resident size of the crawler's process close to what it holds. Returns
    False (and changes nothing) where the C library is not glibc.
    """
    mallopt = _libc_function("mallopt")
    if mallopt is None:
        return False
    ok = mallopt(_M_ARENA_MAX, 2) and mallopt(_M_MMAP_THRESHOLD, 128 * 1024)
    return bool(ok and mallopt(_M_TRIM_THRESHOLD, 256 * 1024))


def preload() -> None:
    """In the fork server: warm up, then freeze what is alive so forks share it.

    ``gc.freeze`` moves every object into the permanent generation: the workers'
    collections never walk (and so never write to) the pages inherited from the server.
    Never raises: a worker whose server could not warm up warms up on its own
    (`warm_up` is the pool initializer too, and does nothing when already warm).
    """
    tune_malloc()
    watch_parent()
    try:
        warm_up()
    except Exception:  # pragma: no cover - the initializer tries again, and logs
        logger.exception("warming up the extraction fork server failed")
    gc.collect()
    gc.freeze()

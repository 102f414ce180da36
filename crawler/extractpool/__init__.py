"""The extraction pool: pages extracted in worker processes, one component for every user.

`ExtractionPool` runs the pure `crawler.extraction.extract_article` (through
`worker.extract_timed`) in ``forkserver`` worker processes with a timeout per page,
recovers from a worker that hangs or dies, and recycles its workers to keep their memory
flat. The crawl's `crawler.pipelines.extract.ExtractPipeline` is given one (`shared_pool`: the
crawls of one process share it) and ``newsingest reextract`` opens its own.

Modules: `pool` (the parent side: the pool, its fork server's start), `worker` (what
runs in the workers: no Scrapy, Twisted or SQLAlchemy) and `forkserver` (imported by the
fork server only; it warms the extraction code before any worker forks).
"""

from __future__ import annotations

from crawler.extractpool.pool import (
    ExtractFn,
    ExtractionFailed,
    ExtractionPool,
    ExtractionTimedOut,
    WorkerCrashed,
    new_executor,
    shared_pool,
    start_fork_server,
)
from crawler.extractpool.worker import charset_of, extract_timed, tune_malloc

__all__ = [
    "ExtractFn",
    "ExtractionFailed",
    "ExtractionPool",
    "ExtractionTimedOut",
    "WorkerCrashed",
    "charset_of",
    "extract_timed",
    "new_executor",
    "shared_pool",
    "start_fork_server",
    "tune_malloc",
]

"""The local spool: what the database could not take, kept on disk until it can.

When a batch cannot be written because the database is unreachable, `StorePipeline`
writes it here, under ``<data_dir>/spool/``, and the spool is written to the database
later: by the running crawl at its next successful flush and when it closes, by the next
crawl, or by ``newsingest spool replay``.

Modules: `format` (an entry as a JSON line), `files` (batches written whole, read back,
listed; the spool's status), `replay` (files written to the database).
"""

from __future__ import annotations

from crawler.spool.files import (
    SpoolError,
    SpoolFile,
    SpoolStatus,
    damaged,
    pending,
    read_file,
    spool_dir,
    status,
    write_batch,
    write_run_finish,
)
from crawler.spool.format import Entry, SpoolFormatError, from_json, to_json
from crawler.spool.replay import ReplayReport, replay

__all__ = [
    "Entry",
    "ReplayReport",
    "SpoolError",
    "SpoolFile",
    "SpoolFormatError",
    "SpoolStatus",
    "damaged",
    "from_json",
    "pending",
    "read_file",
    "replay",
    "spool_dir",
    "status",
    "to_json",
    "write_batch",
    "write_run_finish",
]

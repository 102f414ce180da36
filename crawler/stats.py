"""The crawl's own stats keys (``newsingest/...``) and the run summary read from them.

Every key newsingest writes into Scrapy's stats collector is named here, once; the keys
that end in a reason (``newsingest/fetch/failed/dns_error``) are built from their prefix
by `failed` and `rejected`. `docs/stats.md` says what each one means (a test keeps the
page and this module equal). The stats end up in ``crawl_runs.stats``.

Stats are facts about a crawl, not a channel between components: the run's id, status
and crawl id are recorded, never read back (the store pipeline learns the run id from
the `crawler.extensions.ledger.run_opened` signal, the CLI the run's status from
`run_closed`; the crawl id is the ``NEWSINGEST_CRAWL_ID`` setting). `RunSummary` is
the one reading of a run's stats that the progress line, ``newsingest runs`` and the
demo print.

Pure: no Scrapy, so storage (retention sums) and the CLI import it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

# --- the run (crawler.extensions.ledger.CrawlLedger) ------------------------------------------
RUN_ID: Final = "newsingest/run_id"
RUN_STATUS: Final = "newsingest/run_status"
CRAWL_ID: Final = "newsingest/crawl_id"
SKIPPED_RUN_ID: Final = "newsingest/skipped_run_id"
LOCK_LOST: Final = "newsingest/lock/lost"
LOCK_TAKEN_AGAIN: Final = "newsingest/lock/taken_again"

# --- discovery and fetching (crawler.spiders.news, crawler.middlewares ----------------
DISCOVERY_OK: Final = "newsingest/discovery/ok"
DISCOVERY_FAILED: Final = "newsingest/discovery/failed"
DISCOVERY_FAILED_PREFIX: Final = "newsingest/discovery/failed/"
DISCOVERY_URLS_FOUND: Final = "newsingest/discovery/urls_found"
DISCOVERY_SKIPPED_OFFSITE: Final = "newsingest/discovery/skipped_offsite"
DISCOVERY_SKIPPED_PATTERN: Final = "newsingest/discovery/skipped_pattern"
DISCOVERY_SKIPPED_OLD: Final = "newsingest/discovery/skipped_old"
DISCOVERY_SKIPPED_OLD_SITEMAPS: Final = "newsingest/discovery/skipped_old_sitemaps"
DISCOVERY_SKIPPED_MAX_ARTICLES: Final = "newsingest/discovery/skipped_max_articles"
DISCOVERY_NOT_MODIFIED: Final = "newsingest/discovery/not_modified"
DISCOVERY_VALIDATORS_SAVED: Final = "newsingest/discovery/validators_saved"
FETCH_ARTICLES: Final = "newsingest/fetch/articles"
FETCH_FAILED_PREFIX: Final = "newsingest/fetch/failed/"
INCREMENTAL_SKIPPED_STORED: Final = "newsingest/incremental/skipped_stored"
INCREMENTAL_CHECK_FAILED: Final = "newsingest/incremental/check_failed"
RETRY_WAITED_MS: Final = "newsingest/retry/waited_ms"

# --- extraction (crawler.pipelines.extract.ExtractPipeline) ------------------------------------
EXTRACT_PAGES: Final = "newsingest/extract/pages"
EXTRACT_ARTICLES: Final = "newsingest/extract/articles"
EXTRACT_MS_TOTAL: Final = "newsingest/extract/ms_total"
EXTRACT_REJECTED_PREFIX: Final = "newsingest/extract/rejected/"
EXTRACT_CANONICAL_OUT_OF_SCOPE: Final = "newsingest/extract/canonical_out_of_scope"
EXTRACT_TIMEOUTS: Final = "newsingest/extract/timeouts"
EXTRACT_WORKER_CRASHES: Final = "newsingest/extract/worker_crashes"

# --- storing (crawler.pipelines.store.StorePipeline) -----------------------------------------
STORE_INSERTED: Final = "newsingest/store/inserted"
STORE_UPDATED: Final = "newsingest/store/updated"
STORE_UNCHANGED: Final = "newsingest/store/unchanged"
STORE_MERGED: Final = "newsingest/store/merged"
STORE_FAILURES: Final = "newsingest/store/failures"
STORE_REJECTED: Final = "newsingest/store/rejected"
STORE_OTHER_SOURCE: Final = "newsingest/store/other_source"
STORE_BATCHES: Final = "newsingest/store/batches"
STORE_SEARCH_MERGES: Final = "newsingest/store/search_merges"
STORE_SEARCH_MERGED_PAGES: Final = "newsingest/store/search_merged_pages"
STORE_LAST_ERROR: Final = "newsingest/store/last_error"
STORE_SPOOL_ERROR: Final = "newsingest/store/spool_error"
STORE_SPOOLED_ARTICLES: Final = "newsingest/store/spooled_articles"
STORE_SPOOLED_FAILURES: Final = "newsingest/store/spooled_failures"
STORE_SPOOLED_TOTAL_ARTICLES: Final = "newsingest/store/spooled_total_articles"
STORE_SPOOL_FILES: Final = "newsingest/store/spool_files"
STORE_REPLAYED_FILES: Final = "newsingest/store/replayed_files"
STORE_REPLAYED_ARTICLES: Final = "newsingest/store/replayed_articles"
STORE_REPLAYED_FAILURES: Final = "newsingest/store/replayed_failures"
STORE_LOST_ARTICLES: Final = "newsingest/store/lost_articles"
STORE_LOST_FAILURES: Final = "newsingest/store/lost_failures"

# --- the frontier, stops, distributed crawls -------------------------------------------
FRONTIER_DISK_ERRORS: Final = "newsingest/frontier/disk_errors"
FRONTIER_LOST: Final = "newsingest/frontier/lost"
STOP_DROPPED_REQUESTS: Final = "newsingest/stop/dropped_requests"
STOP_CANCELLED_DOWNLOADS: Final = "newsingest/stop/cancelled_downloads"
STOP_CUT_CALLBACKS: Final = "newsingest/stop/cut_callbacks"
DISTRIBUTED_REJECTED_REQUESTS: Final = "newsingest/distributed/rejected_requests"
DISTRIBUTED_UNQUEUEABLE_REQUESTS: Final = "newsingest/distributed/unqueueable_requests"

# --- archive ingests (crawler.spiders.warc: newsingest warc) ----------------------------
WARC_FILES: Final = "newsingest/warc/files"
WARC_FILES_DONE: Final = "newsingest/warc/files_done"
WARC_FILES_SKIPPED: Final = "newsingest/warc/files_skipped"
WARC_FILES_RESUMED: Final = "newsingest/warc/files_resumed"
WARC_FILES_FAILED: Final = "newsingest/warc/files_failed"
WARC_RECORDS: Final = "newsingest/warc/records"
WARC_NOT_HTML: Final = "newsingest/warc/not_html"
WARC_TOO_LARGE: Final = "newsingest/warc/too_large"
WARC_SKIPPED_PREFIX: Final = "newsingest/warc/skipped/"
WARC_OTHER_PREFIX: Final = "newsingest/warc/other/"
WARC_DAMAGED_PREFIX: Final = "newsingest/warc/damaged/"

_FAILED_PREFIXES: Final = {"fetch": FETCH_FAILED_PREFIX, "discovery": DISCOVERY_FAILED_PREFIX}


def failed(stage: str, reason: str) -> str:
    """The key counting ``stage``'s (``fetch`` or ``discovery``) failures for ``reason``."""
    return _FAILED_PREFIXES[stage] + reason


def rejected(reason: str) -> str:
    """The key counting pages extraction rejected for ``reason``."""
    return EXTRACT_REJECTED_PREFIX + reason


def total(stats: Mapping[str, Any], prefix: str) -> int:
    """The integer stats whose key starts with ``prefix``, added up."""
    return sum(
        int(v)
        for k, v in stats.items()
        if k.startswith(prefix) and isinstance(v, int) and not isinstance(v, bool)
    )


def reasons(stats: Mapping[str, Any], prefix: str) -> dict[str, int]:
    """The counts of the keys under ``prefix``, by the reason that ends them."""
    return {k[len(prefix) :]: int(v) for k, v in stats.items() if k.startswith(prefix)}


def _int(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What a run did, from its stats: pages fetched, articles new/updated/unchanged,
    pages rejected, URLs failed (fetch and discovery), seconds."""

    pages: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    failed: int
    seconds: int

    @classmethod
    def of(cls, stats: Mapping[str, Any]) -> RunSummary:
        return cls(
            pages=_int(stats.get(FETCH_ARTICLES)),
            inserted=_int(stats.get(STORE_INSERTED)),
            updated=_int(stats.get(STORE_UPDATED)),
            unchanged=_int(stats.get(STORE_UNCHANGED)),
            rejected=total(stats, EXTRACT_REJECTED_PREFIX),
            failed=total(stats, FETCH_FAILED_PREFIX) + total(stats, DISCOVERY_FAILED_PREFIX),
            seconds=round(float(stats.get("elapsed_time_seconds") or 0)),
        )

    def progress(self, key: str) -> str:
        """The progress line's words for one source."""
        return (
            f"{key}: {self.pages} pages, {self.inserted} new, {self.updated} updated,"
            f" {self.unchanged} unchanged, {self.rejected} rejected, {self.failed} failed"
        )

    def fields(self) -> str:
        """``newsingest runs``'s columns: ``pages=… new=… … secs=…``."""
        return (
            f"pages={self.pages} new={self.inserted} updated={self.updated}"
            f" unchanged={self.unchanged} rejected={self.rejected} failed={self.failed}"
            f" secs={self.seconds}"
        )

    def stored(self) -> str:
        """What the run stored: ``N new, N updated, N unchanged``."""
        return f"{self.inserted} new, {self.updated} updated, {self.unchanged} unchanged"


def warc_summary(stats: Mapping[str, Any]) -> str:
    """What an archive ingest (a ``warc`` run) read, for ``newsingest warc`` and
    ``runs``: ``files=… (done=… skipped=… failed=…) records=… not_html=… skipped=…
    damaged=…``."""
    g = stats.get
    return (
        f"files={_int(g(WARC_FILES))} (done={_int(g(WARC_FILES_DONE))}"
        f" skipped={_int(g(WARC_FILES_SKIPPED))} failed={_int(g(WARC_FILES_FAILED))})"
        f" records={_int(g(WARC_RECORDS))} not_html={_int(g(WARC_NOT_HTML))}"
        f" skipped={total(stats, WARC_SKIPPED_PREFIX)} damaged={total(stats, WARC_DAMAGED_PREFIX)}"
    )

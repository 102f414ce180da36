"""WarcSpider: archived pages (WARC/ARC files) into the pipelines of a crawled page.

``newsingest warc PATH...`` (or ``scrapy crawl warc -a files='["a.warc.gz"]' -a
source=KEY``) runs this spider. It reads each file with `crawler.archive.read_archive`
and yields, for each HTTP 200 HTML response record, the `FetchedPage` a live fetch of
that URL would have yielded (the URL is ``WARC-Target-URI``, the fetch time
``WARC-Date``, the ``Content-Type`` header gives the charset, the source's hints), so
`ExtractPipeline`, `StorePipeline` and the ledger treat it as a crawled page. Nothing
is downloaded.

Revisits, non-200 responses, records outside ``since``/``until`` and, with
``match_sources``, pages of no source are skipped and counted
(``newsingest/warc/skipped/<why>``), other record types (requests, ``warcinfo``...)
counted as ``newsingest/warc/other/<type>``; non-HTML responses are counted
(``newsingest/warc/not_html``), not extracted; damaged stretches of a file
(`crawler.archive.Damage`) are handed to the checkpoint extension
(`crawler.extensions.warc_checkpoints.WarcCheckpoints`), which records them as failures
with the file and offset. The spider tracks which records are still in the pipelines, so
the extension can write, per file, the offset before which every record is done
(`FileProgress.safe`); on a resumed file it skips what the earlier runs stored (`Resume`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler

from crawler import stats as stat
from crawler.archive import ArchiveRecord, Damage, location_of, read_archive, size_of
from crawler.failures import FailureReason
from crawler.items import ExtractedArticle, FetchedPage, FetchFailed, Rejected
from crawler.sources import Source, SourcesError, load_sources, page_hints
from crawler.spiders.news import kept_headers, looks_like_html

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Resume:
    """Where to start reading a file, from its checkpoint."""

    offset: int = 0
    records: int = 0
    done: bool = False
    """Ingested completely before: skipped."""
    stored: dict[str, datetime] = field(default_factory=dict)
    """URLs earlier runs of the file stored, with their pages' fetch times."""
    failed: frozenset[str] = frozenset()
    """URLs earlier runs of the file recorded failures for."""


class Checkpointer(Protocol):
    """What `crawler.extensions.warc_checkpoints.WarcCheckpoints` does for the spider."""

    async def prepare(self, files: list[tuple[str, int | None]]) -> dict[str, Resume]:
        """Register the run's files and return where each stands."""
        ...


@dataclass(slots=True)
class FileProgress:
    """One file as far as this run has read it."""

    location: str
    read_offset: int
    """Where the next record starts."""
    records: int
    """Records read before ``read_offset`` (earlier runs included)."""
    in_flight: dict[int, int] = field(default_factory=dict)
    """Offsets of records in the pipelines -> records read before them, in file order."""
    finished: bool = False
    """Read to its end."""
    failed: bool = False
    """Could not be opened or read."""

    def safe(self) -> tuple[int, int]:
        """The offset before which every record is done, and the records before it."""
        for offset, records in self.in_flight.items():
            return offset, records
        return self.read_offset, self.records


@dataclass(frozen=True, slots=True)
class DamageReport:
    """A damaged stretch of a file, for the failure ledger."""

    location: str
    damage: Damage
    source_key: str | None


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class WarcSpider(scrapy.Spider):
    """Ingests archive files: ``scrapy crawl warc -a files=JSON -a source=KEY`` (or
    ``-a match_sources=1``; ``-a since=``/``until=`` ISO dates bound ``WARC-Date``)."""

    name = "warc"
    run_kind = "warc"
    """The ledger's ``crawl_runs.kind`` of this spider's runs."""
    archive_ingest = True
    """Turns on `crawler.extensions.warc_checkpoints.WarcCheckpoints`."""

    def __init__(
        self,
        files: str | list[str] = "[]",
        source: str | None = None,
        match_sources: str | bool = False,
        since: str | None = None,
        until: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.paths: list[str] = json.loads(files) if isinstance(files, str) else list(files)
        self.source_key = source
        self.match_sources = match_sources not in (False, "0", "false", "no", "")
        self.since = _date(since)
        self.until = _date(until)
        self.sources: list[Source] = []
        self.checkpointer: Checkpointer | None = None
        self.files: dict[str, FileProgress] = {}
        self.damaged: list[DamageReport] = []
        """Damage not yet recorded (the checkpoint extension takes it)."""
        self.in_flight_limit = 16
        self.max_records = 0
        self.records_read = 0
        self._pending: dict[str, deque[tuple[str, int]]] = {}
        self._in_flight = 0
        self._room = asyncio.Event()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> WarcSpider:
        spider: WarcSpider = super().from_crawler(crawler, *args, **kwargs)
        if bool(spider.source_key) == spider.match_sources:
            raise ValueError("the warc spider needs one of -a source=KEY or -a match_sources=1")
        path = kwargs.get("sources") or crawler.settings.get("NEWSINGEST_SOURCES")
        try:
            spider.sources = list(load_sources(path))
        except SourcesError as exc:
            raise ValueError(str(exc)) from exc
        if spider.source_key:
            by_key = {s.key: s for s in spider.sources}
            if spider.source_key not in by_key:
                raise ValueError(f"unknown source {spider.source_key!r} in {path}")
            # the ledger locks this source and records the run as its run
            spider.source = by_key[spider.source_key]  # type: ignore[attr-defined]
        s = crawler.settings
        spider.in_flight_limit = max(1, s.getint("NEWSINGEST_WARC_IN_FLIGHT"))
        spider.max_records = s.getint("NEWSINGEST_WARC_MAX_RECORDS")
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(spider._item_done, signal=signal)
        return spider

    # --- reading ----------------------------------------------------------------------
    async def start(self) -> AsyncIterator[Any]:
        files: dict[str, str] = {}
        for given in self.paths:
            files.setdefault(location_of(given), given)
        sizes: list[tuple[str, int | None]] = []
        for location in files:
            try:
                sizes.append((location, size_of(location)))
            except OSError:
                sizes.append((location, None))
        resume = await self.checkpointer.prepare(sizes) if self.checkpointer else {}
        for location in files:
            start = resume.get(location, Resume())
            if start.done:
                logger.info("%s was ingested completely before; skipped", location)
                self._inc(stat.WARC_FILES_SKIPPED)
                continue
            self._inc(stat.WARC_FILES)
            if start.offset:
                logger.info(
                    "%s: resuming at offset %d after %d records", location, start.offset,
                    start.records,
                )  # fmt: skip
                self._inc(stat.WARC_FILES_RESUMED)
            progress = FileProgress(location, start.offset, start.records)
            self.files[location] = progress
            async for item in self._read(progress, start):
                yield item
            if self.max_records and self.records_read >= self.max_records:
                logger.info(
                    "read %d records (NEWSINGEST_WARC_MAX_RECORDS); stopping", self.records_read
                )
                return

    async def _read(self, progress: FileProgress, resume: Resume) -> AsyncIterator[Any]:
        max_body = int(self.settings.getint("DOWNLOAD_MAXSIZE") or 0) or 1 << 62
        reader = read_archive(progress.location, progress.read_offset, max_body=max_body)
        try:
            while True:
                if self.max_records and self.records_read >= self.max_records:
                    return
                entry = await asyncio.to_thread(next, reader, None)
                if entry is None:
                    progress.finished = True
                    self._inc(stat.WARC_FILES_DONE)
                    return
                self.records_read += 1
                self._inc(stat.WARC_RECORDS)
                if isinstance(entry, Damage):
                    self._damage(progress, entry)
                    if entry.reason == "unreadable":
                        progress.failed = True
                        self._inc(stat.WARC_FILES_FAILED)
                        return
                    progress.records += 1
                    if entry.next_offset is not None:
                        progress.read_offset = entry.next_offset
                    continue
                item = self._route(entry, progress, resume)
                progress.records += 1
                progress.read_offset = entry.next_offset
                if item is None:
                    continue
                await self._wait_for_room()
                self._track(item, progress.location, entry.offset, progress.records - 1)
                yield item
        finally:
            reader.close()

    def _route(
        self, record: ArchiveRecord, progress: FileProgress, resume: Resume
    ) -> FetchedPage | FetchFailed | None:
        """The item an archived record becomes, or None (skipped and counted)."""
        if record.kind == "revisit":
            self._skip("revisit")
            return None
        if record.kind != "response":  # request, warcinfo, metadata, resource...
            self._inc(stat.WARC_OTHER_PREFIX + (record.kind or "unknown"))
            return None
        if not record.url:
            self._skip("no_url")
            return None
        if self.since and record.date and record.date < self.since:
            self._skip("before_since")
            return None
        if self.until and record.date and record.date >= self.until:
            self._skip("after_until")
            return None
        if record.status != 200:
            self._skip("not_200")
            return None
        source = self._source_of(record.url)
        if source is None:
            self._skip("no_source")
            return None
        stored_at = resume.stored.get(record.url)
        if (stored_at is not None and (record.date is None or stored_at >= record.date)) or (
            record.url in resume.failed
        ):
            self._skip("already_done")
            return None
        where = f"{progress.location} at offset {record.offset}"
        if record.body is None:
            self._inc(stat.WARC_TOO_LARGE)
            return FetchFailed(
                source_key=source.key,
                url=record.url,
                stage="fetch",
                reason=FailureReason.TOO_LARGE,
                status=record.status,
                detail=f"{record.length} bytes exceed DOWNLOAD_MAXSIZE ({where})",
            )
        if not looks_like_html(record.content_type, record.body):
            self._inc(stat.WARC_NOT_HTML)
            return None
        self._inc(stat.FETCH_ARTICLES)
        return FetchedPage(
            source_key=source.key,
            requested_url=record.url,
            final_url=record.url,
            status=record.status,
            content_type=record.content_type,
            body=record.body,
            fetched_at=record.date or datetime.now(UTC),
            hints=page_hints(source),
            headers=kept_headers(record.headers),
        )

    def _source_of(self, url: str) -> Source | None:
        if not self.match_sources:
            return getattr(self, "source", None)
        found = [s for s in self.sources if s.is_article_url(url)]
        # the most specific domain wins (news.example.com over example.com)
        return max(found, key=lambda s: len(s.domain)) if found else None

    def _damage(self, progress: FileProgress, damage: Damage) -> None:
        self._inc(stat.WARC_DAMAGED_PREFIX + damage.reason)
        logger.warning(
            "%s at offset %d: %s (%s)", progress.location, damage.offset, damage.reason,
            damage.detail,
        )  # fmt: skip
        key = None
        if damage.url:
            source = self._source_of(damage.url)
            key = source.key if source is not None else None
        elif not self.match_sources:
            key = self.source_key
        self.damaged.append(DamageReport(progress.location, damage, key))

    def _skip(self, why: str) -> None:
        self._inc(stat.WARC_SKIPPED_PREFIX + why)

    # --- what is still in the pipelines ------------------------------------------------
    def _track(self, item: Any, location: str, offset: int, records: int) -> None:
        self.files[location].in_flight[offset] = records
        url = item.requested_url if isinstance(item, FetchedPage) else item.url
        self._pending.setdefault(url, deque()).append((location, offset))
        self._in_flight += 1

    async def _wait_for_room(self) -> None:
        while self._in_flight >= self.in_flight_limit:
            self._room.clear()
            await self._room.wait()

    def _item_done(self, item: Any, **kwargs: Any) -> None:
        """An item left the pipelines (stored, buffered for storing, dropped or failed)."""
        if isinstance(item, (ExtractedArticle, Rejected)):
            url = item.page.requested_url
        elif isinstance(item, FetchedPage):
            url = item.requested_url
        elif isinstance(item, FetchFailed):
            url = item.url
        else:
            return
        waiting = self._pending.get(url)
        if not waiting:
            return
        location, offset = waiting.popleft()
        if not waiting:
            del self._pending[url]
        self.files[location].in_flight.pop(offset, None)
        self._in_flight -= 1
        self._room.set()

    def _inc(self, key: str, count: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key, count)

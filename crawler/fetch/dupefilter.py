"""The crawl's duplicate-request filter, at 8 bytes a URL: `CompactDupeFilter`.

Scrapy's ``RFPDupeFilter`` keeps every request fingerprint it has seen as a 20-byte
``bytes`` object in a Python ``set``: ~87 bytes a URL, so the crawler's memory grows with
the length of the crawl (83 MB per million URLs). This filter keeps the first 8 bytes of
the same fingerprint as an integer in a sorted ``array('Q')`` (`FingerprintSet`), plus a
small set of recent ones merged into the array now and then: ~8.5 bytes a URL on average
(``bench/dupefilter.py`` prints the figures).

Two different requests whose SHA-1 fingerprints share their first 64 bits would be taken
for one: for a crawl of n distinct URLs the chance that this happens at all is about
n² / 2⁶⁵ (3 in 100 million for a million URLs).

With ``JOBDIR`` set (Scrapy's resumable jobs) the keys are also appended to
``requests.seen64`` in the job folder and read back when the job resumes.
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left
from pathlib import Path
from typing import Any

from scrapy import Request
from scrapy.dupefilters import RFPDupeFilter

KEY_BYTES = 8
"""Bytes of the request fingerprint kept per URL (big-endian, as an unsigned integer)."""

SEEN_FILE = "requests.seen64"
"""Keys of a resumable job (``JOBDIR``): 8 bytes each, big-endian, in insertion order."""


class FingerprintSet:
    """A set of 64-bit integer keys in ~8 bytes each: a sorted ``array('Q')`` and a set
    of the keys added since the last merge.

    The recent set is merged into the array once it holds ``1 / merge_ratio`` of the
    array's size (at least ``min_recent`` keys), so each key is copied about
    ``merge_ratio + 1`` times over a crawl and the recent set stays a small fraction.
    """

    def __init__(self, *, min_recent: int = 4096, merge_ratio: int = 8) -> None:
        self.min_recent = min_recent
        self.merge_ratio = merge_ratio
        self._sorted = array("Q")
        self._recent: set[int] = set()

    def __len__(self) -> int:
        return len(self._sorted) + len(self._recent)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, int):
            return False
        if key in self._recent:
            return True
        keys = self._sorted
        i = bisect_left(keys, key)
        return i < len(keys) and keys[i] == key

    def insert(self, key: int) -> bool:
        """Add ``key``; False (and nothing changes) when it was in the set already."""
        if key in self:
            return False
        self._recent.add(key)
        if len(self._recent) >= max(self.min_recent, len(self._sorted) // self.merge_ratio):
            self._merge()
        return True

    def _merge(self) -> None:
        self._sorted = array("Q", heapq.merge(self._sorted, sorted(self._recent)))
        self._recent = set()


class CompactDupeFilter(RFPDupeFilter):
    """Scrapy's request-fingerprint filter (same fingerprints, same ``dupefilter/filtered``
    stat and log lines) keeping 8 bytes a URL instead of ~87."""

    def __init__(
        self,
        path: str | None = None,
        debug: bool = False,
        *,
        fingerprinter: Any = None,
    ) -> None:
        super().__init__(None, debug, fingerprinter=fingerprinter)
        self.keys = FingerprintSet()
        if path:
            seen = Path(path, SEEN_FILE)
            self.file = seen.open("a+b")
            self.file.seek(0)
            data = self.file.read()
            whole = len(data) - len(data) % KEY_BYTES
            for start in range(0, whole, KEY_BYTES):
                self.keys.insert(int.from_bytes(data[start : start + KEY_BYTES], "big"))
            self.file.truncate(whole)  # a torn last write would shift every later key
            self.file.seek(whole)

    def request_seen(self, request: Request) -> bool:
        fp = self.fingerprinter.fingerprint(request)[:KEY_BYTES]
        if not self.keys.insert(int.from_bytes(fp, "big")):
            return True
        if self.file:
            self.file.write(fp)
        return False

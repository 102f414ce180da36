"""Memory and time per URL of the crawl's duplicate filter against Scrapy's.

Usage::

    python bench/dupefilter.py [--urls 300000]

Feeds ``--urls`` distinct article requests (then the first tenth again, as duplicates)
through Scrapy's ``RFPDupeFilter`` and through `crawler.fetch.dupefilter.CompactDupeFilter`,
both with Scrapy's request fingerprinter. Prints the memory each filter retains per URL
(tracemalloc, in a pass of its own) and the microseconds per ``request_seen`` call
(another pass, without tracemalloc), fingerprinting included.
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from typing import Any

import _common  # noqa: F401  (puts the repository on sys.path)
from scrapy import Request
from scrapy.dupefilters import RFPDupeFilter
from scrapy.utils.request import RequestFingerprinter

from crawler.fetch.dupefilter import CompactDupeFilter


def _requests(n: int) -> Any:
    for i in range(n):
        yield Request(f"https://www.example-news.de/politik/2025/02/artikel-{i:08d}.html")


def _feed(dupefilter: Any, n: int) -> int:
    duplicates = 0
    for request in _requests(n):
        duplicates += dupefilter.request_seen(request)
    for request in _requests(n // 10):
        duplicates += dupefilter.request_seen(request)
    return duplicates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--urls", type=int, default=300_000)
    args = parser.parse_args()
    n: int = args.urls
    fingerprinter = RequestFingerprinter()
    print(f"bench/dupefilter.py: {n:,} distinct URLs, then {n // 10:,} of them again")
    for name, cls in (
        ("scrapy RFPDupeFilter", RFPDupeFilter),
        ("CompactDupeFilter", CompactDupeFilter),
    ):
        gc.collect()
        tracemalloc.start()
        dupefilter = cls(fingerprinter=fingerprinter)
        duplicates = _feed(dupefilter, n)
        gc.collect()
        held, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del dupefilter
        gc.collect()
        dupefilter = cls(fingerprinter=fingerprinter)
        started = time.perf_counter()
        _feed(dupefilter, n)
        micros = (time.perf_counter() - started) / (n + n // 10) * 1e6
        del dupefilter
        print(
            f"  {name:22} {held / n:6.1f} bytes per URL held ({held / 2**20:.1f} MB; "
            f"peak {peak / 2**20:.1f} MB), {micros:.1f} us per request_seen, "
            f"{duplicates:,} duplicates found"
        )


if __name__ == "__main__":
    main()

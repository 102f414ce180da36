"""Code that runs inside extraction worker processes.

Kept apart from the pipelines so a worker imports only the pure extraction package,
not Scrapy, Twisted or SQLAlchemy.
"""

from __future__ import annotations

import time

from crawler.extraction import extract_article
from crawler.extraction.record import ArticleRecord, Hints, Rejection


def extract_timed(
    body: bytes, url: str, hints: Hints | None
) -> tuple[ArticleRecord | Rejection, float]:
    """Extract one page; return the result and the milliseconds it took."""
    started = time.perf_counter()
    result = extract_article(body, url, hints=hints)
    return result, (time.perf_counter() - started) * 1000.0


def warm_up() -> None:
    """Pool initializer: import trafilatura and its models before the first page."""
    # long enough to load the language profiles too, so the first real page pays nothing
    sentence = b"The harbour workers ended their strike on Monday after long talks. "
    extract_article(b"<html><body><p>" + sentence * 6 + b"</p></body></html>", "http://127.0.0.1/")

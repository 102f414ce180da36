"""Worker functions for the extraction-pool tests, in a module that imports nothing but
`crawler.extractpool.worker` (already loaded in the fork server).

A worker imports the module of the function it is sent before it runs it, and that
import counts against the page's extraction timeout: from the test modules (Scrapy,
SQLAlchemy, hypothesis: ~0.6 s, several seconds on a loaded machine) it made the
timeout tests flaky.
"""

from __future__ import annotations

import os
import time
from typing import Any

from crawler.extraction.record import Hints
from crawler.extractpool.worker import extract_timed


def misbehave(
    body: bytes, url: str, hints: Hints | None, content_type: str | None = None
) -> tuple[Any, float]:
    """Hangs on ``hang``, dies on ``crash``, raises on ``raise``, takes 2 s on
    ``slow...``, else extracts."""
    if body == b"hang":
        time.sleep(600)
    if body.startswith(b"slow"):
        time.sleep(2)
        body = body[4:]
    if body == b"crash":
        os._exit(3)
    if body == b"raise":
        raise RuntimeError("a bug in extraction")
    return extract_timed(body, url, hints, content_type)

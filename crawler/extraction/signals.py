"""The independent signals the date and author passes weigh, and a switch per signal.

Each name is one source of evidence (JSON-LD, ``<meta>``, a ``<time>`` element, the
printed header, ...). Extraction asks `on` before using one; `disabled` switches a signal
off for the duration of a ``with`` block, which is how ``bench/quality.py --ablate``
measures what each signal is worth. Production never switches anything off.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

JSONLD: Final = "jsonld"
"""JSON-LD ``datePublished`` of the article object."""
META: Final = "meta"
"""``<meta>`` publication dates (``article:published_time`` and kin)."""
ITEMPROP: Final = "itemprop"
"""Microdata ``itemprop=datePublished``."""
HEADER: Final = "header"
"""The date line printed above or below the body text."""
VISIBLE: Final = "visible"
"""Dates printed in date-like elements near the headline."""
TIME: Final = "time"
"""``<time datetime>`` in the article."""
URL: Final = "url"
"""A date in the URL path."""
HTMLDATE: Final = "htmldate"
"""htmldate's page-wide search (last resort)."""
BYLINE: Final = "byline"
"""A printed byline paragraph (``By …``, ``Von …``)."""
BYLINE_ELEMENT: Final = "byline_element"
"""An element marked as byline/author by its class or itemprop."""
JSONLD_AUTHOR: Final = "jsonld_author"
"""JSON-LD ``author`` persons."""
META_AUTHOR: Final = "meta_author"
"""``<meta name=author>`` and kin."""

ALL: Final = (
    JSONLD,
    META,
    ITEMPROP,
    HEADER,
    VISIBLE,
    TIME,
    URL,
    HTMLDATE,
    BYLINE,
    BYLINE_ELEMENT,
    JSONLD_AUTHOR,
    META_AUTHOR,
)

_off: set[str] = set()


def on(name: str) -> bool:
    """True unless ``name`` is switched off."""
    return name not in _off


@contextmanager
def disabled(*names: str) -> Iterator[None]:
    """Switch the named signals off inside the block (benchmarks only)."""
    unknown = set(names) - set(ALL)
    if unknown:
        raise ValueError(f"unknown signals: {sorted(unknown)}")
    added = set(names) - _off
    _off.update(added)
    try:
        yield
    finally:
        _off.difference_update(added)

"""Pure extraction: HTML of a fetched page -> ``ArticleRecord`` or ``Rejection``.

No Scrapy, Twisted or database imports here (an import-linter contract enforces it).
``extract_article`` and ``preload`` are loaded on first use: importing the record types
does not import trafilatura, lxml and langdetect (the crawler's main process never
extracts; its workers do).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crawler.extraction.record import (
    ArticleRecord,
    Hints,
    Precision,
    Rejection,
    RejectionReason,
    TranslationNote,
)
from crawler.extraction.urls import canonicalize_url
from crawler.extraction.version import EXTRACTOR_VERSION

if TYPE_CHECKING:
    from crawler.extraction.article import extract_article, preload


def __getattr__(name: str) -> Any:
    if name in ("extract_article", "preload"):
        from crawler.extraction import article

        return getattr(article, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "EXTRACTOR_VERSION",
    "ArticleRecord",
    "Hints",
    "Precision",
    "Rejection",
    "RejectionReason",
    "TranslationNote",
    "canonicalize_url",
    "extract_article",
    "preload",
]

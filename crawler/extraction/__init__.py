"""Pure extraction: HTML of a fetched page -> ``ArticleRecord`` or ``Rejection``.

No Scrapy, Twisted or database imports here (an import-linter contract enforces it).
"""

from __future__ import annotations

from crawler.extraction.article import extract_article, preload
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

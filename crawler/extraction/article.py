"""``extract_article``: trafilatura for the body plus our own metadata passes.

The HTML is parsed once with lxml; the same tree feeds trafilatura (which copies
it) and every metadata pass. Never raises: any failure becomes a ``Rejection``.
"""

from __future__ import annotations

import logging

import lxml.html  # type: ignore[import-untyped]
from lxml import etree
from trafilatura import bare_extraction

from crawler.extraction.language import detect_language, normalize_lang
from crawler.extraction.record import ArticleRecord, Hints, Rejection
from crawler.extraction.text import (
    content_hash,
    decode_html,
    join_paragraphs,
    normalize_line,
    simhash,
    split_paragraphs,
    word_count,
)
from crawler.extraction.urls import choose_canonical
from crawler.extraction.version import EXTRACTOR_VERSION

logger = logging.getLogger(__name__)

MIN_TEXT_CHARS = 250


def extract_article(
    html: str | bytes, url: str, *, hints: Hints | None = None
) -> ArticleRecord | Rejection:
    """Extract one article from ``html`` fetched at ``url``; never raises."""
    try:
        return _extract(html, url, hints or Hints())
    except Exception as exc:
        logger.warning("extraction failed for %s", url, exc_info=True)
        return Rejection(
            url=url,
            reason="parse_error",
            detail=f"{type(exc).__name__}: {exc}"[:500],
            extractor_version=EXTRACTOR_VERSION,
        )


def _reject(url: str, reason: str, detail: str) -> Rejection:
    return Rejection(url=url, reason=reason, detail=detail, extractor_version=EXTRACTOR_VERSION)  # type: ignore[arg-type]


def _extract(html: str | bytes, url: str, hints: Hints) -> ArticleRecord | Rejection:
    source = decode_html(html) if isinstance(html, bytes) else html
    if "<" not in source:
        return _reject(url, "not_html", "no markup")
    try:
        tree = lxml.html.document_fromstring(source)
    except (etree.ParserError, ValueError) as exc:
        return _reject(url, "parse_error", str(exc))
    doc = bare_extraction(tree, url=url, with_metadata=False, include_comments=False)
    raw = getattr(doc, "text", None) or ""
    paragraphs = split_paragraphs(raw)
    title_el = tree.find(".//title")
    title = normalize_line(title_el.text_content()) if title_el is not None else None
    if paragraphs and title and paragraphs[0] == title:
        paragraphs = paragraphs[1:]
    text = join_paragraphs(paragraphs)
    if not text:
        return _reject(url, "empty", "no main text")
    if len(text) < MIN_TEXT_CHARS:
        return _reject(url, "too_short", f"{len(text)} chars")
    declared = normalize_lang(tree.get("lang"))
    language, confidence = detect_language(text, declared, hints.language)
    canon = [e.get("href", "") for e in tree.xpath('//link[@rel="canonical"]')]
    return ArticleRecord(
        url=choose_canonical(url, canon),
        text=text,
        content_hash=content_hash(text),
        simhash=simhash(text),
        word_count=word_count(text),
        extractor_version=EXTRACTOR_VERSION,
        title=title or hints.title,
        language=language,
        language_confidence=confidence,
        declared_language=declared,
    )

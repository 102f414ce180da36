"""``extract_article``: trafilatura for the body plus our own metadata passes.

The HTML is parsed once with lxml; the same tree feeds trafilatura (which works on
its own copy) and every metadata pass. Never raises: input lxml cannot parse is a
``Rejection(reason="parse_error")``, an exception of a pass (a bug) is
``Rejection(reason="internal_error")``.

Decisions where the contract is silent:

* Body cleaning removes, and keeps in their fields: the title line opening the body,
  the visible date header (a labelled header run into the lead keeps the lead text),
  the byline paragraph, the translation note, and "read more" teasers. Photo credits
  are dropped from the body.
* ``lead`` prefers a lead/standfirst element, then ``og:description``, JSON-LD
  ``description`` and ``meta description``; when the body opens with the lead (or a
  truncated form of it), that paragraph moves from ``text`` to ``lead``. A paragraph
  standing between a top date header and the byline is the lead.
* Authors: a byline printed in the body (or found by the hint selector) wins, then
  JSON-LD persons (organizations and the publisher's own name are not persons), then a
  byline element (``class``/``itemprop`` author/byline), then meta tags.
* Dates: see :mod:`crawler.extraction.published` (which date) and
  :mod:`crawler.extraction.dates` (reading one; naive times are taken as UTC).

Each pass of ``_extract`` lives in the module named for what it decides: ``decode``,
``dom``, ``body``, ``title``, ``lead``, ``authors``, ``published``, ``classify``,
``metadata``, ``language`` (the map: ``docs/architecture.md``, "Extraction").
"""

from __future__ import annotations

import logging

from crawler.extraction.authors import choose_authors, find_bylines, wire_credits
from crawler.extraction.body import (
    drop_bylines,
    drop_teasers_and_photo_credits,
    drop_title,
    main_paragraphs,
    take_translation_note,
)
from crawler.extraction.classify import classify, drop_paywall_prompts, reject
from crawler.extraction.decode import decode_document, parse_document
from crawler.extraction.dom import scan_dom
from crawler.extraction.language import declared_language, detect_language
from crawler.extraction.lead import choose_lead
from crawler.extraction.metadata import collect, image, section, site_name, tags
from crawler.extraction.published import modified_date, published_date, take_date_header
from crawler.extraction.record import ArticleRecord, Hints, Rejection, RejectionReason
from crawler.extraction.sanitize import sanitize
from crawler.extraction.text import content_hash, join_paragraphs, simhash, word_count
from crawler.extraction.title import choose_title
from crawler.extraction.urls import choose_canonical
from crawler.extraction.version import EXTRACTOR_VERSION

logger = logging.getLogger(__name__)

__all__ = ["decode_document", "extract_article", "parse_document", "preload"]


def extract_article(
    html: str | bytes, url: str, *, hints: Hints | None = None, encoding: str | None = None
) -> ArticleRecord | Rejection:
    """Extract one article from ``html`` fetched at ``url``; never raises.

    ``encoding``: the charset of the HTTP ``Content-Type`` header, for ``bytes`` (it goes
    before a ``<meta charset>``; see :func:`decode_document`).

    Returns an :class:`ArticleRecord`, or a :class:`Rejection` saying why the page is
    not an article. An exception raised by a pass is a bug, not a verdict on the page:
    it is logged with its traceback and becomes ``internal_error`` (its type and
    message in the detail), never ``parse_error``, so the crawl records the page and
    goes on while tests can tell a bug from a rejection.
    """
    try:
        if encoding and isinstance(html, bytes):
            html = decode_document(html, encoding)
        return sanitize(_extract(html, url, hints or Hints()))  # encodable strings only
    except Exception as exc:
        logger.error("extraction of %s raised (a bug)", url, exc_info=True)
        return reject(url, "internal_error", f"{type(exc).__name__}: {exc}"[:500])


def preload() -> None:
    """Load, once per process, what the first pages would otherwise load lazily.

    One extraction loads trafilatura's models, the pattern files and langdetect's
    profiles. htmldate loads dateparser (about a second) only inside its first extensive
    search, and dateparser compiles the regular expressions of each locale it tries the
    first time it tries it: a string no locale can read makes it try (and compile) them
    all, about 1.4 s and 30 MB once, here in the fork server, where the workers share
    them. Without it every fresh worker paid that again, page by page (the corpus's
    extensive searches took 52 ms each on their first run, 20 ms after). Never raises.
    """
    sentence = "The harbour workers ended their strike on Monday after long talks. "
    extract_article(f"<html><body><p>{sentence * 6}</p></body></html>", "http://127.0.0.1/")
    try:
        from htmldate import extractors

        extractors.get_external_parser()
        extractors.month_words()
        extractors._external_date("xyzzy 32 plugh 2021")  # no locale reads it: all compile
    except Exception:  # a private API of htmldate: a later version may lack it
        logger.debug("htmldate preload skipped", exc_info=True)


def _extract(html: str | bytes, url: str, hints: Hints) -> ArticleRecord | Rejection:
    """The passes, in order; each names what it decides (see its module)."""
    tree, problem = parse_document(html)
    if tree is None:
        reason: RejectionReason = "not_html" if problem == "not_html" else "parse_error"
        return reject(url, reason, "input is not an HTML document")
    meta = collect(tree)
    dom = scan_dom(tree)
    site = site_name(meta)
    paragraphs = main_paragraphs(tree, url, hints)
    declared = declared_language(meta)
    lang_guess = declared or hints.language
    title = choose_title(meta, dom, site) or hints.title
    paragraphs = drop_title(paragraphs, [t for t in (title, *dom.h1) if t])
    header_date, header_index, paragraphs = take_date_header(paragraphs, lang_guess)
    bylines = find_bylines(tree, paragraphs, dom, hints)
    authorship = choose_authors(
        meta,
        bylines.printed,
        bylines.element,
        site,
        hints,
        printed_in_body=bylines.index is not None,
    )
    if not authorship.printed_believed:
        bylines = bylines.without_printed()
    paragraphs, lead_from_position = drop_bylines(paragraphs, bylines, header_index)
    translation, paragraphs = take_translation_note(paragraphs)
    body = drop_teasers_and_photo_credits(paragraphs)
    lead, paragraphs = choose_lead(meta, dom, body, lead_from_position, title, site, bylines.raws)
    text = join_paragraphs(paragraphs)
    says_article = bylines.printed is not None or header_date is not None
    verdict = classify(url, meta, dom, body, paragraphs, text, lead, says_article=says_article)
    if verdict.rejection is not None:
        return verdict.rejection
    if verdict.stub == "paywall":
        paragraphs = drop_paywall_prompts(paragraphs)
        text = join_paragraphs(paragraphs)
    published = published_date(
        meta,
        dom,
        tree,
        url,
        header_date,
        hints,
        lang_guess,
        text,
        translation.original_published_at if translation else None,
    )
    modified = modified_date(meta)
    language, confidence = detect_language(text, declared, hints.language)
    canonical = choose_canonical(url, [*meta.canonical, *meta.all("og:url")])
    return ArticleRecord(
        url=canonical,
        text=text,
        content_hash=content_hash(text),
        simhash=simhash(text),
        word_count=word_count(text),
        extractor_version=EXTRACTOR_VERSION,
        title=title,
        lead=lead,
        authors=authorship.persons,
        credits=authorship.credits or wire_credits(lead, paragraphs),
        byline=authorship.byline,
        published_at=published.value if published else None,
        published_precision=published.precision if published else None,
        published_raw=published.raw if published else None,
        published_utc_offset=published.offset if published else None,
        modified_at=modified.value if modified else None,
        language=language,
        language_confidence=confidence,
        declared_language=declared,
        translation=translation,
        site_name=site,
        section=section(meta),
        tags=tags(meta),
        image_url=image(meta, canonical),
        stub=verdict.stub,
    )

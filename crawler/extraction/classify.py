"""Classification and rejection: whether the page is an article, and if not, why.

Owns the rejection reasons decided from the extracted body and the page (``paywall``,
``video_only``, ``empty``, ``not_article``, ``link_page``, ``too_short``) and the
:class:`~crawler.extraction.record.Rejection` every other reason is returned as.
"""

from __future__ import annotations

import re
from functools import cache

from crawler.extraction.dom import Dom
from crawler.extraction.metadata import PageMeta
from crawler.extraction.patterns import available_languages, load_data
from crawler.extraction.record import Rejection, RejectionReason
from crawler.extraction.text import same_line, word_count
from crawler.extraction.version import EXTRACTOR_VERSION

MIN_TEXT_CHARS = 250
"""Bodies shorter than this are rejected as ``too_short``."""

PAYWALL_MAX_CHARS = 1500
"""A body this short with a paywall signal on the page (a paywall phrasing, or JSON-LD
``isAccessibleForFree: false``) may be a paywall stub."""

PAYWALL_FULL_PARAGRAPHS = 2
PAYWALL_PARAGRAPH_CHARS = 100
"""... it is one unless it shows readers at least ``PAYWALL_FULL_PARAGRAPHS`` paragraphs
of ``PAYWALL_PARAGRAPH_CHARS`` characters or more: a stub is a teaser line or paragraph
and the subscription prompt; a page that prints several paragraphs of the article is
kept with the text it shows (the paywall phrasing may be the site's own chrome)."""

VIDEO_MAX_WORDS = 150
"""A page typed as video (``og:type video.*``, JSON-LD VideoObject) with fewer words
is ``video_only``."""

VIDEO_MIN_WORDS = 40
"""Any page with an embedded player and fewer body words than this is ``video_only``."""


def reject(url: str, reason: RejectionReason, detail: str) -> Rejection:
    """The rejection of the page at ``url`` for ``reason`` (``detail`` says what was seen)."""
    return Rejection(url=url, reason=reason, detail=detail, extractor_version=EXTRACTOR_VERSION)


@cache
def _paywall_regex() -> re.Pattern[str]:
    """All paywall phrasings of all languages as one alternation (one scan of the page)."""
    alts = [
        f"(?:{pattern})"
        for lang in available_languages()
        for pattern in load_data(lang).get("paywall") or ()
    ]
    return re.compile("|".join(alts) or r"(?!x)x", re.IGNORECASE)


def _link_share(paragraphs: list[str], dom: Dom) -> float:
    """Share of body characters in paragraphs that are (mostly) the text of a page link."""
    total = linked = 0
    for para in paragraphs:
        total += len(para)
        first = para.split(" ", 1)[0]
        covered = max((len(a) for a in dom.anchors.get(first, ()) if para.startswith(a)), default=0)
        if covered >= 0.6 * len(para):
            linked += len(para)
    return linked / total if total else 0.0


def _teaser_share(paragraphs: list[str], dom: Dom) -> float:
    """Share of body characters in paragraphs that are teasers of other pages."""
    if not dom.teaser_keys:
        return 0.0
    total = teasers = 0
    for para in paragraphs:
        total += len(para)
        if para.lstrip("-•* ")[:40] in dom.teaser_keys:
            teasers += len(para)
    return teasers / total if total else 0.0


def classify(
    url: str,
    meta: PageMeta,
    dom: Dom,
    paragraphs: list[str],
    text: str,
    lead: str | None = None,
) -> Rejection | None:
    """Decide whether the page is not an article (returns the rejection) or None."""
    og_type = (meta.first("og:type") or "").lower()
    is_article_typed = (
        bool(meta.article) or og_type == "article" or bool(meta.first("article:published_time"))
    )
    words = word_count(text)
    link_density = dom.link_chars / dom.text_chars if dom.text_chars else 0.0
    link_share = _link_share(paragraphs, dom)
    long_paragraphs = sum(1 for p in paragraphs if len(p) >= 200)

    # Paragraphs of the article itself: not the standfirst repeated, not the prompt
    # (counted for short bodies only: the regex is the costly part).
    full_paragraphs = (
        sum(
            1
            for p in paragraphs
            if len(p) >= PAYWALL_PARAGRAPH_CHARS
            and not (lead and same_line(p, lead))
            and not _paywall_regex().search(p.lower())
        )
        if len(text) < PAYWALL_MAX_CHARS
        else PAYWALL_FULL_PARAGRAPHS
    )
    if len(text) < PAYWALL_MAX_CHARS and full_paragraphs < PAYWALL_FULL_PARAGRAPHS:
        free = meta.article.get("isAccessibleForFree") if meta.article else None
        if str(free).lower() == "false":
            return reject(url, "paywall", "isAccessibleForFree is false and the body is a stub")
        page_text = dom.page_text()
        if _paywall_regex().search(page_text):
            return reject(url, "paywall", "paywall phrasing with a stub body")
    is_video = og_type.startswith("video") or ("videoobject" in meta.types and not meta.article)
    if (is_video and words < VIDEO_MAX_WORDS) or (dom.has_video and words < VIDEO_MIN_WORDS):
        return reject(url, "video_only", f"video page with {words} words of text")
    if not text:
        return reject(url, "empty", "no main text")
    if (
        not is_article_typed
        and og_type in ("website", "")
        and link_density >= 0.5
        and (link_share >= 0.35 or long_paragraphs == 0)
    ):
        return reject(
            url, "not_article", f"index page: link density {link_density:.2f}, no article text"
        )
    if og_type == "website" and not is_article_typed and words < 300 and long_paragraphs == 0:
        return reject(url, "not_article", "og:type website, no article markup, no article text")
    if not is_article_typed and dom.headline_links >= 3 and _teaser_share(paragraphs, dom) >= 0.6:
        return reject(
            url, "not_article", f"index page: {dom.headline_links} linked headlines with teasers"
        )
    if link_share >= 0.5:
        return reject(url, "link_page", f"{link_share:.0%} of the body is link text")
    if len(text) < MIN_TEXT_CHARS:
        return reject(url, "too_short", f"{len(text)} chars of text")
    return None

"""Classification and rejection: whether the page is an article, and if not, why.

Owns the rejection reasons decided from the extracted body and the page (``paywall``,
``video_only``, ``empty``, ``not_article``, ``link_page``, ``too_short``) and the
:class:`~crawler.extraction.record.Rejection` every other reason is returned as.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from crawler.extraction.dom import Dom
from crawler.extraction.metadata import PageMeta
from crawler.extraction.patterns import available_languages, load_data
from crawler.extraction.record import Rejection, RejectionReason, StubKind
from crawler.extraction.text import same_line, word_count
from crawler.extraction.version import EXTRACTOR_VERSION

MIN_WORDS = 40
"""A page with nothing saying it is an article (no article markup, no stated publication
date, no printed byline) and fewer words than this (:func:`word_count`, which counts
scripts written without spaces by characters) is rejected as ``too_short``."""

MIN_ARTICLE_WORDS = 12
"""A page that says it is an article is kept down to this many words: a short report
is news in any script (a hundred Japanese characters carry one)."""

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


def drop_paywall_prompts(paragraphs: list[str]) -> list[str]:
    """``paragraphs`` without the subscription prompts of a paywall stub."""
    found = _paywall_regex().search
    return [p for p in paragraphs if not found(p.lower())]


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


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the page is: not an article (``rejection``), or an article, perhaps a stub."""

    rejection: Rejection | None = None
    """Why the page is not an article; None when it is one."""
    stub: StubKind | None = None
    """Why the article's body is only part of it (``paywall``, ``video``), or None."""


ARTICLE = Verdict()


def classify(
    url: str,
    meta: PageMeta,
    dom: Dom,
    body: list[str],
    paragraphs: list[str],
    text: str,
    lead: str | None = None,
    *,
    says_article: bool = False,
) -> Verdict:
    """Decide whether the page is an article, and whether its body is a stub.

    ``body``: the main text's paragraphs, its opening lead included when the lead came
    from it; ``paragraphs`` and ``text``: the record's text, without that lead. How much
    article the page has (its words, its long paragraphs) is counted on ``body``: a
    short report whose first paragraph became the lead is no less an article.

    ``says_article``: something besides the metadata says the page is one article (a
    printed byline or date line). Such a page, or one typed as an article, keeps its
    record when its body is short or only a stub (paywall, video): its title, date and
    authors are still the article's. Pages nothing marks as an article are rejected.
    """
    og_type = (meta.first("og:type") or "").lower()
    is_article_typed = (
        bool(meta.article) or og_type == "article" or bool(meta.first("article:published_time"))
    )
    says_article = says_article or is_article_typed or bool(dom.published_time)
    words = word_count("\n\n".join(body))
    link_density = dom.link_chars / dom.text_chars if dom.text_chars else 0.0
    link_share = _link_share(paragraphs, dom)
    long_paragraphs = sum(1 for p in body if len(p) >= 200)

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
        paywalled = str(free).lower() == "false"
        if paywalled or _paywall_regex().search(dom.page_text()):
            if says_article and text:
                return Verdict(stub="paywall")
            detail = "isAccessibleForFree is false" if paywalled else "paywall phrasing"
            return Verdict(reject(url, "paywall", f"{detail} and the body is a stub"))
    is_video = og_type.startswith("video") or ("videoobject" in meta.types and not meta.article)
    if (is_video and words < VIDEO_MAX_WORDS) or (dom.has_video and words < VIDEO_MIN_WORDS):
        if says_article and text:
            return Verdict(stub="video")
        return Verdict(reject(url, "video_only", f"video page with {words} words of text"))
    if not text:
        return Verdict(reject(url, "empty", "no main text"))
    if (
        not is_article_typed
        and og_type in ("website", "")
        and link_density >= 0.5
        and (link_share >= 0.35 or long_paragraphs == 0)
    ):
        return Verdict(
            reject(
                url, "not_article", f"index page: link density {link_density:.2f}, no article text"
            )
        )
    if og_type == "website" and not is_article_typed and words < 300 and long_paragraphs == 0:
        return Verdict(
            reject(url, "not_article", "og:type website, no article markup, no article text")
        )
    if not is_article_typed and dom.headline_links >= 3 and _teaser_share(paragraphs, dom) >= 0.6:
        return Verdict(
            reject(
                url,
                "not_article",
                f"index page: {dom.headline_links} linked headlines with teasers",
            )
        )
    if link_share >= 0.5:
        return Verdict(reject(url, "link_page", f"{link_share:.0%} of the body is link text"))
    minimum = MIN_ARTICLE_WORDS if says_article else MIN_WORDS
    if words < minimum:
        marked = "an article" if says_article else "a page not marked as an article"
        return Verdict(reject(url, "too_short", f"{words} words of text on {marked}"))
    return ARTICLE

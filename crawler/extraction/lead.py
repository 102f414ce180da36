"""The lead (standfirst): a lead element, else the page's description, and whether the
body's first paragraph is that lead (then it moves from the text to the lead).
"""

from __future__ import annotations

from collections.abc import Iterable

from crawler.extraction.dom import Dom
from crawler.extraction.metadata import PageMeta, ld_text
from crawler.extraction.text import same_line


def _is_lead_of(candidate: str, paragraph: str) -> bool:
    """True when ``paragraph`` is the lead ``candidate`` (possibly truncated with '…')."""
    a = candidate.casefold().rstrip(" .…").removesuffix("...").rstrip()
    b = paragraph.casefold().rstrip(" .…")
    if not a or not b:
        return False
    if a == b:
        return True
    return len(a) >= 60 and (b.startswith(a) or a.startswith(b)) and len(b) <= len(a) * 1.6 + 20


def choose_lead(
    meta: PageMeta,
    dom: Dom,
    paragraphs: list[str],
    from_position: str | None,
    title: str | None,
    site_name: str | None,
    bylines: Iterable[str] = (),
) -> tuple[str | None, list[str]]:
    """The lead and the paragraphs left in the body.

    ``from_position`` (a standfirst found by its place above the byline) wins; else the
    first paragraph when it is one of the candidates (lead elements, ``og:description``,
    JSON-LD ``description``, the description metas); else the first candidate. A body of
    one paragraph that is the description is the article's text, and there is no lead.
    A description opening with the page's byline (``Staff Reports Police arrested …``: a
    CMS wrote it from the article's first characters) is read without it.
    """
    candidates = [
        _without_byline(c, bylines)
        for c in (
            *dom.lead_elements,
            meta.first("og:description"),
            ld_text(meta.article.get("description")) if meta.article else None,
            meta.first("description", "twitter:description", "dc.description"),
        )
        if c and not (title and same_line(c, title)) and not (site_name and same_line(c, site_name))
    ]
    if from_position:
        return from_position, paragraphs
    if paragraphs:
        for cand in candidates:
            if _is_lead_of(cand, paragraphs[0]):
                if len(paragraphs) == 1:
                    return None, paragraphs  # the whole article: it stays the text
                return paragraphs[0], paragraphs[1:]
    return (candidates[0] if candidates else None), paragraphs


def _without_byline(candidate: str, bylines: Iterable[str]) -> str:
    """``candidate`` without a byline printed at its start (and the space after it)."""
    for raw in sorted(bylines, key=len, reverse=True):
        if len(raw) >= 3 and candidate.casefold().startswith(raw.casefold() + " "):
            return candidate[len(raw) :].lstrip(" -–—:|")
    return candidate

"""The headline: which of the page's ``<h1>``, ``og:title``, JSON-LD ``headline``,
``twitter:title`` and ``<title>`` is the article's title, with the site's name and a
kicker the ``<h1>`` prints in its own element (``patterns/common.yaml``'s
``kicker_classes``) cut off.
"""

from __future__ import annotations

import re
from functools import cache

from crawler.extraction.dom import Dom
from crawler.extraction.metadata import PageMeta, ld_text
from crawler.extraction.patterns import load_data
from crawler.extraction.text import normalize_line

_TITLE_SEPARATORS = re.compile(r"\s+(?:\||-|–|—|::|·|•|»|/)\s+")
_LEADING_SEPARATOR = re.compile(r"^\s*(?:\||-|–|—|::|·|•|»|/)\s+")
_TRAILING_SEPARATOR = re.compile(r"\s+(?:\||-|–|—|::|·|•|»|/)\s*$")


_FOLDED = str.maketrans(
    {
        **dict.fromkeys("’‘‚‛`´", "'"),
        **dict.fromkeys("“”„‟«»‹›", '"'),
        **dict.fromkeys("–—‒―−", "-"),
    }
)


_QUOTE_SPACE = re.compile(r'\s*"\s*')


def _fold(text: str) -> str:
    """``text`` for comparing titles: casefolded, one kind of quote and dash, no spaces
    inside quotes (French « … » has them, its straight-quoted metadata not)."""
    return _QUOTE_SPACE.sub('"', normalize_line(text).casefold().translate(_FOLDED))


_CASELESS_SUFFIX = re.compile(
    r"(?<=[\u3000-\u30ff\u3400-\u9fff\uac00-\ud7af\uff01-\uff60])"
    r"\s*[-_|｜–—]\s*([^\s\-_|｜–—]{2,12})\s*$"
)
"""A short name after a dash, underscore or bar that a title in a caseless script prints
without spaces (``标题-新华网``, ``제목 - 연합뉴스``)."""


@cache
def _site_endings() -> tuple[str, ...]:
    return tuple(str(x) for x in load_data("common").get("site_endings") or ())


_ADDRESS = re.compile(r"^[\w-]+(?:\.[\w-]+)*\.[a-z]{2,6}\W*$", re.IGNORECASE)
"""A site's address as a title's first part (``example.de //``): the site's name."""


def _strip_site(title: str, site_name: str | None) -> str:
    """``title`` without a leading site name or a short trailing part after a separator,
    or (caseless scripts) a site's name glued on with a dash (``标题-新华网``)."""
    glued = _CASELESS_SUFFIX.search(title)
    if glued and glued.group(1).endswith(_site_endings()):
        return normalize_line(title[: glued.start()])
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    site = (site_name or "").casefold()
    if (site and parts[0].casefold() == site) or _ADDRESS.match(parts[0]):
        return normalize_line(_LEADING_SEPARATOR.sub("", title[len(parts[0]) :]))
    last = parts[-1]
    if (site and last.casefold() == site) or len(last.split()) <= 4:
        # the headline keeps its own separators ("Storm hits coast – ferries stop | Site")
        cut = title.rfind(last)
        return normalize_line(_TRAILING_SEPARATOR.sub("", title[:cut]))
    return title


def _printed_part(title: str, dom: Dom) -> str:
    """``title``, or the longest part of it (between separators) that the page prints when
    it does not print the whole: ``Example Home | The Headline`` on a page printing ``The
    Headline`` as its heading (and the site's name, not known as one, in its logo), on a
    page without an ``<h1>``."""
    parts = [p for p in _TITLE_SEPARATORS.split(title) if len(p) >= MIN_PRINTED_TITLE]
    if dom.h1 or len(_TITLE_SEPARATORS.split(title)) < 2 or not parts:
        return title  # a page with an <h1> prints its headline there (not a part of it)
    printed = _fold(dom.visible_text())
    if _fold(title) in printed:
        return title
    found = [p for p in parts if _fold(p) in printed]
    return max(found, key=len) if found else title


MIN_HEADING_WORDS = 2
"""Fewest words of an ``<h1>`` preferred to a ``<title>`` that does not contain it."""

MIN_PRINTED_TITLE = 20
"""Shortest metadata title whose being printed on the page counts (shorter ones are
printed by chance: a section's name, a site's)."""


def choose_title(meta: PageMeta, dom: Dom, site_name: str | None) -> str | None:
    """:func:`_title` without a kicker the page prints in its own element of the
    headline's ``<h1>`` (``Klimaschutz`` over ``Bohren, bis es heiß wird``; metadata
    titles often join the two, ``Klimaschutz: Bohren, bis es heiß wird``)."""
    title = _title(meta, dom, site_name)
    if title is None:
        return None
    folded = _fold(title)
    for kicker, rest in dom.h1_kickers.values():
        if folded.startswith(_fold(kicker)) and folded.endswith(_fold(rest)):
            return rest
    return title


def _title(meta: PageMeta, dom: Dom, site_name: str | None) -> str | None:
    """An ``<h1>`` that prints a metadata title whole or that the metadata titles without
    the site's name contain, else the first metadata title without the site's name (one
    the page prints, when the first is printed nowhere; the first ``<h1>`` of two or more
    words instead of a ``<title>`` that is the only one; the printed part of a ``<title>``
    on a page without ``<h1>``), else the first ``<h1>``, else ``<title>`` without the
    site's name."""
    declared = [
        t
        for t in (
            meta.first("og:title"),
            ld_text(meta.article.get("headline")) if meta.article else None,
            meta.first("twitter:title"),
            meta.title_tag,
        )
        if t
    ]
    site = _fold(site_name or "")
    stripped_titles = [_fold(_strip_site(d, site_name)) for d in declared]
    # A logo heading ("<h1>Harbour Times</h1>") is in every metadata title, but only in
    # the site's part of it: compare with the titles without the site's name. When the
    # site's name is not known and several headings are in a title ("<h1>Port</h1>",
    # "<h1>News</h1>", "<h1>Ferry fares rise</h1>" in "Port online - News - Ferry fares
    # rise"), the longest is the headline.
    # A heading that prints a metadata title whole is the headline, whatever separators
    # it holds ("Storm hits coast – ferries stop": its last part is not the site's name).
    # Headings and titles are compared with their quotes and dashes folded: metadata
    # often has straight quotes where the heading prints typographic ones, and the
    # heading is what the page prints.
    whole_titles = {_fold(d) for d in declared}
    contained = [
        h1
        for h1 in dom.h1
        if _fold(h1) != site
        and (_fold(h1) in whole_titles or any(_fold(h1) in t for t in stripped_titles))
    ]
    if contained:
        return max(contained, key=len)
    candidates = [t for t in (_strip_site(v, site_name) for v in declared) if t]
    if candidates:
        # A metadata title the page never prints (a site-wide tagline in og:title) loses to
        # a later one it prints (the <title> whose text is the article's heading).
        printed = _fold(dom.visible_text())
        if _fold(candidates[0]) not in printed:
            for later in candidates[1:]:
                if len(later) >= MIN_PRINTED_TITLE and _fold(later) in printed:
                    return later
    for value in declared:
        if value is meta.title_tag and dom.h1 and len(dom.h1[0].split()) >= MIN_HEADING_WORDS:
            # a site-wide <title> ("Ausflugtipps am Niederrhein") on a page whose own
            # heading is not in it: the heading is the headline (a one-word heading is a
            # section's or a widget's: "Sections", "Quicklinks")
            return dom.h1[0]
        stripped = _strip_site(value, site_name)
        if stripped:
            return _printed_part(stripped, dom)
    if dom.h1:
        return dom.h1[0]
    if meta.title_tag:
        return _strip_site(meta.title_tag, site_name) or None
    return None

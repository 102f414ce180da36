"""The DOM scan: one pass over ``<body>`` for the page facts the later passes weigh.

Owns what counts, on the page outside the main text, as a headline (``<h1>``), a byline
element, a lead element, a date element or ``<time>``, a teaser block, an embedded video,
and link text; and reading the site's hint selectors (``select``, ``block_paragraphs``).
Decides nothing about the record itself: the title, author, date and rejection passes
do, from :class:`Dom`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from lxml import etree  # type: ignore[import-untyped]

from crawler.extraction import byline as bl
from crawler.extraction.metadata import in_nested_item
from crawler.extraction.patterns import load_data
from crawler.extraction.text import normalize_line, split_paragraphs

logger = logging.getLogger(__name__)

_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "svg"})
_LEAD_CLASSES = frozenset(
    {
        "lead",
        "standfirst",
        "intro",
        "article-lead",
        "article__lead",
        "article-intro",
        "article__intro",
        "summary",
        "article-summary",
        "dek",
        "deck",
        "subheadline",
        "sub-headline",
        "excerpt",
        "abstract",
        "teaser-text",
        "lede",
        "article-lede",
        "kicker-text",
    }
)
_STRONG_BYLINE_CLASSES = frozenset({"byline", "author", "vcard", "byline-author", "author-name"})
_BYLINE_ATTR = re.compile(r"byline|author|autor|auteur|verfasser", re.I)
_DATE_ATTR = re.compile(
    r"(^|[-_\s])(date|dateline|published|pubdate|timestamp|datum)([-_\s]|$)", re.I
)
_COMMENT_ATTR = re.compile(r"comment|kommentar|reply|respon", re.I)
_VIDEO_HOSTS = ("youtube.com", "youtube-nocookie.com", "vimeo.com", "dailymotion.com", "player.")


@dataclass
class Dom:
    """What :func:`scan_dom` found in ``<body>`` (each list in document order, capped)."""

    h1: list[str] = field(default_factory=list)
    h1_kickers: dict[str, tuple[str, str]] = field(default_factory=dict)
    """For an ``<h1>`` (its text) printing a kicker in an element of its own: the kicker
    and the rest of the heading (``Klimaschutz``, ``Bohren, bis es heiß wird``)."""
    byline_elements: list[tuple[str, bool]] = field(default_factory=list)
    """Texts of elements marked as author/byline, with whether the mark is strong."""
    lead_elements: list[str] = field(default_factory=list)
    time_values: list[str] = field(default_factory=list)
    date_texts: list[str] = field(default_factory=list)
    published_time: list[str] = field(default_factory=list)
    prefixed_bylines: list[str] = field(default_factory=list)
    h1_element: Any = None
    time_texts: list[str] = field(default_factory=list)
    """Printed text of ``<time datetime>`` elements (for ``published_raw`` as printed)."""
    title_dates: list[str] = field(default_factory=list)
    """Short texts with digits among the first text nodes after the first ``<h1>``."""
    strong_bylines: int = 0
    has_video: bool = False
    headline_links: int = 0
    """Headings that are links (teasers of other articles, as on index pages)."""
    teaser_keys: set[str] = field(default_factory=set)
    """First 40 characters of paragraphs in teaser blocks (items with a linked headline)."""
    text_chars: int = 0
    link_chars: int = 0
    anchors: dict[str, set[str]] = field(default_factory=dict)
    """Anchor texts on the page, by first word."""
    body: Any = None
    _visible_text: str | None = None
    _page_text: str | None = None

    def visible_text(self) -> str:
        """Visible text of ``<body>`` as printed, whitespace-collapsed (computed once)."""
        if self._visible_text is None:
            body = self.body
            self._visible_text = " ".join(body.text_content().split()) if body is not None else ""
        return self._visible_text

    def page_text(self) -> str:
        """`visible_text`, lower-cased (computed once)."""
        if self._page_text is None:
            self._page_text = self.visible_text().lower()
        return self._page_text


_MARK_WORDS = (
    "author",
    "Author",
    "autor",
    "byline",
    "Byline",
    "verfasser",
    "date",
    "Date",
    "datum",
    "published",
    "timestamp",
    "lead",
    "standfirst",
    "intro",
    "summary",
    "dek",
    "deck",
    "excerpt",
    "abstract",
    "lede",
    "subheadline",
    "description",
)
_MARK_RE = re.compile("|".join(re.escape(word) for word in _MARK_WORDS))
_MARK_ITEMPROPS = frozenset({"author", "datePublished", "description"})


def _marked(body: Any) -> list[Any]:
    """Elements whose class/id may mark a byline, date or lead, or whose itemprop/rel says
    so, in document order: one Python pass over elements (an XPath union of ``contains()``
    tests cost about 3 ms per page); elements without attributes are skipped at once."""
    out: list[Any] = []
    search = _MARK_RE.search
    for el in body.iter(etree.Element):
        attrs = el.attrib
        if not attrs:
            continue
        cls, ident, testid = attrs.get("class"), attrs.get("id"), attrs.get("data-testid")
        if (
            (cls is not None and search(cls))
            or (ident is not None and search(ident))
            or (testid is not None and search(testid))
            or (
                el is not body
                and (attrs.get("itemprop") in _MARK_ITEMPROPS or attrs.get("rel") == "author")
            )
        ):
            out.append(el)
    return out


_HEADLINE_LINKS = etree.XPath(
    "count(.//h2[.//a] | .//h3[.//a] | .//h2/ancestor::a | .//h3/ancestor::a)"
)
_TEASER_TEXTS = etree.XPath(
    ".//li[.//h2//a or .//h3//a or .//h4//a]//p"
    " | .//*[contains(concat(' ', normalize-space(@class), ' '), ' teaser ')]//p"
)
_AFTER_TITLE = etree.XPath(
    "following::text()[normalize-space(.) != ''][position() <= 60]"
    "[not(ancestor::script) and not(ancestor::style)]"
)
_FIRST_TEXTS = etree.XPath(
    ".//text()[normalize-space(.) != ''][position() <= 60]"
    "[not(ancestor::script) and not(ancestor::style)]"
)


_OFF_ARTICLE_TAGS = frozenset({"aside", "nav"})
OFF_ARTICLE_MAX_SHARE = 0.4
"""A region marked as off-article holding more of the page's text than this is the main
area after all (Blogger's ``widget Blog`` holds the posts)."""


@cache
def _off_article_re() -> re.Pattern[str]:
    words = [str(w) for w in load_data("common").get("off_article") or ()]
    return re.compile(rf"^(?:{'|'.join(map(re.escape, words))})", re.IGNORECASE)


def off_article(el: Any, dom: Dom) -> bool:
    """True when ``el`` sits in a region outside the article: an ``<aside>`` or ``<nav>``,
    a ``<footer>`` outside any ``<article>``, or an element whose class or id has a token
    starting with one of ``patterns/common.yaml``'s ``off_article`` words (a sidebar
    widget, a related-articles box, comments) and which holds less than
    ``OFF_ARTICLE_MAX_SHARE`` of the page's text (some platforms call the region holding
    the article itself a "widget")."""
    match = _off_article_re().match
    footer = False
    node = el
    while node is not None and node is not dom.body:
        tag = node.tag
        if tag in _OFF_ARTICLE_TAGS:
            return True
        if tag == "article":
            return False
        footer = footer or tag == "footer"
        for attr in ("class", "id"):
            value = node.get(attr)
            if value and any(match(token) for token in value.split()):
                share = _collapsed_len(node.text_content()) / max(dom.text_chars, 1)
                if share < OFF_ARTICLE_MAX_SHARE:
                    return True
        node = node.getparent()
    return footer


@cache
def _kicker_class_re() -> re.Pattern[str]:
    words = [str(w) for w in load_data("common").get("kicker_classes") or ()]
    return re.compile("|".join(map(re.escape, words)), re.IGNORECASE)


_KICKER_SEPARATOR = re.compile(r"^[\s:|–—-]+")


def _kicker(heading: Any) -> tuple[str, str] | None:
    """The kicker an ``<h1>`` prints in an element classed as one, and the rest of the
    heading without it (and without a separator between them); None when it has none or
    nothing else."""
    for child in heading.iterdescendants():
        if not isinstance(child.tag, str) or not _kicker_class_re().search(
            child.get("class") or ""
        ):
            continue
        kicker = normalize_line(child.text_content())
        if not kicker:
            continue
        rest = _KICKER_SEPARATOR.sub("", normalize_line(_text_without(heading, child)))
        return (kicker, rest) if rest else None
    return None


def _text_without(el: Any, skip: Any) -> str:
    """The text of ``el`` without the subtree ``skip`` (its tail stays)."""
    out = [el.text or ""] if isinstance(el.tag, str) else []
    for child in el:
        if child is not skip:
            out.append(_text_without(child, skip))
        out.append(child.tail or "")
    return " ".join(out)


def spaced_text(el: Any) -> str:
    """Text of ``el`` with its child elements' texts apart ("<a>Jane Doe</a><a>Twitter</a>"
    is "Jane Doe Twitter", where ``text_content()`` gives "Jane DoeTwitter")."""
    return normalize_line(" ".join(el.itertext()))


def _collapsed_len(text: str) -> int:
    return len(" ".join(text.split()))


def scan_dom(tree: Any) -> Dom:
    """Collect what the metadata passes need from ``<body>`` with a few targeted queries."""
    dom = Dom()
    body = tree.find("body")
    if body is None:
        return dom
    dom.body = body
    dom.headline_links = int(_HEADLINE_LINKS(body))
    if dom.headline_links >= 3:
        for para in _TEASER_TEXTS(body):
            teaser = normalize_line(para.text_content())
            if len(teaser) >= 40:
                dom.teaser_keys.add(teaser[:40])
    dom.text_chars = _collapsed_len(body.text_content())
    for el in body.iter(*_SKIP_TAGS):
        if el.text:
            dom.text_chars -= _collapsed_len(el.text)
    for a in body.iter("a"):
        anchor = normalize_line(a.text_content())
        dom.link_chars += len(anchor)
        if len(anchor) >= 3:
            dom.anchors.setdefault(anchor.split(" ", 1)[0], set()).add(anchor)
    for el in body.iter("h1", "time", "video", "iframe", "embed"):
        tag = el.tag
        if tag == "h1":
            text = normalize_line(el.text_content())
            if text and dom.h1_element is None:
                dom.h1_element = el  # where the header area starts, a logo's too
            if text and len(dom.h1) < 3 and not _links_home(el, text):
                dom.h1.append(text)
                kicked = _kicker(el)
                if kicked is not None:
                    dom.h1_kickers[text] = kicked
        elif tag == "time":
            value = el.get("datetime") or el.get("content")
            if value:
                published = el.get("itemprop") == "datePublished" and not in_nested_item(el)
                if published or el.get("pubdate") is not None:
                    dom.published_time.append(value)
                elif len(dom.time_values) < 5:
                    dom.time_values.append(value)
                printed = normalize_line(el.text_content())
                if 6 <= len(printed) <= 80 and len(dom.time_texts) < 5:
                    dom.time_texts.append(printed)
            elif len(dom.date_texts) < 5:
                text = normalize_line(el.text_content())
                if 6 <= len(text) <= 80:
                    dom.date_texts.append(text)
        elif not dom.has_video:
            src = (el.get("src") or el.get("data-src") or "").lower()
            dom.has_video = tag == "video" or any(host in src for host in _VIDEO_HOSTS)
    # The header area: the first text nodes after the headline (or of the article).
    if dom.h1_element is not None:
        head_nodes = _AFTER_TITLE(dom.h1_element)
    else:
        container = next(body.iter("article"), None)
        head_nodes = _FIRST_TEXTS(container if container is not None else body)
    for node in head_nodes:
        text = normalize_line(str(node))
        if len(dom.title_dates) < 3 and 6 <= len(text) <= 80 and any(c.isdigit() for c in text):
            dom.title_dates.append(text)
        if len(dom.prefixed_bylines) < 5 and bl.starts_with_prefix(text):
            el = node.getparent()
            if el is not None and getattr(node, "is_tail", False):
                el = el.getparent()
            if el is None or el.tag in _SKIP_TAGS:
                continue
            if len(normalize_line(el.text_content()).split()) <= 2 and el.getparent() is not None:
                el = el.getparent()  # "<span>By</span> <a>Name</a>": the prefix alone
            line = normalize_line(el.text_content())
            if len(line) <= bl.MAX_BYLINE_CHARS:
                dom.prefixed_bylines.append(line)
    labelled = _labelled_bylines(body, dom)
    for el in _marked(body):
        tag = el.tag
        if tag in _SKIP_TAGS:
            continue
        itemprop = el.get("itemprop")
        if itemprop and in_nested_item(el):  # a cited work's, a comment's
            itemprop = None
        attrs = " ".join(
            v
            for v in (
                el.get("class"),
                el.get("id"),
                el.get("data-testid"),  # sites whose classes are generated hashes
                itemprop,
                el.get("rel"),
            )
            if v
        )
        if itemprop == "datePublished" and tag != "time":
            value = el.get("content") or el.get("datetime")
            if value:
                dom.published_time.append(value)
        if (
            len(dom.byline_elements) < 8
            and _BYLINE_ATTR.search(attrs)
            and tag not in ("meta", "link")
            and not _COMMENT_ATTR.search(attrs)
        ):
            text = spaced_text(el)
            if text and len(text) <= bl.MAX_BYLINE_CHARS:
                tokens = set((el.get("class") or "").lower().split())
                strong = itemprop == "author" or "author" in (el.get("rel") or "")
                strong = strong or bool(tokens & _STRONG_BYLINE_CLASSES)
                if strong:
                    dom.byline_elements.insert(dom.strong_bylines, (text, True))
                    dom.strong_bylines += 1
                else:
                    dom.byline_elements.append((text, False))
        if len(dom.lead_elements) < 3:
            classes = {c.lower() for c in (el.get("class") or "").split()}
            if classes & _LEAD_CLASSES or (el.get("itemprop") == "description" and tag != "meta"):
                text = normalize_line(el.text_content())
                if 30 <= len(text) <= 800:
                    dom.lead_elements.append(text)
        if (
            len(dom.date_texts) < 5
            and _DATE_ATTR.search(attrs)
            and tag not in ("meta", "time")
            and not off_article(el, dom)
        ):
            text = normalize_line(el.text_content())
            if 6 <= len(text) <= 80:
                dom.date_texts.append(text)
    for text in labelled[: max(0, 8 - len(dom.byline_elements))]:
        dom.byline_elements.append((text, False))
    return dom


def _links_home(heading: Any, text: str) -> bool:
    """True for a heading that is a link to a site's home page and nothing else (``<h1><a
    href="https://blog.example/">Blog name</a></h1>``, ``<a href="/"><h1>Name</h1></a>``):
    the site's name, not a headline."""
    links = [a for a in heading.iter("a") if normalize_line(a.text_content()) == text]
    wrapper = next(heading.iterancestors("a"), None)  # <a href="/"><h1>Name</h1></a>
    if wrapper is not None and normalize_line(wrapper.text_content()) == text:
        links.append(wrapper)
    for a in links:
        href = (a.get("href") or "").strip()
        parts = urlsplit(href)
        root = bool(parts.netloc) and parts.path in ("", "/") and not parts.query
        if root or href in ("/", "./"):
            return True
    return False


_LABEL_TAGS = ("h3", "h4", "h5", "h6", "dt", "th", "strong", "b", "label")
"""Elements that print a label before the value beside them (``<h5>Autor:</h5> Name``)."""


def _labelled_bylines(body: Any, dom: Dom) -> list[str]:
    """Names printed after an author label in an element of their own: ``<h5>Autor:
    </h5>Jane Doe``, ``<dt>Author</dt><dd>Jane Doe</dd>``, or a byline prefix alone in a
    wrapper of its own before the name's (``<div><p><strong>By</strong></p></div><div><p>
    Jane Doe</p></div>``): a byline no class marks."""
    labels = bl.author_labels() | _prefix_labels()
    out: list[str] = []
    for el in body.iter(*_LABEL_TAGS):
        label = (el.text or "").strip().rstrip(":").strip().casefold()
        if len(el) or label not in labels:
            continue
        value = _value_after(el)
        if value and len(value) <= bl.MAX_BYLINE_CHARS and not off_article(el, dom):
            out.append(value)
        if len(out) >= 2:
            break
    return out


LABELLED_VALUE_CHARS = 60
"""An element after an author label printing more than this is a profile card (name,
job, follow button); its first text is the name."""

LABEL_WRAPPERS = 3
"""How many wrappers holding only the label (``<p class=label><strong>By</strong></p>``)
are climbed to find the element printing the name after it."""


def _value_after(label: Any) -> str:
    """The text printed after a label element: its tail, else the next element's text,
    climbing out of wrappers that hold nothing but the label."""
    el = label
    text = normalize_line(label.text_content())
    for _ in range(LABEL_WRAPPERS + 1):
        value = normalize_line(el.tail or "")
        if value:
            return value.strip(" ,;|")
        following = el.getnext()
        if following is not None:
            value = spaced_text(following).strip(" ,;|")
            if len(value) > LABELLED_VALUE_CHARS:  # a profile card: the name comes first
                value = next((t.strip() for t in following.itertext() if t.strip()), "")
            return value
        parent = el.getparent()
        if parent is None or normalize_line(parent.text_content()) != text:
            return ""
        el = parent
    return ""


@cache
def _prefix_labels() -> frozenset[str]:
    """Byline prefixes (``By``, ``Von``, ``Por``) as labels, case-folded, colon dropped."""
    return frozenset(p.rstrip(":").strip().casefold() for p in bl.byline_prefixes())


def select(tree: Any, selector: str) -> list[Any]:
    """Elements matching a CSS selector (XPath when it starts with ``/`` or ``./``)."""
    try:
        if selector.startswith(("/", "./", "(")):
            found = tree.xpath(selector)
        else:
            from lxml.cssselect import CSSSelector  # type: ignore[import-untyped]

            found = CSSSelector(selector)(tree)
    except Exception:
        logger.debug("bad selector %r", selector, exc_info=True)
        return []
    return [el for el in found if isinstance(getattr(el, "tag", None), str)]


_BLOCKS = ("p", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre")


def block_paragraphs(el: Any) -> list[str]:
    """The block-level texts inside ``el`` (paragraphs, headings, list items, quotes)."""
    out: list[str] = []
    for block in el.iter(*_BLOCKS):
        parent = block.getparent()
        if parent is not None and parent.tag in ("li", "blockquote") and block.tag == "p":
            continue
        text = normalize_line(block.text_content())
        if text:
            out.append(text)
    return out or split_paragraphs(el.text_content())

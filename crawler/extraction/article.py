"""``extract_article``: trafilatura for the body plus our own metadata passes.

The HTML is parsed once with lxml; the same tree feeds trafilatura (which works on
its own copy) and every metadata pass. Never raises: any failure becomes a
``Rejection(reason="parse_error")``.

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
* Dates: see :mod:`crawler.extraction.dates` (naive times are taken as UTC).
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

import lxml.html  # type: ignore[import-untyped]
from htmldate import find_date
from lxml import etree
from trafilatura import bare_extraction

from crawler.extraction import byline as bl
from crawler.extraction import dates, signals
from crawler.extraction.language import detect_language, normalize_lang
from crawler.extraction.metadata import PageMeta, collect, ld_image, ld_people, ld_text
from crawler.extraction.patterns import available_languages, load_data
from crawler.extraction.record import ArticleRecord, Hints, Rejection, RejectionReason
from crawler.extraction.sanitize import sanitize
from crawler.extraction.text import (
    content_hash,
    join_paragraphs,
    normalize_line,
    simhash,
    split_paragraphs,
    word_count,
)
from crawler.extraction.translation import find_translation
from crawler.extraction.urls import absolutize, choose_canonical
from crawler.extraction.version import EXTRACTOR_VERSION

logger = logging.getLogger(__name__)

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

EXTENSIVE_DATE_SEARCH = True
"""Run htmldate's extensive search when its quick search found nothing either (pages
without any date metadata; ~50-100 ms each, rare on news sites)."""

HEAD_PARAGRAPHS = 4
TAIL_PARAGRAPHS = 3

_PARSER = etree.HTMLParser(
    collect_ids=False, default_doctype=False, remove_comments=True, remove_pis=True
)
"""Same settings as trafilatura's own parser, so its body extraction sees the same tree.

Its elements are ``lxml.html.HtmlElement`` (trafilatura and htmldate call
``text_content()`` and ``drop_tree()``) chosen by lxml's C-level default lookup instead
of ``lxml.html``'s Python ``HtmlElementClassLookup``, which ran on every element proxy
created (about 5,000 per page, 5 % of the extraction's CPU): the form-specific classes
(``FormElement``, ``InputElement``...) it would pick are used by nothing here."""
_PARSER.set_element_class_lookup(
    etree.ElementDefaultClassLookup(
        element=lxml.html.HtmlElement,
        comment=lxml.html.HtmlComment,
        pi=lxml.html.HtmlProcessingInstruction,
        entity=lxml.html.HtmlEntity,
    )
)
_DOCTYPE = re.compile(r"<!DOCTYPE[^>]*>", re.I)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
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
_BYLINE_ATTR = re.compile(r"byline|author|autor|verfasser", re.I)
_DATE_ATTR = re.compile(
    r"(^|[-_\s])(date|dateline|published|pubdate|timestamp|datum)([-_\s]|$)", re.I
)
_COMMENT_ATTR = re.compile(r"comment|kommentar|reply|respon", re.I)
_VIDEO_HOSTS = ("youtube.com", "youtube-nocookie.com", "vimeo.com", "dailymotion.com", "player.")


def extract_article(
    html: str | bytes, url: str, *, hints: Hints | None = None, encoding: str | None = None
) -> ArticleRecord | Rejection:
    """Extract one article from ``html`` fetched at ``url``; never raises.

    ``encoding``: the charset of the HTTP ``Content-Type`` header, for ``bytes`` (it goes
    before a ``<meta charset>``; see :func:`decode_document`).

    Returns an :class:`ArticleRecord`, or a :class:`Rejection` saying why the page is
    not an article (``parse_error`` for any internal failure).
    """
    try:
        if encoding and isinstance(html, bytes):
            html = decode_document(html, encoding)
        return sanitize(_extract(html, url, hints or Hints()))  # encodable strings only
    except Exception as exc:
        logger.warning("extraction failed for %s", url, exc_info=True)
        return _reject(url, "parse_error", f"{type(exc).__name__}: {exc}"[:500])


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


def _reject(url: str, reason: RejectionReason, detail: str) -> Rejection:
    return Rejection(url=url, reason=reason, detail=detail, extractor_version=EXTRACTOR_VERSION)


# --------------------------------------------------------------------------- parsing


_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def decode_document(data: bytes, encoding: str | None = None) -> str:
    """Decode page bytes; never raises.

    A byte-order mark wins, then the declared charset (``encoding``, the HTTP
    ``Content-Type`` charset, before a ``<meta charset>``), then UTF-8, then cp1252.
    Declarations that cannot be right are ignored: UTF-16/32 on bytes without NULs
    (byte text; ASCII and UTF-8 are what such pages are), ``ascii`` on non-ASCII bytes,
    unknown names. UTF-8 with a few invalid bytes (declared, or mostly valid) keeps its
    text with replacement characters rather than turning into cp1252 mojibake.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace")
    head = data[:4096]
    if b"\x00" not in head and not data.isascii():
        # Non-ASCII bytes that are valid UTF-8 throughout are UTF-8 whatever a header or
        # meta says (servers often send a default "iso-8859-1"): text in a single-byte
        # charset practically never forms valid multi-byte sequences everywhere.
        with contextlib.suppress(UnicodeDecodeError):
            return data.decode("utf-8")

    def wide(codec: str) -> str:
        """Decode as UTF-16/32; the byte order from where the NULs of ASCII text fall."""
        if codec in ("utf-16", "utf-32"):
            width = 2 if codec == "utf-16" else 4
            zeros_first = head[: len(head) // width * width : width].count(0)
            zeros_last = head[width - 1 :: width].count(0)
            codec += "-be" if zeros_first > zeros_last else "-le"
        return data.decode(codec, errors="replace")

    declared = [encoding] if encoding else []
    match = _META_CHARSET.search(head)
    if match:
        declared.append(match.group(1).decode("ascii", "ignore"))
    for name in declared:
        try:
            codec = codecs.lookup(name.strip().lower()).name
        except (LookupError, ValueError):
            continue
        if codec.startswith(("utf-16", "utf-32")):
            if b"\x00" not in head:
                continue  # a wide charset declared on byte text
            return wide(codec)
        if codec == "utf-8":
            return data.decode("utf-8", errors="replace")
        if codec == "ascii":
            continue  # ASCII pages decode as UTF-8 below; non-ASCII bytes belie it
        if codec == "iso8859-1":
            codec = "cp1252"  # as browsers read it
        try:
            return data.decode(codec)
        except (LookupError, UnicodeError, ValueError):  # not a text codec, or bytes it rejects
            if codec == "cp1252":
                return data.decode("latin-1")
    zeros = head.count(0)
    if zeros * 4 > len(head):  # undeclared UTF-16/32 without a BOM: ASCII text has NULs
        return wide("utf-32" if zeros * 3 > 2 * len(head) else "utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="replace")
    invalid = text.count("\ufffd")
    valid = sum(1 for ch in text if ch > "\x7f") - invalid
    if valid > invalid:
        return text  # mostly UTF-8: a few broken bytes, not a legacy charset
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def parse_document(html: str | bytes, *, encoding: str | None = None) -> tuple[Any, str | None]:
    """Decode and parse ``html`` once; returns ``(tree, None)`` or ``(None, reason)``.

    ``encoding`` is the charset the server declared for bytes (see :func:`decode_document`).
    """
    source = decode_document(html, encoding) if isinstance(html, bytes) else html
    if "<" not in source[:100_000]:
        return None, "not_html"
    bad = len(_BAD_CHARS.findall(source[:20_000]))
    if bad > 0.05 * min(len(source), 20_000):
        return None, "not_html"
    source = _BAD_CHARS.sub("", _XML_DECL.sub("", source, count=1))
    if "doctype" in source[:50].lower():
        first, sep, rest = source.partition("\n")
        source = _DOCTYPE.sub("", first, count=1) + sep + rest
    try:
        tree = lxml.html.document_fromstring(source, parser=_PARSER)
    except (etree.ParserError, ValueError):
        return None, "parse_error"
    if tree is None or tree.find("body") is None:
        return None, "not_html"
    return tree, None


# --------------------------------------------------------------------------- dom pass


@dataclass
class _Dom:
    h1: list[str] = field(default_factory=list)
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
    teaser_keys: set[str] = field(default_factory=set)
    """First 40 characters of paragraphs in teaser blocks (items with a linked headline)."""
    """Headings that are links (teasers of other articles, as on index pages)."""
    text_chars: int = 0
    link_chars: int = 0
    anchors: dict[str, set[str]] = field(default_factory=dict)
    """Anchor texts on the page, by first word."""
    body: Any = None
    _page_text: str | None = None

    def page_text(self) -> str:
        """Visible text of ``<body>``, whitespace-collapsed and lower-cased (computed once)."""
        if self._page_text is None:
            self._page_text = (
                " ".join(self.body.text_content().split()).lower() if self.body is not None else ""
            )
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
        cls, ident = attrs.get("class"), attrs.get("id")
        if (
            (cls is not None and search(cls))
            or (ident is not None and search(ident))
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


def _collapsed_len(text: str) -> int:
    return len(" ".join(text.split()))


def _scan_dom(tree: Any) -> _Dom:
    """Collect what the metadata passes need from ``<body>`` with a few targeted queries."""
    dom = _Dom()
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
            if text and len(dom.h1) < 3:
                dom.h1.append(text)
                if dom.h1_element is None:
                    dom.h1_element = el
        elif tag == "time":
            value = el.get("datetime") or el.get("content")
            if value:
                if el.get("itemprop") == "datePublished" or el.get("pubdate") is not None:
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
    for el in _marked(body):
        tag = el.tag
        if tag in _SKIP_TAGS:
            continue
        attrs = " ".join(
            v for v in (el.get("class"), el.get("id"), el.get("itemprop"), el.get("rel")) if v
        )
        if el.get("itemprop") == "datePublished" and tag != "time":
            value = el.get("content") or el.get("datetime")
            if value:
                dom.published_time.append(value)
        if (
            len(dom.byline_elements) < 8
            and _BYLINE_ATTR.search(attrs)
            and tag not in ("meta", "link")
            and not _COMMENT_ATTR.search(attrs)
        ):
            text = normalize_line(el.text_content())
            if text and len(text) <= bl.MAX_BYLINE_CHARS:
                tokens = set((el.get("class") or "").lower().split())
                strong = el.get("itemprop") == "author" or "author" in (el.get("rel") or "")
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
        if len(dom.date_texts) < 5 and _DATE_ATTR.search(attrs) and tag not in ("meta", "time"):
            text = normalize_line(el.text_content())
            if 6 <= len(text) <= 80:
                dom.date_texts.append(text)
    return dom


# --------------------------------------------------------------------------- selectors


def _select(tree: Any, selector: str) -> list[Any]:
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


def _block_paragraphs(el: Any) -> list[str]:
    out: list[str] = []
    for block in el.iter(*_BLOCKS):
        parent = block.getparent()
        if parent is not None and parent.tag in ("li", "blockquote") and block.tag == "p":
            continue
        text = normalize_line(block.text_content())
        if text:
            out.append(text)
    return out or split_paragraphs(el.text_content())


# --------------------------------------------------------------------------- extraction


def _extract(html: str | bytes, url: str, hints: Hints) -> ArticleRecord | Rejection:
    tree, problem = parse_document(html)
    if tree is None:
        reason: RejectionReason = "not_html" if problem == "not_html" else "parse_error"
        return _reject(url, reason, "input is not an HTML document")
    meta = collect(tree)
    dom = _scan_dom(tree)
    art = meta.article

    site_name = (
        meta.first("og:site_name")
        or ld_text((art.get("publisher") if art else None) or meta.page.get("publisher"))
        or meta.first("application-name")
    )

    # body ------------------------------------------------------------------
    paragraphs: list[str] = []
    if hints.body_selector:
        found = _select(tree, hints.body_selector)
        if found:
            paragraphs = _block_paragraphs(found[0])
    if not paragraphs:
        doc = bare_extraction(
            tree, url=url, with_metadata=False, include_comments=False, include_tables=True
        )
        paragraphs = split_paragraphs(getattr(doc, "text", None) or "")

    declared = _declared_language(meta)
    lang_guess = declared or hints.language

    # title -------------------------------------------------------------------
    title = _title(meta, dom, site_name) or hints.title
    paragraphs = _drop_title(paragraphs, [t for t in (title, *dom.h1) if t])

    # date header, byline, translation, teasers ------------------------------------
    header_date: dates.ParsedDate | None = None
    header_index: int | None = None
    for i, para in enumerate(paragraphs[:HEAD_PARAGRAPHS]):
        if dates.is_modified_label(para):
            continue
        found_header = dates.match_date_header(para, lang_guess)
        if found_header:
            header_date, rest = found_header
            header_index = i
            if rest:
                paragraphs[i] = rest
            else:
                paragraphs.pop(i)
            break
    if header_date is None:
        for i in range(len(paragraphs) - 1, max(-1, len(paragraphs) - 1 - TAIL_PARAGRAPHS), -1):
            found_header = dates.match_date_header(paragraphs[i], lang_guess)
            if found_header and not found_header[1]:
                header_date = found_header[0]
                paragraphs.pop(i)
                break

    printed_byline: bl.Byline | None = None
    if hints.byline_selector:
        for el in _select(tree, hints.byline_selector):
            printed_byline = bl.parse_byline(el.text_content(), strict=False)
            if printed_byline:
                break
    byline_index: int | None = None
    head = range(min(HEAD_PARAGRAPHS, len(paragraphs)))
    tail = range(max(len(head), len(paragraphs) - TAIL_PARAGRAPHS), len(paragraphs))
    for i in [*head, *tail]:
        found_byline = bl.parse_byline(paragraphs[i], strict=True)
        if found_byline:
            byline_index = i
            if printed_byline is None:
                printed_byline = found_byline
            break
    if printed_byline is None:
        for text in dom.prefixed_bylines:
            printed_byline = bl.parse_byline(text, strict=True)
            if printed_byline and printed_byline.had_prefix:
                break
            printed_byline = None
    element_byline: bl.Byline | None = None
    for text, strong in dom.byline_elements:
        element_byline = bl.parse_byline(text, strict=False, lenient=strong)
        if element_byline and element_byline.persons:
            break
    raw_bylines = {b.raw for b in (printed_byline, element_byline) if b}
    kept: list[str] = []
    lead_from_position: str | None = None
    for i, para in enumerate(paragraphs):
        if i == byline_index or para in raw_bylines:
            if (
                i == byline_index
                and i == 1
                and header_index in (0, None)
                and len(kept) == 1
                and len(kept[0]) >= 40
            ):
                # header, standfirst, byline, body: the paragraph before the byline is the lead
                lead_from_position = kept.pop()
            continue
        kept.append(para)
    paragraphs = kept

    translation = None
    found_translation = find_translation(paragraphs)
    if found_translation:
        translation, note_indexes = found_translation
        paragraphs = [p for i, p in enumerate(paragraphs) if i not in note_indexes]

    paragraphs = [
        p
        for p in paragraphs
        if not (len(p) <= 300 and bl.is_teaser(p)) and not (len(p) <= 120 and bl.is_photo_credit(p))
    ]

    # lead --------------------------------------------------------------------
    lead, paragraphs = _lead(meta, dom, paragraphs, lead_from_position, title, site_name)

    text = join_paragraphs(paragraphs)

    # rejections ------------------------------------------------------------------
    rejection = _classify(url, meta, dom, paragraphs, text, lead)
    if rejection is not None:
        return rejection

    # authors -----------------------------------------------------------------
    authors, credits, byline_text = _authors(meta, printed_byline, element_byline, site_name, hints)

    # dates -------------------------------------------------------------------
    published, modified = _dates(
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
        authors=authors,
        credits=credits,
        byline=byline_text,
        published_at=published.value if published else None,
        published_precision=published.precision if published else None,
        published_raw=published.raw if published else None,
        published_utc_offset=published.offset if published else None,
        modified_at=modified.value if modified else None,
        language=language,
        language_confidence=confidence,
        declared_language=declared,
        translation=translation,
        site_name=site_name,
        section=_section(meta),
        tags=_tags(meta),
        image_url=_image(meta, canonical),
    )


# --------------------------------------------------------------------------- fields


def _declared_language(meta: PageMeta) -> str | None:
    for value in (
        meta.html_lang,
        meta.first("og:locale"),
        meta.first("content-language"),
        meta.first("dc.language", "language", "inlanguage"),
        ld_text(meta.article.get("inLanguage")) if meta.article else None,
    ):
        code = normalize_lang(value)
        if code:
            return code
    return None


_TITLE_SEPARATORS = re.compile(r"\s+(?:\||-|–|—|::|·|•|»|/)\s+")


def _strip_site(title: str, site_name: str | None) -> str:
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    site = (site_name or "").casefold()
    if site and parts[0].casefold() == site:
        return normalize_line(title[len(parts[0]) :].lstrip(" |-–—:·•»/"))
    last = parts[-1]
    if (site and last.casefold() == site) or len(last.split()) <= 4:
        cut = title.rfind(last)
        return normalize_line(_TITLE_SEPARATORS.sub(" | ", title[:cut]).rstrip(" |"))
    return title


def _same(a: str, b: str) -> bool:
    return a.casefold().strip(" .") == b.casefold().strip(" .")


def _title(meta: PageMeta, dom: _Dom, site_name: str | None) -> str | None:
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
    for h1 in dom.h1:
        if any(h1.casefold() in d.casefold() for d in declared):
            return h1
    for value in declared[:3]:
        stripped = _strip_site(value, site_name)
        if stripped:
            return stripped
    if dom.h1:
        return dom.h1[0]
    if meta.title_tag:
        return _strip_site(meta.title_tag, site_name) or None
    return None


def _drop_title(paragraphs: list[str], titles: list[str]) -> list[str]:
    while paragraphs and any(_same(paragraphs[0], t) for t in titles):
        paragraphs = paragraphs[1:]
    return paragraphs


def _is_lead_of(candidate: str, paragraph: str) -> bool:
    """True when ``paragraph`` is the lead ``candidate`` (possibly truncated with '…')."""
    a = candidate.casefold().rstrip(" .…").removesuffix("...").rstrip()
    b = paragraph.casefold().rstrip(" .…")
    if not a or not b:
        return False
    if a == b:
        return True
    return len(a) >= 60 and (b.startswith(a) or a.startswith(b)) and len(b) <= len(a) * 1.6 + 20


def _lead(
    meta: PageMeta,
    dom: _Dom,
    paragraphs: list[str],
    from_position: str | None,
    title: str | None,
    site_name: str | None,
) -> tuple[str | None, list[str]]:
    candidates = [
        c
        for c in (
            *dom.lead_elements,
            meta.first("og:description"),
            ld_text(meta.article.get("description")) if meta.article else None,
            meta.first("description", "twitter:description", "dc.description"),
        )
        if c and not (title and _same(c, title)) and not (site_name and _same(c, site_name))
    ]
    if from_position:
        return from_position, paragraphs
    if paragraphs:
        for cand in candidates:
            if _is_lead_of(cand, paragraphs[0]):
                return paragraphs[0], paragraphs[1:]
    return (candidates[0] if candidates else None), paragraphs


def _authors(
    meta: PageMeta,
    printed: bl.Byline | None,
    element: bl.Byline | None,
    site_name: str | None,
    hints: Hints,
) -> tuple[tuple[str, ...], tuple[str, ...], str | None]:
    """Persons, organisations credited, and the byline as printed.

    Persons come from the first source that names any: the printed byline, JSON-LD
    ``author`` persons, ``<meta name=author>``, a byline element, the feed. Credits
    (agencies, desks, the outlet) come from the printed byline, else the byline
    element, else JSON-LD ``author`` organisations.
    """
    if not signals.on(signals.BYLINE):
        printed = None
    if not signals.on(signals.BYLINE_ELEMENT):
        element = None
    byline_text = printed.raw if printed else (element.raw if element else None)
    ld_persons: list[str] = []
    ld_orgs: list[str] = []
    if meta.article and signals.on(signals.JSONLD_AUTHOR):
        ld_persons, ld_orgs = ld_people(
            meta.article.get("author") or meta.article.get("creator"), meta.ids
        )
    credits = _credits(printed, element, ld_orgs)
    if printed and printed.persons:
        return printed.persons, credits, byline_text
    generic = [
        n
        for n in (site_name, ld_text(meta.article.get("publisher")) if meta.article else None)
        if n
    ]
    names = bl.clean_names(ld_persons, exclude=generic, lenient=True)
    if names:
        return names, credits, byline_text
    meta_values = [
        v
        for v in meta.all(
            "author",
            "article:author",
            "parsely-author",
            "dc.creator",
            "dcterms.creator",
            "sailthru.author",
            "byl",
            "article:author_name",
            "author_name",
            "shareaholic:article_author_name",
        )
        if not v.startswith(("http://", "https://", "www.")) and signals.on(signals.META_AUTHOR)
    ]
    names = bl.clean_names(meta_values, exclude=generic, lenient=True)
    if names:
        return names, credits, byline_text
    if element and element.persons:
        names = bl.clean_names(element.persons, exclude=generic, lenient=True)
        if names:
            return names, credits, byline_text
    return tuple(bl.clean_names(hints.authors, lenient=True)), credits, byline_text


def _credits(
    printed: bl.Byline | None, element: bl.Byline | None, ld_orgs: list[str]
) -> tuple[str, ...]:
    """Organisations credited: the printed byline's, else the element's, else JSON-LD's."""
    for found in (
        printed.credits if printed else (),
        element.credits if element else (),
        tuple(normalize_line(o) for o in ld_orgs),
    ):
        out: list[str] = []
        for name in found:
            if name and name.casefold() not in {x.casefold() for x in out}:
                out.append(name)
        if out:
            return tuple(out)
    return ()


_PUBLISHED_META = (
    "article:published_time",
    "og:published_time",
    "og:article:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "publication_date",
    "date.published",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date.created",
    "dcterms.created",
    "dc.date",
    "dcterms.date",
    "date",
    "sailthru.date",
    "parsely-pub-date",
    "citation_publication_date",
    "article.published",
    "originalpublicationdate",
)
_MODIFIED_META = (
    "article:modified_time",
    "og:updated_time",
    "datemodified",
    "dc.date.modified",
    "dcterms.modified",
    "last-modified",
)


_DATE_SIGNALS = {"title": signals.VISIBLE, "element": signals.VISIBLE}
"""Candidate sources that belong to a differently named signal (the rest share names)."""


def _dates(
    meta: PageMeta,
    dom: _Dom,
    tree: Any,
    url: str,
    header: dates.ParsedDate | None,
    hints: Hints,
    lang: str | None,
    body_text: str,
    translated: datetime | None = None,
) -> tuple[dates.ParsedDate | None, dates.ParsedDate | None]:
    candidates: list[dates.Candidate] = []
    visible: list[dates.ParsedDate] = []
    # The declared locale says more than the language about numeric dates (en-GB: d/m).
    locale = next(
        (v for v in (meta.html_lang, meta.first("og:locale")) if v and normalize_lang(v) == lang),
        lang,
    )
    if header is not None and dates.month_first(locale) != dates.month_first(lang):
        reread = dates.match_date_header(header.raw, locale)
        header = reread[0] if reread else header
    lang = locale

    def add(parsed: dates.ParsedDate | None, source: str, *, printed: bool = False) -> None:
        if parsed is not None and signals.on(_DATE_SIGNALS.get(source, source)):
            candidates.append(dates.Candidate(parsed, source, printed))
            if printed:
                visible.append(parsed)

    if hints.date_selector:
        for el in _select(tree, hints.date_selector)[:1]:
            value = el.get("datetime") or el.get("content")
            if value:
                add(dates.parse_machine_date(value), "selector")
            text = normalize_line(el.text_content())
            found = dates.match_date_header(text, lang)
            parsed = found[0] if found else dates.parse_text_date(text, lang)
            add(parsed, "selector", printed=True)
    for obj in (meta.article, meta.page):
        value = ld_text(obj.get("datePublished") or obj.get("dateCreated")) if obj else None
        if value:
            add(dates.parse_machine_date(value), "jsonld")
    for name in _PUBLISHED_META:
        for value in meta.meta.get(name, ())[:1]:
            add(dates.parse_machine_date(value), "meta")
    for value in dom.published_time[:1]:
        add(dates.parse_machine_date(value), "itemprop")
    add(header, "header", printed=True)
    if header is None:
        # Unlabelled month-only texts near the headline are usually archive widgets.
        for text in dom.title_dates:
            found = dates.match_date_header(text, lang)
            if found and not found[1] and (found[0].precision != "month" or _labelled(text)):
                add(found[0], "title", printed=True)
                break
    for text in dom.date_texts:
        if dates.is_modified_label(text):
            continue
        found = dates.match_date_header(text, lang)
        if found and (found[0].precision != "month" or _labelled(text) or not found[1]):
            # An element marked as a date that prints only a month states a month.
            add(found[0], "element", printed=True)
            break
        parsed = dates.parse_text_date(text, lang)
        if parsed and parsed.precision != "month":
            add(parsed, "element", printed=True)
            break
    for value in dom.time_values[:1]:
        add(dates.parse_machine_date(value), "time")
    for text in dom.time_texts[:2]:
        found = dates.match_date_header(text, lang)
        if found is not None:
            visible.append(found[0])  # printed form only; not a candidate of its own
    add(dates.date_from_url(url), "url")
    best = dates.choose_published(candidates)
    if best is None:
        # Nothing found: let htmldate search the page for a day. A printed month stays a
        # month (a day elsewhere on the page is another text's, e.g. the original's in a
        # translation note). Cheapest first: htmldate's quick search, our scan of the
        # printed text, and only then htmldate's extensive search (the expensive one).
        found_day = _htmldate_fallback(tree, url, extensive=False)
        if found_day is None:
            found_day = _text_date_fallback(dom, body_text, lang)
        if found_day is None and EXTENSIVE_DATE_SEARCH:
            found_day = _htmldate_fallback(tree, url, extensive=True)
        if found_day is not None and not (
            translated is not None and found_day.value.date() == translated.date()
        ):
            # The translation note's date is the original's, never this article's.
            add(found_day, "htmldate")
    if hints.published_at is not None and not candidates:
        value = hints.published_at
        stated = value.utcoffset()
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        offset = int(stated.total_seconds() // 60) if stated is not None else None
        add(
            dates.ParsedDate(value.astimezone(UTC), "minute", value.isoformat(), offset=offset),
            "hint",
        )
    published = dates.choose_published(candidates)
    if published is not None:
        published = dates.as_instant(published, [c.date for c in candidates] + visible)
    if published is not None and published not in visible:
        # Value and precision from the best source; ``published_raw`` as printed on the
        # page when a visible date says the same thing: just as precisely (also a wall
        # clock printed in the page's zone), else the printed day of a timestamp.
        local = _as_printed_locally(published)
        same = [
            seen
            for seen in visible
            if seen.precision == published.precision
            and (seen.agrees(published) or seen.agrees(local) or dates.consistent(seen, published))
        ]
        day = [
            seen
            for seen in visible
            if seen.precision == "day"
            and published.precision == "minute"
            and (
                seen.value.date() == local.value.date()
                if local.value != published.value  # the timestamp's own offset: its local day
                else dates.consistent(seen, published)
            )
        ]
        for seen in (*same, *day)[:1]:
            published = dates.ParsedDate(
                published.value, published.precision, seen.raw, offset=published.offset
            )

    modified: dates.ParsedDate | None = None
    mod_values = [ld_text(obj.get("dateModified")) for obj in (meta.article, meta.page) if obj] + [
        v for name in _MODIFIED_META for v in meta.meta.get(name, ())[:1]
    ]
    for value in mod_values:
        if value:
            modified = dates.parse_machine_date(value)
            if modified:
                break
    return published, modified


def _as_printed_locally(parsed: dates.ParsedDate) -> dates.ParsedDate:
    """The same date with its wall-clock time in the offset its raw value carried.

    A printed time without zone ("18:05 Uhr") is read as UTC; metadata says
    ``18:05+01:00``. Comparing wall clocks lets the printed form serve as the raw value.
    """
    offset = None
    with contextlib.suppress(ValueError):
        offset = datetime.fromisoformat(parsed.raw.replace("Z", "+00:00")).tzinfo
    if offset is None:
        return parsed
    wall = parsed.value.astimezone(offset).replace(tzinfo=UTC)
    return dates.ParsedDate(wall, parsed.precision, parsed.raw)


def _htmldate_fallback(tree: Any, url: str, *, extensive: bool) -> dates.ParsedDate | None:
    """Last resort when no structured source or header gave a date: htmldate's search.

    htmldate (trafilatura's date library) scans the whole page for date expressions;
    its result is taken as day precision, and ``published_raw`` is its ISO date.
    """
    try:
        found = find_date(tree, extensive_search=extensive, original_date=True, url=url)
    except Exception:
        logger.debug("htmldate failed", exc_info=True)
        return None
    if not found:
        return None
    parsed = dates.parse_machine_date(str(found))
    if parsed is None:
        return None
    return dates.ParsedDate(parsed.value, "day", parsed.raw)


def _labelled(text: str) -> bool:
    """True when ``text`` starts with a date label (``Datum:``, ``date``)."""
    found = dates.match_date_header(text)
    return found is not None and not text.strip().startswith(found[0].raw)


def _text_date_fallback(dom: _Dom, body_text: str, lang: str | None) -> dates.ParsedDate | None:
    """Cheap last resort: the first printed day in the body text, else on the page."""
    for text in (body_text[:3000], dom.page_text()[:20000]):
        found = dates.first_printed_day(text, lang)
        if found is not None:
            return found
    return None


def _section(meta: PageMeta) -> str | None:
    value = meta.first("article:section", "parsely-section", "section", "article.section")
    if not value and meta.article:
        value = ld_text(meta.article.get("articleSection"))
    return value or None


def _split_tags(value: str) -> list[str]:
    return [normalize_line(t) for t in re.split(r"[,;]", value) if normalize_line(t)]


def _tags(meta: PageMeta) -> tuple[str, ...]:
    values: list[str] = list(meta.all("article:tag"))
    if meta.article:
        kw = meta.article.get("keywords")
        if isinstance(kw, list):
            values.extend(normalize_line(str(k)) for k in kw if isinstance(k, str))
        elif isinstance(kw, str):
            values.extend(_split_tags(kw))
    if not values:
        for value in meta.all("news_keywords", "parsely-tags", "keywords"):
            values.extend(_split_tags(value))
    out: list[str] = []
    seen: set[str] = set()
    for tag in values:
        key = tag.casefold()
        if tag and key not in seen and len(tag) <= 100:
            seen.add(key)
            out.append(tag)
    return tuple(out[:50])


def _image(meta: PageMeta, base: str) -> str | None:
    for value in (
        meta.first("og:image", "og:image:url", "og:image:secure_url"),
        meta.first("twitter:image", "twitter:image:src"),
        ld_image(meta.article.get("image")) if meta.article else None,
        meta.first("thumbnailurl", "image"),
    ):
        if value:
            full = absolutize(value, base)
            if full:
                return full
    return None


# --------------------------------------------------------------------------- rejections


@cache
def _paywall_regex() -> re.Pattern[str]:
    """All paywall phrasings of all languages as one alternation (one scan of the page)."""
    alts = [
        f"(?:{pattern})"
        for lang in available_languages()
        for pattern in load_data(lang).get("paywall") or ()
    ]
    return re.compile("|".join(alts) or r"(?!x)x", re.IGNORECASE)


def _link_share(paragraphs: list[str], dom: _Dom) -> float:
    """Share of body characters in paragraphs that are (mostly) the text of a page link."""
    total = linked = 0
    for para in paragraphs:
        total += len(para)
        first = para.split(" ", 1)[0]
        covered = max((len(a) for a in dom.anchors.get(first, ()) if para.startswith(a)), default=0)
        if covered >= 0.6 * len(para):
            linked += len(para)
    return linked / total if total else 0.0


def _teaser_share(paragraphs: list[str], dom: _Dom) -> float:
    """Share of body characters in paragraphs that are teasers of other pages."""
    if not dom.teaser_keys:
        return 0.0
    total = teasers = 0
    for para in paragraphs:
        total += len(para)
        if para.lstrip("-•* ")[:40] in dom.teaser_keys:
            teasers += len(para)
    return teasers / total if total else 0.0


def _classify(
    url: str,
    meta: PageMeta,
    dom: _Dom,
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
            and not (lead and _same(p, lead))
            and not _paywall_regex().search(p.lower())
        )
        if len(text) < PAYWALL_MAX_CHARS
        else PAYWALL_FULL_PARAGRAPHS
    )
    if len(text) < PAYWALL_MAX_CHARS and full_paragraphs < PAYWALL_FULL_PARAGRAPHS:
        free = meta.article.get("isAccessibleForFree") if meta.article else None
        if str(free).lower() == "false":
            return _reject(url, "paywall", "isAccessibleForFree is false and the body is a stub")
        page_text = dom.page_text()
        if _paywall_regex().search(page_text):
            return _reject(url, "paywall", "paywall phrasing with a stub body")
    is_video = og_type.startswith("video") or ("videoobject" in meta.types and not meta.article)
    if (is_video and words < VIDEO_MAX_WORDS) or (dom.has_video and words < VIDEO_MIN_WORDS):
        return _reject(url, "video_only", f"video page with {words} words of text")
    if not text:
        return _reject(url, "empty", "no main text")
    if (
        not is_article_typed
        and og_type in ("website", "")
        and link_density >= 0.5
        and (link_share >= 0.35 or long_paragraphs == 0)
    ):
        return _reject(
            url, "not_article", f"index page: link density {link_density:.2f}, no article text"
        )
    if og_type == "website" and not is_article_typed and words < 300 and long_paragraphs == 0:
        return _reject(url, "not_article", "og:type website, no article markup, no article text")
    if not is_article_typed and dom.headline_links >= 3 and _teaser_share(paragraphs, dom) >= 0.6:
        return _reject(
            url, "not_article", f"index page: {dom.headline_links} linked headlines with teasers"
        )
    if link_share >= 0.5:
        return _reject(url, "link_page", f"{link_share:.0%} of the body is link text")
    if len(text) < MIN_TEXT_CHARS:
        return _reject(url, "too_short", f"{len(text)} chars of text")
    return None

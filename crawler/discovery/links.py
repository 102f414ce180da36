"""Links on listing pages: every article candidate, and the way to the next page.

Owns `extract_links` and `pagination_links`. Both parse HTML with lxml's lenient
HTML parser (no network), honour ``<base href>``, drop fragments, and keep only
followable http(s) URLs without credentials. Which link texts mean "next page" is
data: `NEXT_PAGE_TEXTS` and `PAGINATION_CLASSES` below.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from crawler.discovery.urls import resolve_url, same_site

__all__ = [
    "DEFAULT_MAX_HTML_SIZE",
    "NEXT_PAGE_TEXTS",
    "PAGINATION_CLASSES",
    "extract_links",
    "pagination_links",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_HTML_SIZE = 10 * 1024 * 1024
"""Only the first this-many bytes of a page are parsed for links."""

NEXT_PAGE_TEXTS: frozenset[str] = frozenset(
    {
        # English
        "next",
        "next page",
        "older",
        "older posts",
        "older entries",
        "load more",
        "more articles",
        "more stories",
        # German
        "weiter",
        "nächste",
        "nächste seite",
        "vorwärts",
        "ältere artikel",
        "mehr laden",
        "mehr artikel",
        # French
        "suivant",
        "suivante",
        "page suivante",
        "plus d'articles",
        "voir plus",
        "articles plus anciens",
        # Spanish
        "siguiente",
        "página siguiente",
        "pagina siguiente",
        "ver más",
        "cargar más",
        "más noticias",
        # Russian
        "далее",
        "дальше",
        "следующая",
        "следующая страница",
        "вперед",
        "вперёд",
        "показать ещё",
        "показать еще",
        "больше новостей",
        # Symbols
        "»",
        "›",
        "→",
        ">",
        ">>",
        "»»",
        "≫",
    }
)
"""Link texts (case-folded, whitespace-collapsed, arrows around words removed) meaning
"next page" in the outlets' languages."""

PAGINATION_CLASSES: frozenset[str] = frozenset(
    {"pagination", "pager", "paging", "page-numbers", "pagenavi", "wp-pagenavi", "paginator"}
)
"""CSS classes of pagination containers; every link inside one is a pagination link."""

_ARROWS = "»›→>«‹←<≫≪…"
_NUMBER = re.compile(r"\d{1,5}")
_META_CHARSET = re.compile(rb"<meta[^>]{0,200}charset", re.IGNORECASE)


def _html_root(html: bytes | str, max_size: int) -> Any | None:
    """Parse a page leniently. Text is UTF-8; bytes use their BOM or ``<meta charset>``,
    else UTF-8 (lxml would otherwise assume Latin-1)."""
    encoding: str | None = "utf-8"
    if isinstance(html, str):
        html = html.encode("utf-8", errors="replace")
    elif html.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) or _META_CHARSET.search(
        html[:4096]
    ):
        encoding = None
    html = bytes(html[:max_size])
    if not html.strip():
        return None
    parser = etree.HTMLParser(
        encoding=encoding,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        recover=True,
        default_doctype=False,
    )
    try:
        return etree.fromstring(html, parser)
    except (etree.LxmlError, ValueError) as exc:
        logger.debug("cannot parse page for links: %s", exc)
        return None


def _base(root: Any, base_url: str) -> str:
    for base in root.iter("base"):
        href = base.get("href")
        if href:
            resolved = resolve_url(href, base_url)
            if resolved:
                return resolved
        break
    return base_url


def _anchors(root: Any) -> Iterator[Any]:
    for element in root.iter("a"):
        if element.get("href"):
            yield element


def extract_links(
    html: bytes | str,
    base_url: str,
    *,
    max_links: int = 5000,
    max_size: int = DEFAULT_MAX_HTML_SIZE,
) -> tuple[str, ...]:
    """All ``<a href>`` targets of a page, resolved, in document order, de-duplicated.

    Fragments are dropped; ``javascript:``, ``mailto:``, ``data:``, ``file:`` and any
    other non-http(s) URL, and URLs with credentials, are skipped. At most
    ``max_links`` links are returned and at most ``max_size`` bytes parsed.
    """
    root = _html_root(html, max_size)
    if root is None:
        return ()
    base = _base(root, base_url)
    found: dict[str, None] = {}
    for anchor in _anchors(root):
        url = resolve_url(anchor.get("href"), base, drop_fragment=True)
        if url is not None:
            found.setdefault(url, None)
            if len(found) >= max_links:
                break
    return tuple(found)


def _link_text(anchor: Any) -> str:
    parts = [anchor.text_content()] if hasattr(anchor, "text_content") else []
    if not parts:
        parts = ["".join(anchor.itertext())]
    text = " ".join(" ".join(parts).split()).casefold()
    if not text:
        text = " ".join((anchor.get("aria-label") or anchor.get("title") or "").split()).casefold()
    return text


def _is_next_text(text: str) -> bool:
    if text in NEXT_PAGE_TEXTS:
        return True
    stripped = text.strip(_ARROWS + " ").strip()
    return bool(stripped) and stripped in NEXT_PAGE_TEXTS and stripped != text


def _in_pagination(anchor: Any) -> bool:
    node = anchor.getparent()
    depth = 0
    while node is not None and depth < 6:
        classes = set((node.get("class") or "").lower().split())
        if classes & PAGINATION_CLASSES:
            return True
        if (node.get("role") or "").lower() == "navigation" and "pag" in (
            node.get("aria-label") or ""
        ).lower():
            return True
        node = node.getparent()
        depth += 1
    return False


def _is_page_number(text: str, href: str) -> bool:
    """A link reading "2" whose URL also contains 2 (as a whole number): a page link."""
    return bool(_NUMBER.fullmatch(text)) and re.search(rf"(?<!\d){text}(?!\d)", href) is not None


def _has_rel_next(element: Any) -> bool:
    return "next" in (element.get("rel") or "").lower().split()


def pagination_links(
    html: bytes | str, base_url: str, *, max_size: int = DEFAULT_MAX_HTML_SIZE
) -> tuple[str, ...]:
    """Links to further pages of the same listing, in document order, de-duplicated.

    A link qualifies when it is ``rel=next`` (``<a>`` or ``<link>``), sits inside a
    pagination container (`PAGINATION_CLASSES`), reads "next" in one of the
    supported languages (`NEXT_PAGE_TEXTS`), or its text is a page number that
    also appears in its URL. Only links on the same site as ``base_url`` (`same_site`)
    and different from the page itself are returned.
    """
    root = _html_root(html, max_size)
    if root is None:
        return ()
    base = _base(root, base_url)
    current = resolve_url(base_url, base_url, drop_fragment=True)
    found: dict[str, None] = {}

    def add(href: str | None) -> None:
        url = resolve_url(href or "", base, drop_fragment=True)
        if url is not None and url != current and same_site(url, base_url):
            found.setdefault(url, None)

    for link in root.iter("link"):
        if _has_rel_next(link):
            add(link.get("href"))
    for anchor in _anchors(root):
        text = _link_text(anchor)
        if (
            _has_rel_next(anchor)
            or _in_pagination(anchor)
            or _is_next_text(text)
            or _is_page_number(text, anchor.get("href") or "")
        ):
            add(anchor.get("href"))
    return tuple(found)

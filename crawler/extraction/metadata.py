"""Structured page metadata: ``<meta>`` tags, JSON-LD, ``<html lang>``, canonical links.

One pass over the parsed tree collects everything later passes need, so no pass
queries the document for the same thing twice. The record fields the page only declares
(site name, section, tags, image) are read from the collected values here.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from crawler.extraction.text import normalize_line
from crawler.extraction.urls import absolutize

logger = logging.getLogger(__name__)

ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "blogposting",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "reviewnewsarticle",
        "backgroundnewsarticle",
        "askpublicnewsarticle",
        "report",
        "scholarlyarticle",
        "techarticle",
        "liveblogposting",
        "socialmediaposting",
        "posting",
        "review",
    }
)
PAGE_TYPES = frozenset({"webpage", "itempage", "aboutpage", "collectionpage", "searchresultspage"})
ORG_TYPES = frozenset({"organization", "newsmediaorganization", "corporation", "brand", "website"})

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass
class PageMeta:
    """What the page declares about itself, collected in one pass."""

    meta: dict[str, list[str]] = field(default_factory=dict)
    """``<meta>`` values by lower-cased ``name``/``property``/``itemprop``/``http-equiv``."""

    microdata: dict[str, list[str]] = field(default_factory=dict)
    """The values of `meta` that came from ``<meta itemprop>`` (microdata, not a meta tag of
    the page's head), by the same keys."""

    article: dict[str, Any] = field(default_factory=dict)
    """The first JSON-LD object of an article type (empty when none)."""

    page: dict[str, Any] = field(default_factory=dict)
    """The first JSON-LD object of a web-page type (empty when none)."""

    types: set[str] = field(default_factory=set)
    """All JSON-LD ``@type`` values seen, lower-cased."""

    ids: dict[str, dict[str, Any]] = field(default_factory=dict)
    """JSON-LD objects by ``@id``, to resolve references such as ``"author": {"@id": ...}``."""

    html_lang: str | None = None
    canonical: list[str] = field(default_factory=list)
    title_tag: str | None = None

    def first(self, *names: str) -> str | None:
        """First non-empty value among the meta ``names``, in the order given."""
        for name in names:
            for value in self.meta.get(name, ()):
                if value:
                    return value
        return None

    def all(self, *names: str) -> list[str]:
        """All non-empty values of the meta ``names``, in the order given."""
        out: list[str] = []
        for name in names:
            out.extend(v for v in self.meta.get(name, ()) if v)
        return out


def _types(obj: dict[str, Any]) -> set[str]:
    raw = obj.get("@type")
    if isinstance(raw, str):
        return {raw.lower().rsplit("/", 1)[-1]}
    if isinstance(raw, list):
        return {str(t).lower().rsplit("/", 1)[-1] for t in raw if isinstance(t, str)}
    return set()


def _flatten(data: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    stack = [data]
    while stack and len(out) < 200:
        item = stack.pop(0)
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            out.append(item)
            graph = item.get("@graph")
            if isinstance(graph, list | dict):
                stack.append(graph)
            main = item.get("mainEntity")
            if isinstance(main, dict):
                stack.append(main)
    return out


def _load_json(raw: str) -> Any:
    raw = _CONTROL.sub(" ", raw.strip())
    if raw.startswith("<!--"):
        raw = raw[4:]
    if raw.endswith("-->"):
        raw = raw[:-3]
    raw = raw.strip().rstrip(";")
    try:
        # strict=False: line breaks and tabs inside strings (templated descriptions, a
        # hand-written block) are what browsers and search engines accept too.
        return json.loads(raw, strict=False)
    except (ValueError, RecursionError):
        return None


PAGE_ITEM_PROPS = frozenset({"mainentity", "mainentityofpage"})
"""Properties whose item is still the page's own (a WebPage's ``mainEntity`` article)."""


def in_nested_item(el: Any) -> bool:
    """True when microdata on ``el`` belongs to an item nested as another item's property
    (a cited work's ``itemprop=citation``, a ``comment``, a ``review``): its author and
    dates are not the page's."""
    parent = el.getparent()
    while parent is not None:
        if parent.get("itemscope") is not None:
            prop = (parent.get("itemprop") or "").strip().lower()
            return bool(prop) and not set(prop.split()) & PAGE_ITEM_PROPS
        parent = parent.getparent()
    return False


def collect(tree: Any) -> PageMeta:
    """Collect meta tags, JSON-LD objects, ``lang``, canonical links and ``<title>``."""
    page = PageMeta()
    page.html_lang = tree.get("lang") or tree.get("xml:lang") or None
    for el in tree.iter("meta", "script", "link", "title"):
        tag = el.tag
        if tag == "meta":
            key = el.get("property") or el.get("name") or el.get("http-equiv")
            microdata = False
            if key is None and el.get("itemprop") and not in_nested_item(el):
                key, microdata = el.get("itemprop"), True
            content = el.get("content")
            if key and content is not None:
                key, value = key.strip().lower(), normalize_line(content)
                page.meta.setdefault(key, []).append(value)
                if microdata:
                    page.microdata.setdefault(key, []).append(value)
        elif tag == "script":
            if (el.get("type") or "").strip().lower() != "application/ld+json":
                continue
            data = _load_json(el.text or "")
            for obj in _flatten(data):
                ident = obj.get("@id")
                if isinstance(ident, str) and len(obj) > 1:
                    page.ids.setdefault(ident, obj)
                kinds = _types(obj)
                page.types |= kinds
                if not page.article and kinds & ARTICLE_TYPES:
                    page.article = obj
                elif not page.page and kinds & PAGE_TYPES:
                    page.page = obj
        elif tag == "link":
            rel = (el.get("rel") or "").lower().split()
            if "canonical" in rel and el.get("href"):
                page.canonical.append(el.get("href"))
        elif tag == "title" and page.title_tag is None:
            page.title_tag = normalize_line(el.text_content() or "") or None
    return page


def ld_text(value: Any) -> str | None:
    """A JSON-LD value as one normalized string (first item of a list, ``name``/``@value``)."""
    if isinstance(value, list):
        for item in value:
            got = ld_text(item)
            if got:
                return got
        return None
    if isinstance(value, dict):
        return ld_text(value.get("name") or value.get("@value") or value.get("url"))
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = normalize_line(str(value))
        return text or None
    return None


def ld_people(
    value: Any, ids: dict[str, dict[str, Any]] | None = None
) -> tuple[list[str], list[str]]:
    """Split a JSON-LD ``author`` value into (person names, organization names).

    ``{"@id": ...}`` references are resolved through ``ids`` (objects of the page's graph).
    """
    persons: list[str] = []
    orgs: list[str] = []
    items = value if isinstance(value, list) else [value]
    for entry in items:
        item = entry
        if isinstance(entry, dict) and "name" not in entry and ids:
            ref = entry.get("@id")
            if isinstance(ref, str) and ref in ids:
                item = ids[ref]
        if isinstance(item, str):
            name = normalize_line(item)
            if name and not name.startswith(("http://", "https://")):
                persons.append(name)
        elif isinstance(item, dict):
            label = ld_text(item.get("name"))
            if not label or label.startswith(("http://", "https://")):
                continue
            if _types(item) & ORG_TYPES:
                orgs.append(label)
            else:
                persons.append(label)
    return persons, orgs


def ld_image(value: Any) -> str | None:
    """URL of a JSON-LD ``image`` value (string, ImageObject or list)."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, list):
        for item in value:
            got = ld_image(item)
            if got:
                return got
        return None
    if isinstance(value, dict):
        return ld_image(value.get("url") or value.get("contentUrl") or value.get("@id"))
    return None


def site_name(meta: PageMeta) -> str | None:
    """The outlet's name: ``og:site_name``, the JSON-LD publisher, ``application-name``."""
    art = meta.article
    return (
        meta.first("og:site_name")
        or ld_text((art.get("publisher") if art else None) or meta.page.get("publisher"))
        or meta.first("application-name")
    )


def section(meta: PageMeta) -> str | None:
    """The section the page declares (``article:section``, JSON-LD ``articleSection``)."""
    value = meta.first("article:section", "parsely-section", "section", "article.section")
    if not value and meta.article:
        value = ld_text(meta.article.get("articleSection"))
    return value or None


def _split_tags(value: str) -> list[str]:
    return [normalize_line(t) for t in re.split(r"[,;]", value) if normalize_line(t)]


def tags(meta: PageMeta) -> tuple[str, ...]:
    """``article:tag``, else JSON-LD ``keywords``, else keyword metas; at most 50, no repeats."""
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


def image(meta: PageMeta, base: str) -> str | None:
    """The page's lead image (``og:image``, ``twitter:image``, JSON-LD), absolute to ``base``."""
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

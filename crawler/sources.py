"""The sources registry: loading and validating ``sources.yaml``.

Owns the `Source` model (one news outlet to crawl and how to discover its articles),
the rules for what a valid sources file is, and the per-source URL policy
(`Source.allows_domain`, `Source.is_article_url`). Validation is strict: unknown
keys, duplicate keys, wrong types and invalid regexes are errors whose message names
the file, the source (index and key) and the offending key, so a typo never passes
silently. Pure: no Scrapy, no database, no network.

Longer than ~400 lines on purpose: the `Source` model and the check of each of its fields
are one schema of the sources file, read and changed together.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

import re2  # type: ignore[import-untyped]
import regex  # type: ignore[import-untyped]
import yaml

try:  # cssselect comes with lxml.cssselect/parsel; validation is skipped without it
    from cssselect import HTMLTranslator, SelectorError
except ImportError:  # pragma: no cover - depends on the environment
    HTMLTranslator = None  # type: ignore[assignment,misc]

from crawler.discovery.urls import (
    DEFAULT_PORTS,
    normalize_host,
    resolve_url,
    safe_split,
    strip_www,
)
from crawler.extraction.record import Hints

__all__ = [
    "ExtractionHints",
    "Source",
    "SourcesError",
    "load_sources",
    "parse_interval",
    "parse_sources",
]

logger = logging.getLogger(__name__)

DEFAULT_LISTING_DEPTH = 1
DEFAULT_MAX_AGE_DAYS = 7
DEFAULT_INTERVAL = timedelta(hours=1)
MAX_LISTING_DEPTH = 50
MIN_INTERVAL = timedelta(minutes=1)
MAX_INTERVAL = timedelta(days=365)

_KEY = re.compile(r"[a-z0-9][a-z0-9_-]*")
_MAX_KEY_LENGTH = 64
_LANGUAGE = re.compile(r"[a-z]{2}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_INTERVAL_PART = re.compile(r"(\d+)\s*(s|m|h|d|w)", re.IGNORECASE)
_INTERVAL_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

_SOURCE_KEYS = (
    "key",
    "name",
    "url",
    "language",
    "country",
    "sitemaps",
    "feeds",
    "listings",
    "listing_depth",
    "follow_pagination",
    "article_urls",
    "max_age_days",
    "interval",
    "enabled",
    "extraction",
)
_ARTICLE_URL_KEYS = ("allow", "deny")
_EXTRACTION_KEYS = ("byline_selector", "date_selector", "body_selector")
_T = TypeVar("_T")

_TOP_LEVEL_KEYS = ("sources",)


class SourcesError(ValueError):
    """The sources file is missing, unreadable, not YAML, or has an invalid entry.

    The message names the file, the source (``#index (key)``) and the key at fault;
    invalid YAML, the line and column. When several sources are invalid, the message
    has one line per source (`errors`), so one check shows everything to fix.
    """

    def __init__(self, message: str, errors: Sequence[str] = ()) -> None:
        self.errors: tuple[str, ...] = tuple(errors) or (message,)
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class ExtractionHints:
    """Per-site CSS selectors extraction uses where its generic rules miss."""

    byline_selector: str | None = None
    """CSS selector of the visible byline."""

    date_selector: str | None = None
    """CSS selector of the visible publication date."""

    body_selector: str | None = None
    """CSS selector of the article body."""


@dataclass(frozen=True, slots=True)
class Source:
    """One news outlet: where to discover its articles and which URLs are articles."""

    key: str
    """Unique slug (``[a-z0-9][a-z0-9-_]*``), e.g. ``rt-de``; used in logs and the database."""

    name: str
    """Human-readable outlet name; defaults to ``key``."""

    url: str
    """Home page (http/https). Its domain and subdomains bound the crawl."""

    language: str | None = None
    """Expected language of articles (ISO 639-1, lower case), if known."""

    country: str | None = None
    """Country of the outlet (ISO 3166-1 alpha-2, upper case), if known."""

    sitemaps: tuple[str, ...] = ()
    """Sitemap URLs as written (absolute or relative to ``url``); empty = use robots.txt."""

    feeds: tuple[str, ...] = ()
    """RSS/Atom/RDF feed URLs as written (absolute or relative to ``url``)."""

    listings: tuple[str, ...] = ()
    """Section/listing pages whose links lead to articles (absolute or relative)."""

    listing_depth: int = DEFAULT_LISTING_DEPTH
    """How many listing levels / pagination pages to follow from each listing (0 = none)."""

    follow_pagination: bool = True
    """Whether listing pages' pagination links are followed (up to ``listing_depth``)."""

    allow: tuple[str, ...] = ()
    """Regexes (Python syntax, searched in the full URL; see `UrlPattern`); an article URL
    must match one. Empty = any."""

    deny: tuple[str, ...] = ()
    """Regexes (as ``allow``); a URL matching any is never an article."""

    max_age_days: int = DEFAULT_MAX_AGE_DAYS
    """Entries dated (by sitemap/feed) older than this many days are not fetched."""

    interval: timedelta = DEFAULT_INTERVAL
    """How often discovery runs for this source."""

    enabled: bool = True
    """Disabled sources are loaded and validated but not crawled."""

    extraction: ExtractionHints = field(default_factory=ExtractionHints)
    """Per-site extraction hints (CSS selectors)."""

    @property
    def domain(self) -> str:
        """Host of ``url``, lower case (IDNA), without a leading ``www.``."""
        return _home(self.url)[0]

    def allows_domain(self, url: str) -> bool:
        """True when ``url`` is http(s), has no credentials, and its host is the
        source's domain or a subdomain of it (``www.`` variants included).

        The port must be the one ``Source.url`` names; when it names none, the default
        port of the URL's scheme (80 or 443). Another port of the same host is another
        site (`crawler.discovery.urls.same_site`).
        """
        domain = self.domain
        parts = safe_split(url.strip()) if isinstance(url, str) else None
        if not domain or parts is None or parts.hostname is None:
            return False
        host = normalize_host(parts.hostname)
        if host != domain and not host.endswith("." + domain):
            return False
        scheme = parts.scheme.lower()
        port = parts.port or DEFAULT_PORTS[scheme]
        home_port = _home(self.url)[1]
        if home_port is None or home_port == DEFAULT_PORTS.get(_scheme(self.url)):
            return port == DEFAULT_PORTS[scheme]
        return port == home_port

    def is_article_url(self, url: str) -> bool:
        """True when ``url`` is on-site, matches an ``allow`` regex (or none are given)
        and matches no ``deny`` regex."""
        if not self.allows_domain(url):
            return False
        url = url.strip()
        allow = _compile(self.allow)
        if allow and not any(p.search(url, on_timeout=False) for p in allow):
            return False
        return not any(p.search(url, on_timeout=True) for p in _compile(self.deny))

    def _resolve_all(self, entries: tuple[str, ...]) -> tuple[str, ...]:
        resolved: dict[str, None] = {}
        for entry in entries:
            url = resolve_url(entry, self.url)
            if url is not None:
                resolved.setdefault(url, None)
        return tuple(resolved)

    @property
    def sitemap_urls(self) -> tuple[str, ...]:
        """``sitemaps`` resolved against ``url`` (absolute http(s)), de-duplicated."""
        return self._resolve_all(self.sitemaps)

    @property
    def feed_urls(self) -> tuple[str, ...]:
        """``feeds`` resolved against ``url``, de-duplicated."""
        return self._resolve_all(self.feeds)

    @property
    def listing_urls(self) -> tuple[str, ...]:
        """``listings`` resolved against ``url``, de-duplicated."""
        return self._resolve_all(self.listings)

    @property
    def robots_url(self) -> str:
        """``/robots.txt`` of the home page's origin, where sitemaps are looked up
        when ``sitemaps`` is empty."""
        return resolve_url("/robots.txt", self.url) or ""

    @property
    def discovery_urls(self) -> tuple[str, ...]:
        """All sitemap, feed and listing URLs, in that order, de-duplicated."""
        return tuple(dict.fromkeys(self.sitemap_urls + self.feed_urls + self.listing_urls))


def page_hints(
    source: Source | None,
    *,
    title: str | None = None,
    authors: tuple[str, ...] = (),
    published_at: datetime | None = None,
    language: str | None = None,
) -> Hints:
    """The extraction `Hints` for one page of ``source``: what discovery (a feed item, a
    news sitemap entry) or a stored article knows of the page, with the source's
    language (unless the page's own is known) and its per-site selectors.

    The one place hints are built: the crawl (`crawler.spiders.news`) and
    ``newsingest reextract`` give a page the same hints. ``source`` is None for a stored
    article whose source is no longer in ``sources.yaml``: no selectors then.
    """
    x = source.extraction if source is not None else ExtractionHints()
    return Hints(
        title=title,
        authors=authors,
        published_at=published_at,
        language=language or (source.language if source is not None else None),
        byline_selector=x.byline_selector,
        date_selector=x.date_selector,
        body_selector=x.body_selector,
    )


@lru_cache(maxsize=1024)
def _home(url: str) -> tuple[str, int | None]:
    """Domain (lower case, IDNA, no ``www.``) and explicit port of a home page URL."""
    parts = safe_split(url)
    if parts is None or parts.hostname is None:
        return "", None
    return strip_www(normalize_host(parts.hostname)), parts.port


def _scheme(url: str) -> str:
    parts = safe_split(url)
    return parts.scheme.lower() if parts is not None else ""


PATTERN_TIMEOUT = 0.05
"""Seconds one ``article_urls`` pattern may take on one URL when RE2 cannot run it."""


class UrlPattern:
    """One ``article_urls`` regex, matched in time linear in the URL's length.

    Patterns run on RE2 (``google-re2``: no backtracking, so an operator's
    ``/(\\w+-?)+\\.html$`` cannot freeze the crawler on a hostile URL: 30 characters took
    90 s with Python's ``re``). The few Python constructs RE2 lacks (look-around,
    back-references) run on the ``regex`` module with a `PATTERN_TIMEOUT` per URL; a
    timeout counts as a match of a ``deny`` pattern and a miss of an ``allow`` one, with
    a warning. The sources file keeps Python's regex syntax either way.
    """

    __slots__ = ("_fallback", "_re2", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._re2: Any = None
        self._fallback: Any = None
        options = re2.Options()
        options.log_errors = False
        try:
            self._re2 = re2.compile(pattern, options)
        except re2.error:
            self._fallback = regex.compile(pattern)

    def search(self, url: str, *, on_timeout: bool) -> bool:
        """Whether the pattern is found in ``url`` (``on_timeout`` when it ran too long)."""
        if self._re2 is not None:
            return self._re2.search(url) is not None
        try:
            return self._fallback.search(url, timeout=PATTERN_TIMEOUT) is not None
        except TimeoutError:
            logger.warning(
                "article_urls pattern %r took over %g s on %s; counted as %s",
                self.pattern,
                PATTERN_TIMEOUT,
                url[:200],
                "a match" if on_timeout else "no match",
            )
            return on_timeout


@lru_cache(maxsize=4096)
def _compile(patterns: tuple[str, ...]) -> tuple[UrlPattern, ...]:
    """Compile a tuple of regexes once; cached across calls and sources."""
    return tuple(UrlPattern(pattern) for pattern in patterns)


def parse_interval(text: str) -> timedelta:
    """Parse a crawl interval such as ``30m``, ``1h``, ``6h``, ``1d`` or ``1h30m``.

    Units: ``s``, ``m``, ``h``, ``d``, ``w``. Must be between 1 minute and 365 days.
    Raises `ValueError` otherwise (bare numbers are refused: the unit is required).
    """
    if not isinstance(text, str):
        raise ValueError(f"expected a duration like '30m', '1h' or '1d', got {text!r}")
    compact = text.strip()
    parts = list(_INTERVAL_PART.finditer(compact))
    if not parts or "".join(p.group(0) for p in parts).replace(" ", "") != compact.replace(" ", ""):
        raise ValueError(f"expected a duration like '30m', '1h' or '1d', got {text!r}")
    units = [p.group(2).lower() for p in parts]
    if len(set(units)) != len(units):
        raise ValueError(f"repeated unit in duration {text!r}")
    try:
        total = sum(
            (timedelta(**{_INTERVAL_UNITS[p.group(2).lower()]: int(p.group(1))}) for p in parts),
            timedelta(),
        )
    except OverflowError:
        raise ValueError(f"duration {text!r} is too long") from None
    if total < MIN_INTERVAL:
        raise ValueError(f"duration {text!r} is shorter than 1 minute")
    if total > MAX_INTERVAL:
        raise ValueError(f"duration {text!r} is longer than 365 days")
    return total


class _SourceParser:
    """Validates one source mapping; every error carries the source's label."""

    def __init__(self, origin: str, index: int, raw: Mapping[Any, Any]) -> None:
        self.origin = origin
        self.index = index
        self.raw = raw
        key = raw.get("key")
        self.label = f"source #{index}" + (f" ({key})" if isinstance(key, str) and key else "")
        self.problems: list[str] = []
        """Every problem found so far, each a full message line."""

    def error(self, message: str) -> SourcesError:
        return SourcesError(f"{self.origin}: {self.label}: {message}")

    def field(self, parse: Callable[[], _T], fallback: _T) -> _T:
        """Run one field's check; a problem is noted (not raised) and `fallback` returned,
        so one pass over a source finds all of its problems."""
        try:
            return parse()
        except SourcesError as exc:
            self.problems.append(str(exc))
            return fallback

    def check_keys(self, mapping: Mapping[Any, Any], allowed: Sequence[str], where: str) -> None:
        for name in mapping:
            if name in allowed:
                continue
            hint = ""
            if isinstance(name, str):
                close = difflib.get_close_matches(name, allowed, n=1)
                if close:
                    hint = f" (did you mean '{close[0]}'?)"
            allowed_list = ", ".join(allowed)
            self.problems.append(
                str(self.error(f"unknown key '{where}{name}'{hint}; allowed: {allowed_list}"))
            )

    def string(
        self,
        name: str,
        value: Any,
        *,
        pattern: re.Pattern[str] | None = None,
        expected: str = "a non-empty string",
        transform: Callable[[str], str] = str.strip,
    ) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.error(f"'{name}' must be {expected}, got {value!r}")
        text: str = transform(value)
        if pattern is not None and not pattern.fullmatch(text):
            raise self.error(f"'{name}' must be {expected}, got {value!r}")
        return text

    def optional_string(self, name: str, value: Any, **kwargs: Any) -> str | None:
        return None if value is None else self.string(name, value, **kwargs)

    def boolean(self, name: str, value: Any, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(f"'{name}' must be true or false, got {value!r}")
        return value

    def integer(self, name: str, value: Any, default: int, *, minimum: int, maximum: int) -> int:
        if value is None:
            return default
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise self.error(f"'{name}' must be {kind}, got {value!r}")
        if value > maximum:
            raise self.error(f"'{name}' must be at most {maximum}, got {value!r}")
        return value

    def string_list(self, name: str, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.error(f"'{name}' must be a list of strings, got {value!r}")
        items: list[str] = []
        for position, item in enumerate(value, start=1):
            if not isinstance(item, str) or not item.strip():
                raise self.error(
                    f"'{name}' entry {position} must be a non-empty string, got {item!r}"
                )
            items.append(item.strip())
        return tuple(items)

    def url_list(self, name: str, value: Any, home: str) -> tuple[str, ...]:
        items = self.string_list(name, value)
        for item in items:
            if resolve_url(item, home) is None:
                raise self.error(
                    f"'{name}' entry {item!r} is not an http(s) URL or a path relative to 'url'"
                )
        return tuple(dict.fromkeys(items))

    def regex_list(self, name: str, value: Any) -> tuple[str, ...]:
        items = self.string_list(name, value)
        for item in items:
            try:
                re.compile(item)
            except re.error as exc:
                raise self.error(f"'{name}' has an invalid regex {item!r}: {exc}") from None
        return items

    def css_selector(self, name: str, value: Any) -> str | None:
        selector = self.optional_string(name, value, expected="a CSS selector")
        if selector is not None and HTMLTranslator is not None:
            try:
                HTMLTranslator().css_to_xpath(selector)
            except SelectorError as exc:
                raise self.error(
                    f"'{name}' is not a valid CSS selector {selector!r}: {exc}"
                ) from None
        return selector

    def home_url(self, value: Any) -> str:
        url = self.string("url", value, expected="an http(s) URL")
        parts = safe_split(url)
        if parts is None or parts.hostname is None:
            raise self.error(
                f"'url' must be an absolute http(s) URL without credentials, got {value!r}"
            )
        return url

    def parse(self) -> Source:
        """The source, or `SourcesError` listing every problem found (one line each)."""
        raw = self.raw
        field = self.field
        self.check_keys(raw, _SOURCE_KEYS, "")
        key = field(self._key, "")
        url = field(self._url, "")
        name = field(lambda: self.optional_string("name", raw.get("name")), None) or key
        language = field(
            lambda: self.optional_string(
                "language",
                raw.get("language"),
                pattern=_LANGUAGE,
                expected="an ISO 639-1 code of two letters (e.g. 'de')",
                transform=lambda s: s.strip().lower(),
            ),
            None,
        )
        country = field(
            lambda: self.optional_string(
                "country",
                raw.get("country"),
                pattern=_COUNTRY,
                expected="an ISO 3166-1 alpha-2 code (e.g. 'DE')",
                transform=lambda s: s.strip().upper(),
            ),
            None,
        )
        no_section: Mapping[Any, Any] = {}
        article_urls = field(
            lambda: self.section("article_urls", _ARTICLE_URL_KEYS, "with 'allow' and/or 'deny'"),
            no_section,
        )
        extraction = field(
            lambda: self.section("extraction", _EXTRACTION_KEYS, "of selectors"), no_section
        )

        def selector(name: str) -> str | None:
            return field(
                lambda: self.css_selector(f"extraction.{name}", extraction.get(name)), None
            )

        hints = ExtractionHints(**{name: selector(name) for name in _EXTRACTION_KEYS})
        interval = field(self._interval, DEFAULT_INTERVAL)

        def urls(name: str) -> tuple[str, ...]:
            # Relative entries resolve against 'url': checked only when 'url' is valid.
            if not url:
                return ()
            return field(lambda: self.url_list(name, raw.get(name), url), ())

        source = Source(
            key=key,
            name=name,
            url=url,
            language=language,
            country=country,
            sitemaps=urls("sitemaps"),
            feeds=urls("feeds"),
            listings=urls("listings"),
            listing_depth=field(
                lambda: self.integer(
                    "listing_depth",
                    raw.get("listing_depth"),
                    DEFAULT_LISTING_DEPTH,
                    minimum=0,
                    maximum=MAX_LISTING_DEPTH,
                ),
                DEFAULT_LISTING_DEPTH,
            ),
            follow_pagination=field(
                lambda: self.boolean(
                    "follow_pagination", raw.get("follow_pagination"), default=True
                ),
                True,
            ),
            allow=field(
                lambda: self.regex_list("article_urls.allow", article_urls.get("allow")), ()
            ),
            deny=field(lambda: self.regex_list("article_urls.deny", article_urls.get("deny")), ()),
            max_age_days=field(
                lambda: self.integer(
                    "max_age_days",
                    raw.get("max_age_days"),
                    DEFAULT_MAX_AGE_DAYS,
                    minimum=1,
                    maximum=3650,
                ),
                DEFAULT_MAX_AGE_DAYS,
            ),
            interval=interval,
            enabled=field(lambda: self.boolean("enabled", raw.get("enabled"), default=True), True),
            extraction=hints,
        )
        if self.problems:
            raise SourcesError(self.problems[0], self.problems)
        return source

    def _key(self) -> str:
        if "key" not in self.raw:
            raise self.error("missing required key 'key'")
        key = self.string(
            "key",
            self.raw["key"],
            pattern=_KEY,
            expected="a slug of lower-case letters, digits, '-' or '_' "
            "(starting with a letter or digit)",
            transform=lambda s: s,
        )
        if len(key) > _MAX_KEY_LENGTH:
            raise self.error(f"'key' must be at most {_MAX_KEY_LENGTH} characters")
        return key

    def _url(self) -> str:
        if "url" not in self.raw:
            raise self.error("missing required key 'url'")
        return self.home_url(self.raw["url"])

    def section(self, name: str, allowed: Sequence[str], shape: str) -> Mapping[Any, Any]:
        """An optional mapping (`article_urls`, `extraction`) with its keys checked."""
        value = self.raw.get(name)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.error(f"'{name}' must be a mapping {shape}, got {value!r}")
        self.check_keys(value, allowed, f"{name}.")
        return value

    def _interval(self) -> timedelta:
        if self.raw.get("interval") is None:
            return DEFAULT_INTERVAL
        try:
            return parse_interval(self.raw["interval"])
        except ValueError as exc:
            raise self.error(f"'interval' is invalid: {exc}") from None


def parse_sources(data: object, origin: str = "sources.yaml") -> list[Source]:
    """Validate already-loaded YAML data (``{"sources": [...]}``) into `Source` objects.

    Sources are numbered from 1 in messages. Raises `SourcesError` listing every problem
    of every invalid source (one line each) when the file's layout is right, else its
    first problem.
    """
    if not isinstance(data, Mapping):
        raise SourcesError(
            f"{origin}: expected a mapping with a 'sources' list at the top, "
            f"got {type(data).__name__}"
        )
    for name in data:
        if name not in _TOP_LEVEL_KEYS:
            raise SourcesError(f"{origin}: unknown top-level key {name!r}; allowed: sources")
    raw_sources = data.get("sources")
    if not isinstance(raw_sources, list):
        raise SourcesError(f"{origin}: 'sources' must be a list, got {raw_sources!r}")
    sources: list[Source] = []
    seen: dict[str, int] = {}
    errors: list[str] = []
    invalid = 0
    for index, raw in enumerate(raw_sources, start=1):
        if not isinstance(raw, Mapping):
            errors.append(f"{origin}: source #{index}: must be a mapping, got {raw!r}")
            invalid += 1
            continue
        parser = _SourceParser(origin, index, raw)
        try:
            source = parser.parse()
        except SourcesError as exc:
            errors.extend(exc.errors)
            invalid += 1
            key = raw.get("key")
            if isinstance(key, str):  # a later source with that key is a duplicate too
                seen.setdefault(key, index)
            continue
        if source.key in seen:
            errors.append(
                str(
                    parser.error(
                        f"duplicate 'key' {source.key!r} "
                        f"(already used by source #{seen[source.key]})"
                    )
                )
            )
            invalid += 1
            continue
        seen[source.key] = index
        sources.append(source)
    if len(errors) == 1:
        raise SourcesError(errors[0])
    if errors:
        lines = "".join(f"\n  {e}" for e in errors)
        what = "source" if invalid == 1 else "sources"
        raise SourcesError(f"{origin}: {len(errors)} problems in {invalid} {what}:{lines}", errors)
    return sources


_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML was built with it (a 10 MB sources file: ~10x faster)."""


class _StrictLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """`yaml.SafeLoader` (libyaml's when available) that refuses a key repeated within
    one mapping."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        seen.add(key)
    mapping: dict[Any, Any] = loader.construct_mapping(node, deep=True)
    return mapping


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def load_sources(path: str | os.PathLike[str]) -> list[Source]:
    """Read and validate a sources file (YAML, safe loader, duplicate keys refused).

    Raises `SourcesError` when the file is missing, unreadable, not YAML or invalid. A
    process reads a file once while it is unchanged (same size and modification time):
    the CLI and each crawler of the invocation share the result.
    """
    origin = os.fspath(path)
    try:
        info = os.stat(origin)
    except OSError:
        return list(_load_sources(origin, None))
    return list(_load_sources(origin, (info.st_size, info.st_mtime_ns, info.st_ino)))


@lru_cache(maxsize=8)
def _load_sources(origin: str, stamp: tuple[int, int, int] | None) -> tuple[Source, ...]:
    return tuple(_read_sources(origin))


def _read_sources(origin: str) -> list[Source]:
    path = origin
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise SourcesError(f"{origin}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourcesError(f"{origin}: cannot read: {exc}") from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise SourcesError(_yaml_error(origin, exc)) from None
    sources = parse_sources(data, origin=origin)
    logger.debug(
        "loaded %d sources (%d enabled) from %s",
        len(sources),
        sum(s.enabled for s in sources),
        origin,
    )
    return sources


def _yaml_error(origin: str, exc: yaml.YAMLError) -> str:
    """``FILE:LINE:COLUMN: not valid YAML: what`` (lines and columns from 1), with where
    the construct it was reading started when that is elsewhere."""
    mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    if mark is None:
        mark, context_mark = context_mark, None
    where = f"{origin}:{mark.line + 1}:{mark.column + 1}" if mark is not None else origin
    message = f"{where}: not valid YAML: {problem}"
    if context:
        message += f" ({context}"
        if context_mark is not None and context_mark.line != getattr(mark, "line", None):
            message += f" started at line {context_mark.line + 1}, column {context_mark.column + 1}"
        message += ")"
    return message

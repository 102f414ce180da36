"""URL hygiene shared by discovery parsers and the sources registry.

Owns the single rule for "a URL the crawler may follow": http or https, a host, no
user name or password, no whitespace or control characters. Also host normalisation
(lower case, IDNA, no trailing dot) and "is this host the same site" checks.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from functools import cache, lru_cache
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

__all__ = [
    "ALLOWED_SCHEMES",
    "normalize_host",
    "registered_domain",
    "resolve_url",
    "safe_split",
    "same_site",
    "site_of",
    "strip_www",
]

logger = logging.getLogger(__name__)

ALLOWED_SCHEMES = frozenset({"http", "https"})
"""Schemes the crawler follows; everything else (``javascript:``, ``file:``, ...) is dropped."""

_BAD_CHARS = re.compile(r"[\x00-\x20\x7f]")
_MAX_URL_LENGTH = 8192


def normalize_host(host: str) -> str:
    """Lower-case ``host``, drop a trailing dot and encode it as IDNA (punycode) when possible."""
    host = host.strip().rstrip(".").lower()
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def strip_www(host: str) -> str:
    """``host`` without one leading ``www.`` (kept when nothing dotted would remain)."""
    return host[4:] if host.startswith("www.") and "." in host[4:] else host


def safe_split(url: str) -> SplitResult | None:
    """Split ``url`` when it is a followable absolute URL, else return None.

    Followable: scheme http/https, a host, no credentials, a valid port, no
    whitespace or control characters, at most 8 KiB.
    """
    if not isinstance(url, str) or len(url) > _MAX_URL_LENGTH or _BAD_CHARS.search(url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return None
    del port
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        return None
    if not parts.hostname or parts.username is not None or parts.password is not None:
        return None
    if "@" in parts.netloc:
        return None
    return parts


def resolve_url(href: str, base_url: str, *, drop_fragment: bool = False) -> str | None:
    """Resolve ``href`` against ``base_url``; None when the result is not followable.

    Leading/trailing whitespace in ``href`` is ignored (common in XML text nodes).
    With ``drop_fragment`` the ``#...`` part is removed.
    """
    if not isinstance(href, str):
        return None
    href = href.strip()
    if not href or len(href) > _MAX_URL_LENGTH:
        return None
    if href[:8].lower().startswith(("http://", "https://")):
        absolute = href  # what urljoin returns for an absolute URL, without its cost
    else:
        try:
            absolute = urljoin(base_url, href)
        except ValueError:
            return None
    parts = safe_split(absolute)
    if parts is None:
        return None
    if drop_fragment and parts.fragment:
        parts = parts._replace(fragment="")
        absolute = urlunsplit(parts)
    elif absolute.endswith("#"):
        absolute = absolute[:-1]
    return absolute


DEFAULT_PORTS = {"http": 80, "https": 443}


@cache
def _suffix_list() -> Any:
    """tldextract over its bundled Public Suffix List snapshot, private section included.

    ``suffix_list_urls=()`` and no cache directory: it never fetches the list from the
    internet and never writes a cache file (its default does both).
    """
    import tldextract

    return tldextract.TLDExtract(
        cache_dir=None, suffix_list_urls=(), include_psl_private_domains=True
    )


@lru_cache(maxsize=8192)
def registered_domain(host: str) -> str:
    """The registrable domain of ``host`` by the Public Suffix List, private part included.

    ``news.example.co.uk`` -> ``example.co.uk``; ``a.github.io`` -> ``a.github.io`` (each
    ``github.io`` site is its own); an IP address, ``localhost`` or a name under no known
    suffix is its own site (the whole host).
    """
    host = normalize_host(host).strip("[]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return host
    found = _suffix_list()(host)
    domain = str(found.top_domain_under_public_suffix or "")
    return domain or host


def site_of(url: str) -> tuple[str, str, int] | None:
    """``(scheme, registered domain, port)`` of a followable URL: what makes one site.

    The port is the effective one (80/443 when the URL names none). None when ``url`` is
    not followable (`safe_split`).
    """
    parts = safe_split(url)
    if parts is None or parts.hostname is None:
        return None
    scheme = parts.scheme.lower()
    port = parts.port or DEFAULT_PORTS[scheme]
    return scheme, registered_domain(parts.hostname), port


def same_site(url: str, other: str) -> bool:
    """True when both URLs are followable and on one site: the same scheme, the same
    registered domain (Public Suffix List with its private section: ``a.github.io`` and
    ``b.github.io`` are two sites; an IP address is a site of its own) and the same port.

    The one same-site rule of the project: link discovery and canonical URLs use it.
    """
    a = site_of(url)
    return a is not None and a == site_of(other)

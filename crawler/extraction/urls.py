"""URL normalization: canonical form, tracking-parameter removal, the canonical's choice.

Owns ``canonicalize_url`` (also used by the crawler's already-stored filter) and the
choice between a page's declared canonical URL and the URL it was fetched from.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from crawler.discovery.urls import same_site as _same_site
from crawler.extraction.patterns import load_data

logger = logging.getLogger(__name__)

_DEFAULT_PORTS = {"http": 80, "https": 443}


@lru_cache(maxsize=1)
def _tracking() -> tuple[frozenset[str], tuple[str, ...]]:
    data = load_data("tracking_params")
    exact = frozenset(str(p).lower() for p in data.get("exact", []))
    prefixes = tuple(str(p).lower() for p in data.get("prefixes", []))
    return exact, prefixes


def _is_tracking(name: str) -> bool:
    exact, prefixes = _tracking()
    low = name.lower()
    return low in exact or low.startswith(prefixes)


def canonicalize_url(url: str) -> str:
    """Return ``url`` normalized for identity comparisons.

    Lower-cases scheme and host, drops the default port, the fragment and tracking
    parameters (``utm_*``, ``fbclid``... listed in ``patterns/tracking_params.yaml``);
    other query parameters keep their order. An empty path becomes ``/``.
    Unparseable input is returned stripped, unchanged otherwise.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port
    except ValueError:
        return url
    if not scheme or not host:
        return url
    netloc = host
    if ":" in host and not host.startswith("["):
        netloc = f"[{host}]"
    if parts.username or parts.password:
        cred = parts.username or ""
        if parts.password:
            cred += f":{parts.password}"
        netloc = f"{cred}@{netloc}"
    if port is not None and _DEFAULT_PORTS.get(scheme) != port:
        netloc = f"{netloc}:{port}"
    path = parts.path or "/"
    query = ""
    if parts.query:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not _is_tracking(k)]
        query = urlencode(kept, doseq=False) if kept else ""
    return urlunsplit((scheme, netloc, path, query, ""))


def same_site(a: str, b: str) -> bool:
    """True when both URLs are on one site: scheme, registered domain and port
    (`crawler.discovery.urls.same_site`, the project's one rule)."""
    return _same_site(a.strip(), b.strip())


def absolutize(href: str, base: str) -> str | None:
    """Resolve ``href`` against ``base``; None when it is not an http(s) URL."""
    href = href.strip()
    if not href or href.startswith(("javascript:", "data:", "mailto:")):
        return None
    try:
        full = urljoin(base, href)
    except ValueError:
        return None
    return full if full.startswith(("http://", "https://")) else None


def choose_canonical(fetch_url: str, candidates: list[str]) -> str:
    """Pick the first same-site declared canonical URL, else the fetched URL; normalized."""
    for cand in candidates:
        full = absolutize(cand, fetch_url)
        if full and same_site(full, fetch_url):
            return canonicalize_url(full)
    return canonicalize_url(fetch_url)

"""The integration tests' news site: the bundled demo site with a test overlay.

The site exists once, as the demo's (``crawler/demo/site``, shipped in the package);
``tests/integration/site`` holds only what the tests add to it: ``_routes.json`` (faults:
redirects, 404/500, slow, busy, a PDF, a page too large, redirect loops, an off-site
redirect), the pages behind them, the ``/aktuell/`` and ``/faults/`` listings, a second feed
and a broken one, and a ``sitemap_index.xml`` naming one more sitemap (the only file it
replaces). `SiteServer` serves the overlay over the demo site (``overlay=``); what a crawl
must store is the demo's ``_expected.json`` with the overlay's added (`expected`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crawler.demo import DEMO_SITE, SiteServer

OVERLAY = Path(__file__).resolve().parent / "site"
"""What the integration tests add to the demo site."""


def server() -> SiteServer:
    """A (not yet started) server of the integration site: the demo site and its overlay."""
    return SiteServer(DEMO_SITE, overlay=OVERLAY)


def site_file(path: str) -> Path:
    """The file serving a site path (``/news/x.html``): the overlay's, else the demo's."""
    for folder in (OVERLAY, DEMO_SITE):
        candidate = folder / path.lstrip("/")
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(path)


def _load(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "_expected.json").read_text(encoding="utf-8"))
    return data


def merge_expected(base: dict[str, Any], added: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``added``'s facts: lists appended (once each), objects merged."""
    merged = dict(base)
    for key, value in added.items():
        if key == "_doc":
            continue
        old = merged.get(key)
        if isinstance(old, list):
            merged[key] = old + [v for v in value if v not in old]
        elif isinstance(old, dict):
            merged[key] = {**old, **value}
        else:
            merged[key] = value
    return merged


def expected() -> dict[str, Any]:
    """The facts of the integration site (see the ``_doc`` of each ``_expected.json``)."""
    return merge_expected(_load(DEMO_SITE), _load(OVERLAY))

"""The bundled demo site and the loopback HTTP server that serves it.

``DEMO_SITE`` is the root folder of a small multilingual news site (package data) that
``newsingest demo`` crawls through `crawler.demo.server.SiteServer` on 127.0.0.1.
"""

from __future__ import annotations

from pathlib import Path

from crawler.demo.server import SiteServer

DEMO_SITE: Path = Path(__file__).resolve().parent / "site"
"""Root folder of the bundled demo site (``index.html``, ``robots.txt``, sitemaps, feeds...)."""

__all__ = ["DEMO_SITE", "SiteServer"]

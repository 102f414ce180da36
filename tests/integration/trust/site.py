"""A generated site for the trust-boundary tests: scope holes on redirects and canonicals.

`build(root, other_base)` writes a site whose listing links to articles that leave the
source's scope in each way the issue found: a ``<meta http-equiv=refresh>`` to another
port of the same host (``other_base``, a second server), a 302 to a URL the source's
``article_urls.deny`` refuses, and a ``rel=canonical`` to such a URL; plus a plain good
article. Every page passes extraction on its own.
"""

from __future__ import annotations

import json
from pathlib import Path

PARAS = "".join(
    f"<p>Paragraph {i}: the dock workers of pier {i} ended their strike on Monday after "
    f"the port authority agreed to contract number {i * 17} with higher wages, shorter "
    f"shifts and {i + 3} more days of leave for everyone working the night cranes.</p>"
    for i in range(10)
)


def article(title: str, head: str = "") -> str:
    """A page that extraction takes as an article."""
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"{head}</head><body><article><h1>{title}</h1>{PARAS}</article></body></html>"
    )


def build(root: Path, other_base: str) -> Path:
    """Write the site under ``root`` (``other_base``: the other port's server); return it."""
    for folder in ("a", "private"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    links = ["/a/good.html", "/a/refresh.html", "/a/redirect.html", "/a/canonical.html"]
    (root / "index.html").write_text(
        "<!DOCTYPE html><html><body><ul>"
        + "".join(f"<li><a href='{u}'>{u}</a></li>" for u in links)
        + "</ul></body></html>",
        encoding="utf-8",
    )
    (root / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
    (root / "a" / "good.html").write_text(article("Good story"), encoding="utf-8")
    (root / "a" / "refresh.html").write_text(
        article("Moved", f"<meta http-equiv='refresh' content='0; url={other_base}/a/x.html'>"),
        encoding="utf-8",
    )
    (root / "a" / "canonical.html").write_text(
        article("Canonical story", "<link rel='canonical' href='/private/canonical.html'>"),
        encoding="utf-8",
    )
    (root / "private" / "draft.html").write_text(article("Draft story"), encoding="utf-8")
    routes = {"/a/redirect.html": {"redirect": "__BASE__/private/draft.html"}}
    (root / "_routes.json").write_text(json.dumps(routes), encoding="utf-8")
    return root


def build_other(root: Path) -> Path:
    """The other port's site: an article that must never be fetched."""
    (root / "a").mkdir(parents=True, exist_ok=True)
    (root / "a" / "x.html").write_text(article("Other port story"), encoding="utf-8")
    (root / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
    return root

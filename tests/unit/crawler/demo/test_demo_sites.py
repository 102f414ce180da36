"""Checks on the bundled demo site and the integration fixture site, served by `SiteServer`.

The integration site is the demo site with the tests' overlay (`tests.integration.fixture_site`).

The ``_expected.json`` of each site must be honest: every fact it states is visible on the
page. Sitemaps and feeds must be well-formed XML once the placeholders are substituted, and
every same-site link must lead somewhere (except the deliberately broken ones).
"""

from __future__ import annotations

import gzip
import http.client
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from crawler.demo import DEMO_SITE, SiteServer
from tests.integration import fixture_site

OVERLAYS: dict[str, Path | None] = {"demo": None, "integration": fixture_site.OVERLAY}
"""Each site: the demo site with this overlay."""
LISTINGS = {"demo": ["/"], "integration": ["/", "/aktuell/", "/faults/"]}
"""Where a walk of each site's links starts (the listings its crawls are given)."""
RSS_FEEDS = {"demo": ["/feed.rss"], "integration": ["/feed.rss", "/feed-extra.rss"]}
LIST_KEYS = {"non_articles", "too_old", "never_requested", "never_requested_offsite"}
DICT_KEYS = {"redirects", "stubs"}
NS = {
    "sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
    "news": "http://www.google.com/schemas/sitemap-news/0.9",
    "atom": "http://www.w3.org/2005/Atom",
}
MORE_MARKERS = {
    "de": "Mehr zum Thema – ",
    "en": "More on this topic – ",
    "fr": "Sur le même sujet – ",
    "es": "Más sobre el tema – ",
    "ru": "Больше по теме – ",
}
# Same-site links that are meant to fail.
DELIBERATE_FAILURES = {"/gone.html": 404, "/broken/500.html": 500}
NOTE_MARKERS = {
    "de": "Übersetzt aus dem",
    "en": "Translated from",
    "fr": "Traduit du",
    "es": "Traducido del",
    "ru": "Перевод с",
}


def get(srv: SiteServer, path: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, dict(resp.headers.items()), resp.read()
    finally:
        conn.close()


class _PageParser(HTMLParser):
    """Collects visible text lines, links, the html lang and metadata markers of a page."""

    BLOCKS = frozenset({"p", "h1", "h2", "li", "div", "span", "time", "figcaption", "button"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.links: list[str] = []
        self.lang: str | None = None
        self.jsonld: list[str] = []
        self.og: dict[str, str] = {}
        self._skip = 0
        self._in_jsonld = False
        self._buf: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        if tag == "meta" and a.get("property", "").startswith("og:"):
            self.og[a["property"]] = a.get("content", "")
        if tag == "script" and a.get("type") == "application/ld+json":
            self._in_jsonld = True
        if tag in {"script", "style", "head"}:
            self._skip += 1
        if tag in self.BLOCKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "head"}:
            self._skip = max(0, self._skip - 1)
            self._in_jsonld = False
        if tag in self.BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._in_jsonld:
            self.jsonld.append(data)
        elif not self._skip:
            self._buf.append(data)

    def close(self) -> None:
        super().close()
        self._flush()

    def _flush(self) -> None:
        line = " ".join("".join(self._buf).split())
        if line:
            self.lines.append(line)
        self._buf = []

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def parse_page(body: bytes) -> _PageParser:
    parser = _PageParser()
    parser.feed(body.decode("utf-8"))
    parser.close()
    return parser


def load_expected(name: str) -> dict[str, Any]:
    if name == "integration":
        return fixture_site.expected()
    data: dict[str, Any] = json.loads((DEMO_SITE / "_expected.json").read_text(encoding="utf-8"))
    return data


def articles(expected: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in expected.items() if k.startswith("/")}


@pytest.fixture(scope="module", params=sorted(OVERLAYS))
def served(request: pytest.FixtureRequest) -> Iterator[tuple[str, SiteServer, dict[str, Any]]]:
    name = str(request.param)
    with SiteServer(DEMO_SITE, overlay=OVERLAYS[name]) as srv:
        yield name, srv, load_expected(name)


def fetch_ok(srv: SiteServer, path: str) -> bytes:
    """GET a page, retrying once after a 429 (the 'busy' route answers 429 first)."""
    for _ in range(3):
        status, _, body = get(srv, path)
        if status != 429:
            assert status == 200, (path, status)
            return body
    raise AssertionError(f"{path} stayed busy")


def test_expected_json_shape(served: tuple[str, SiteServer, dict[str, Any]]) -> None:
    name, _, expected = served
    for key, value in expected.items():
        if key.startswith("/"):
            assert isinstance(value, dict)
        elif key in LIST_KEYS:
            assert isinstance(value, list) and all(isinstance(p, str) for p in value)
        elif key in DICT_KEYS:
            assert isinstance(value, dict)
        else:
            assert key == "_doc", key
    arts = articles(expected)
    langs = {facts["language"] for facts in arts.values()}
    assert {"de", "en", "fr", "es", "ru"} <= langs
    core = [f for f in arts.values() if f["translation_source_language"]]
    assert len([f for f in core if f["language"] == "de"]) >= 2
    assert not set(arts) & set(expected["non_articles"])
    assert set(expected["too_old"]) <= set(expected["never_requested"])
    if name == "demo":
        assert len(arts) >= 10
        assert len([f for f in core if f["language"] == "de"]) >= 3
        assert {f["language"] for f in core} == {"de", "en", "fr", "es", "ru"}


def test_article_pages_show_their_facts(served: tuple[str, SiteServer, dict[str, Any]]) -> None:
    _, srv, expected = served
    for path, facts in articles(expected).items():
        page = parse_page(fetch_ok(srv, path))
        text, lines = page.text, page.lines
        assert page.lang == facts["language"], path
        assert facts["title"] in lines, path
        assert facts["byline"] in lines, path
        assert facts["published_raw"] in text, path
        assert facts["lead"] in text, path
        for author in facts["authors"]:
            assert author in facts["byline"], (path, author)
        paragraphs = [
            ln for ln in lines if ln in {facts["first_paragraph"], facts["last_paragraph"]}
        ]
        assert len(paragraphs) == 2, path
        assert 5 <= facts["paragraph_count"] <= 10, path
        assert (len(page.jsonld) > 0) == facts["has_json_ld"], path
        assert bool(page.og) == facts["has_og"], path
        for blob in page.jsonld:
            meta = json.loads(srv.substitute(blob))
            assert meta["@type"] == "NewsArticle"
            assert meta["headline"] == facts["title"]
            assert [a["name"] for a in meta["author"]] == facts["authors"]
            assert meta.get("datePublished") == facts.get("metadata_published"), path
        note = facts.get("translation_note")
        if facts["translation_source_language"] is None:
            assert note is None
            assert not any(m in text for m in NOTE_MARKERS.values()), path
            continue
        assert note in lines, path
        assert NOTE_MARKERS[facts["language"]] in note
        assert facts["original_outlet"] in note
        # the core layout: date header, lead, byline, body, ..., note, then "more on this"
        order = [
            lines.index(facts["published_raw"]),
            lines.index(facts["lead"]),
            lines.index(facts["byline"]),
            lines.index(facts["first_paragraph"]),
            lines.index(facts["last_paragraph"]),
            lines.index(note),
        ]
        assert order == sorted(order), (path, order)
        assert lines[order[-1] + 1].startswith(MORE_MARKERS[facts["language"]]), path


PRECISION_BY_LENGTH = {4: "year", 7: "month", 10: "day", 16: "minute"}
PRECISION_ORDER = ["year", "month", "day", "minute"]


def test_precision_is_the_finest_the_page_states(
    served: tuple[str, SiteServer, dict[str, Any]],
) -> None:
    """Visible header and metadata agree; the stated precision is the finer of the two."""
    _, _, expected = served
    for path, facts in articles(expected).items():
        visible = PRECISION_BY_LENGTH[len(facts["published"])]
        stated = [visible]
        meta = facts.get("metadata_published")
        if meta is not None:
            assert meta[:10].startswith(facts["published"][:10]), path
            stated.append("day" if len(meta) == 10 else "minute")
        assert facts["published_precision"] == max(stated, key=PRECISION_ORDER.index), path
        if facts["published_precision"] == "month":
            assert re.fullmatch(r"date \d{4}-\d{2}", facts["published_raw"]), path
            assert facts["published_raw"] == f"date {facts['published']}", path


def test_never_requested_pages_exist_but_are_not_listed(
    served: tuple[str, SiteServer, dict[str, Any]],
) -> None:
    """A crawl that wrongly fetched them would find real articles: the files exist."""
    _, srv, expected = served
    for path in expected["never_requested"]:
        found = srv.find(path)
        assert found is not None and found.is_file(), path
        assert path not in expected["non_articles"]


def _xml(srv: SiteServer, path: str) -> ET.Element:
    body = fetch_ok(srv, path)
    if path.endswith(".gz"):
        body = gzip.decompress(body)
    text = body.decode("utf-8")
    assert "__" not in text.replace("__init__", ""), f"placeholder left in {path}"
    return ET.fromstring(body)


def test_sitemaps_and_feeds_are_well_formed(served: tuple[str, SiteServer, dict[str, Any]]) -> None:
    name, srv, expected = served
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    robots = fetch_ok(srv, "/robots.txt").decode()
    assert "Disallow: /private/" in robots.splitlines()
    assert f"Sitemap: {srv.base_url}/sitemap_index.xml" in robots.splitlines()

    index = _xml(srv, "/sitemap_index.xml")
    sitemap_urls = [e.text or "" for e in index.findall("sm:sitemap/sm:loc", NS)]
    assert sitemap_urls and all(u.startswith(srv.base_url + "/") for u in sitemap_urls)
    assert any(u.endswith(".xml.gz") for u in sitemap_urls)
    listed: dict[str, str] = {}  # path -> date string
    saw_news = False
    for url in sitemap_urls:
        root = _xml(srv, urlsplit(url).path)
        for entry in root.findall("sm:url", NS):
            loc = entry.findtext("sm:loc", "", NS)
            news = entry.find("news:news", NS)
            if news is not None:
                saw_news = True
                date = news.findtext("news:publication_date", "", NS)
                assert news.findtext("news:title", "", NS)
                assert news.findtext("news:publication/news:language", "", NS)
            else:
                date = entry.findtext("sm:lastmod", "", NS)
            if loc.startswith(srv.base_url):
                listed[urlsplit(loc).path] = date
    assert saw_news

    today_rfc = datetime.now(UTC).strftime("%a, %d %b %Y")
    for feed in RSS_FEEDS[name]:
        for item in _xml(srv, feed).findall("channel/item"):
            link = item.findtext("link", "")
            if link.startswith(srv.base_url):
                listed[urlsplit(link).path] = item.findtext("pubDate", "").replace(today_rfc, today)
    atom = _xml(srv, "/feed.atom")
    for entry in atom.findall("atom:entry", NS):
        link_el = entry.find("atom:link", NS)
        assert link_el is not None
        listed[urlsplit(link_el.get("href", "")).path] = entry.findtext("atom:updated", "", NS)

    # every article is announced with today's date; the too-old ones only with 2019 dates
    for path in articles(expected):
        if path in listed:
            assert listed[path].startswith(today), (path, listed[path])
    for path in expected["too_old"]:
        assert path in listed, path
        assert "2019" in listed[path], path


@pytest.fixture(scope="module")
def integration_srv() -> Iterator[SiteServer]:
    with fixture_site.server() as srv:
        yield srv


def test_broken_feed_is_not_xml(integration_srv: SiteServer) -> None:
    status, headers, body = get(integration_srv, "/broken-feed.rss")
    assert status == 200
    assert headers["Content-Type"] == "application/rss+xml"
    assert b"<html" in body
    with pytest.raises(ET.ParseError):
        ET.fromstring(body)


def test_same_site_links_resolve_and_respect_robots(
    served: tuple[str, SiteServer, dict[str, Any]],
) -> None:
    """Walk every same-site link from the front page (skipping /private/, like robots.txt)."""
    name, srv, expected = served
    seen: dict[str, int] = {}
    queue = list(LISTINGS[name])
    private_linked = False
    offsite_linked = False
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        status, headers, body = get(srv, path)
        if status == 429:
            status, headers, body = get(srv, path)
        seen[path] = status
        if status in (301, 302):
            target = urlsplit(urljoin(srv.base_url + path, headers["Location"]))
            if f"{target.hostname}:{target.port}" == f"127.0.0.1:{srv.port}":
                queue.append(target.path)
            continue
        if not headers.get("Content-Type", "").startswith("text/html") or len(body) > 500_000:
            continue
        for href in parse_page(body).links:
            url = urlsplit(urljoin(srv.base_url + path, href))
            if url.scheme not in ("http", "https"):
                continue
            if url.netloc != f"127.0.0.1:{srv.port}":
                assert url.hostname == "127.0.0.2", (path, href)
                offsite_linked = True
                continue
            if url.path.startswith("/private/"):
                private_linked = True
                continue
            queue.append(url.path)
    failures = {p: s for p, s in seen.items() if s >= 400}
    assert failures == {p: s for p, s in DELIBERATE_FAILURES.items() if p in seen}
    assert private_linked, "a listing should link a robots-disallowed page"
    assert not set(seen) & set(expected["never_requested"])
    assert set(articles(expected)) <= set(seen)
    if name == "integration":
        assert offsite_linked
        assert set(DELIBERATE_FAILURES) <= set(seen)
        assert seen["/old/moved.html"] == 301
        assert seen["/loop-a"] == 302
        assert not srv.offsite_requests


def test_integration_routes_behave(integration_srv: SiteServer) -> None:
    srv = integration_srv
    srv.reset()
    assert get(srv, "/busy.html")[0] == 429
    assert get(srv, "/busy.html")[0] == 200
    status, headers, body = get(srv, "/big.html")
    assert status == 200 and len(body) > 2 * 1024 * 1024
    assert headers["Content-Type"].startswith("text/html")
    status, headers, body = get(srv, "/files/report.pdf")
    assert headers["Content-Type"] == "application/pdf" and body.startswith(b"%PDF")
    assert get(srv, "/offsite")[1]["Location"] == f"http://127.0.0.2:{srv.port}/x"
    broken = fetch_ok(srv, "/news/2025/02/stromausfall.html").decode()
    assert "</html>" not in broken and "</body>" not in broken

"""Property tests: parsers return a result or raise DiscoveryError, nothing else."""

from __future__ import annotations

import gzip
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.discovery import (
    DiscoveryError,
    Feed,
    Sitemap,
    extract_links,
    pagination_links,
    parse_feed,
    parse_rfc822,
    parse_sitemap,
    parse_w3c_datetime,
    sitemaps_from_robots,
)

BASE = "https://example.com/x.xml"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_XMLISH = st.lists(
    st.sampled_from(
        [
            b"<",
            b">",
            b"/",
            b"<?xml version='1.0'?>",
            b"<urlset>",
            b"</urlset>",
            b"<sitemapindex>",
            b"<url>",
            b"<loc>",
            b"</loc>",
            b"<lastmod>2024-02-30</lastmod>",
            b"<rss>",
            b"<channel>",
            b"<item>",
            b"<link>",
            b"<feed xmlns='http://www.w3.org/2005/Atom'>",
            b"<entry>",
            b"<link href='",
            b"'/>",
            b"http://",
            b"&amp;",
            b"&",
            b"<![CDATA[",
            b"]]>",
            b"<!DOCTYPE x>",
            b"\xef\xbb\xbf",
            b"\x00",
            b"\xff",
            b"text",
            b"javascript:",
            b"<pubDate>",
            b"Tue, 99 Foo 2024",
        ]
    ),
    max_size=40,
).map(b"".join)


@FUZZ
@given(st.binary(max_size=2048) | _XMLISH)
def test_parse_sitemap_returns_a_sitemap_or_raises_discovery_error(body: bytes) -> None:
    for candidate in (body, gzip.compress(body)):
        try:
            result = parse_sitemap(candidate, BASE, max_size=64 * 1024)
        except DiscoveryError:
            continue
        assert isinstance(result, Sitemap)
        assert all(e.url.startswith(("http://", "https://")) for e in result.entries)


@FUZZ
@given(st.binary(max_size=2048) | _XMLISH)
def test_parse_feed_returns_a_feed_or_raises_discovery_error(body: bytes) -> None:
    try:
        result = parse_feed(body, BASE, max_size=64 * 1024)
    except DiscoveryError:
        return
    assert isinstance(result, Feed)
    assert all(e.url.startswith(("http://", "https://")) for e in result.entries)


@FUZZ
@given(st.text(max_size=1024))
def test_link_and_robots_parsers_never_raise(text: str) -> None:
    assert isinstance(extract_links(text, BASE), tuple)
    assert isinstance(pagination_links(text.encode("utf-8", "surrogatepass"), BASE), tuple)
    assert isinstance(sitemaps_from_robots(text, BASE), tuple)


@FUZZ
@given(
    st.text(max_size=60)
    | st.from_regex(
        r"\d{4}-\d{1,2}-\d{1,2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?"
    )
    | st.from_regex(r"(\w{3}, )?\d{1,2} \w{3} \d{2,4} \d{2}:\d{2}(:\d{2})? ([+-]\d{4}|\w{1,3})")
)
def test_date_parsers_give_aware_utc_or_none(text: str) -> None:
    for parse in (parse_w3c_datetime, parse_rfc822):
        value = parse(text)
        assert value is None or value.utcoffset() == timedelta(0)

"""Sitemap parsing: urlset, sitemapindex, Google News, gzip, odd namespaces, errors."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

import pytest

from crawler.discovery import DiscoveryError, SitemapEntry, SitemapRef, parse_sitemap

BASE = "https://example.com/sitemaps/sitemap.xml"

URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:xhtml="http://www.w3.org/1999/xhtml"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url>
    <loc>https://example.com/news/a.html</loc>
    <lastmod>2024-03-05T10:20:30+01:00</lastmod>
    <xhtml:link rel="alternate" hreflang="fr" href="https://example.com/fr/a.html"/>
    <image:image><image:loc>https://cdn.example.com/a.jpg</image:loc></image:image>
  </url>
  <url><loc>https://example.com/news/b.html</loc><lastmod>2024-03-05</lastmod></url>
  <url><loc>https://example.com/news/c.html</loc></url>
</urlset>"""

INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://example.com/sitemap-news.xml</loc>
    <lastmod>2024-03-05T08:00:00Z</lastmod></sitemap>
  <sitemap><loc>sitemap-2024-03.xml.gz</loc></sitemap>
  <sitemap><loc>https://example.com/sitemap-news.xml</loc></sitemap>
</sitemapindex>"""

NEWS = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url>
    <loc>https://de.example.com/inland/123456-streik/</loc>
    <news:news>
      <news:publication>
        <news:name>Beispiel Zeitung</news:name>
        <news:language>de</news:language>
      </news:publication>
      <news:publication_date>2024-03-05T09:15:00+01:00</news:publication_date>
      <news:title>Streik im Hafen &amp; Stillstand – „Alles steht“</news:title>
    </news:news>
  </url>
</urlset>""".encode()


def test_urlset_lists_entries_in_order_with_lastmod_in_utc() -> None:
    sitemap = parse_sitemap(URLSET, BASE)
    assert sitemap.kind == "urlset"
    assert sitemap.sitemaps == ()
    assert [e.url for e in sitemap.entries] == [
        "https://example.com/news/a.html",
        "https://example.com/news/b.html",
        "https://example.com/news/c.html",
    ]
    assert sitemap.entries[0].lastmod == datetime(2024, 3, 5, 9, 20, 30, tzinfo=UTC)


def test_date_only_lastmod_is_midnight_utc() -> None:
    assert parse_sitemap(URLSET, BASE).entries[1].lastmod == datetime(2024, 3, 5, tzinfo=UTC)


def test_missing_lastmod_is_none() -> None:
    entry = parse_sitemap(URLSET, BASE).entries[2]
    assert entry == SitemapEntry(url="https://example.com/news/c.html")


def test_xhtml_and_image_extensions_are_ignored() -> None:
    urls = [e.url for e in parse_sitemap(URLSET, BASE).entries]
    assert "https://example.com/fr/a.html" not in urls
    assert "https://cdn.example.com/a.jpg" not in urls


def test_sitemap_index_lists_child_sitemaps_resolved_and_deduplicated() -> None:
    sitemap = parse_sitemap(INDEX, BASE)
    assert sitemap.kind == "sitemapindex"
    assert sitemap.entries == ()
    assert sitemap.sitemaps == (
        SitemapRef(
            url="https://example.com/sitemap-news.xml",
            lastmod=datetime(2024, 3, 5, 8, tzinfo=UTC),
        ),
        SitemapRef(url="https://example.com/sitemaps/sitemap-2024-03.xml.gz"),
    )


def test_google_news_sitemap_gives_title_date_language_and_publication() -> None:
    (entry,) = parse_sitemap(NEWS, BASE).entries
    assert entry.news_title == "Streik im Hafen & Stillstand – „Alles steht“"
    assert entry.news_publication_date == datetime(2024, 3, 5, 8, 15, tzinfo=UTC)
    assert entry.news_language == "de"
    assert entry.news_publication_name == "Beispiel Zeitung"
    assert entry.lastmod is None
    assert entry.published_at == entry.news_publication_date


def test_gzipped_sitemap_is_parsed() -> None:
    sitemap = parse_sitemap(gzip.compress(NEWS), BASE)
    assert sitemap.entries[0].url == "https://de.example.com/inland/123456-streik/"


def test_wrong_or_missing_namespace_is_tolerated() -> None:
    for namespace in ('xmlns="http://www.google.com/schemas/sitemap/0.84"', ""):
        body = (
            f"<urlset {namespace}><url><loc>https://example.com/x</loc>"
            "<lastmod>2024-01-02T03:04Z</lastmod></url></urlset>"
        ).encode()
        (entry,) = parse_sitemap(body, BASE).entries
        assert entry.url == "https://example.com/x"
        assert entry.lastmod == datetime(2024, 1, 2, 3, 4, tzinfo=UTC)


def test_news_namespace_with_unexpected_uri_is_still_read() -> None:
    body = (
        b'<urlset xmlns:n="http://example.org/not-google"><url><loc>/a</loc><n:news>'
        b"<n:title>T</n:title><n:publication_date>2024-01-02</n:publication_date>"
        b"</n:news></url></urlset>"
    )
    (entry,) = parse_sitemap(body, BASE).entries
    assert entry.news_title == "T"
    assert entry.news_publication_date == datetime(2024, 1, 2, tzinfo=UTC)


def test_relative_locs_are_resolved_against_the_sitemap_url() -> None:
    body = b"<urlset><url><loc> /news/a.html </loc></url><url><loc>b.html</loc></url></urlset>"
    assert [e.url for e in parse_sitemap(body, BASE).entries] == [
        "https://example.com/news/a.html",
        "https://example.com/sitemaps/b.html",
    ]


def test_unusable_locs_are_skipped() -> None:
    body = (
        b"<urlset><url><loc>javascript:alert(1)</loc></url><url><loc></loc></url>"
        b"<url><loc>https://user:pw@example.com/a</loc></url><url/>"
        b"<url><loc>file:///etc/passwd</loc></url><url><loc>http://[::1</loc></url>"
        b"<url><loc>https://example.com/ok</loc></url></urlset>"
    )
    assert [e.url for e in parse_sitemap(body, BASE).entries] == ["https://example.com/ok"]


def test_duplicate_locs_are_listed_once() -> None:
    body = b"<urlset>" + b"<url><loc>https://example.com/a</loc></url>" * 3 + b"</urlset>"
    assert len(parse_sitemap(body, BASE).entries) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-03", datetime(2024, 3, 1, tzinfo=UTC)),
        ("2024-03-05T10:20+02:00", datetime(2024, 3, 5, 8, 20, tzinfo=UTC)),
        ("2024-03-05T10:20:30.123456-05:00", datetime(2024, 3, 5, 15, 20, 30, 123456, UTC)),
        ("2024-03-05 10:20:30", datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)),
        ("2024-03-05T10:20:30+0100", datetime(2024, 3, 5, 9, 20, 30, tzinfo=UTC)),
        ("2024-13-45", None),
        ("yesterday", None),
        ("", None),
    ],
)
def test_w3c_lastmod_formats_parse_or_give_none(text: str, expected: datetime | None) -> None:
    body = f"<urlset><url><loc>/a</loc><lastmod>{text}</lastmod></url></urlset>".encode()
    lastmod = parse_sitemap(body, BASE).entries[0].lastmod
    assert lastmod == expected
    if lastmod is not None:
        assert lastmod.utcoffset() == timedelta(0)
        assert lastmod.tzinfo == UTC


def test_not_xml_is_a_discovery_error_saying_so() -> None:
    with pytest.raises(DiscoveryError, match="sitemap is not XML"):
        parse_sitemap(b"this is plain text, not a sitemap", BASE)


def test_empty_body_is_a_discovery_error() -> None:
    with pytest.raises(DiscoveryError, match="empty"):
        parse_sitemap(b"", BASE)
    with pytest.raises(DiscoveryError, match="empty"):
        parse_sitemap(b" \n\t ", BASE)


def test_html_page_is_not_a_sitemap() -> None:
    with pytest.raises(DiscoveryError, match=r"root element is <html>.*HTML page"):
        parse_sitemap(b"<!DOCTYPE html><html><body><p>404</p></body></html>", BASE)


def test_other_xml_root_is_a_discovery_error() -> None:
    with pytest.raises(DiscoveryError, match="root element is <catalog>, expected <urlset>"):
        parse_sitemap(b"<catalog><book>https://example.com/a</book></catalog>", BASE)


def test_bare_ampersand_in_loc_is_kept() -> None:
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?><urlset>'
        b"<url><loc>https://example.com/a?x=1&y=2</loc><lastmod>2025-06-10</lastmod></url>"
        b"<url><loc>https://example.com/b?id=7&amp;page=2&sort</loc></url>"
        b"<url><loc>https://example.com/c?q=caf&eacute;&nbsp;</loc></url></urlset>"
    )
    sitemap = parse_sitemap(body, BASE)
    assert [e.url for e in sitemap.entries] == [
        "https://example.com/a?x=1&y=2",
        "https://example.com/b?id=7&page=2&sort",
        "https://example.com/c?q=café",
    ]
    assert sitemap.entries[0].lastmod == datetime(2025, 6, 10, tzinfo=UTC)


def test_entries_beyond_max_entries_are_dropped() -> None:
    body = (
        b"<urlset>"
        + b"".join(b"<url><loc>https://example.com/%d</loc></url>" % i for i in range(20))
        + b"</urlset>"
    )
    entries = parse_sitemap(body, BASE, max_entries=5).entries
    assert [e.url for e in entries] == [f"https://example.com/{i}" for i in range(5)]


def test_rfc822_lastmod_is_tolerated() -> None:
    body = (
        b"<urlset><url><loc>/a</loc><lastmod>Tue, 05 Mar 2024 10:00:00 GMT</lastmod></url></urlset>"
    )
    assert parse_sitemap(body, BASE).entries[0].lastmod == datetime(2024, 3, 5, 10, tzinfo=UTC)


# --- the web as it is (issue 21) -------------------------------------------------------


def test_junk_before_the_xml_declaration_of_a_sitemap_is_skipped() -> None:
    body = (
        b"<br />\n<b>Warning</b>:  session_start(): headers already sent<br />\n"
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>https://example.com/a</loc></url></urlset>"
    )
    assert [e.url for e in parse_sitemap(body, BASE).entries] == ["https://example.com/a"]


RSS_AS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>Latest</title><language>fr</language>
<item><title>Un titre</title><link>https://example.com/fr/un.html</link>
<pubDate>Tue, 10 Jun 2025 10:00:00 +0200</pubDate><dc:creator>Marie Exemple</dc:creator></item>
<item><title>Deux</title><link>/fr/deux.html</link></item>
</channel></rss>"""


def test_rss_feed_listed_as_a_sitemap_is_read_as_a_feed() -> None:
    sitemap = parse_sitemap(RSS_AS_SITEMAP, BASE)
    assert sitemap.kind == "urlset"
    first, second = sitemap.entries
    assert first == SitemapEntry(
        url="https://example.com/fr/un.html",
        news_title="Un titre",
        news_publication_date=datetime(2025, 6, 10, 8, tzinfo=UTC),
        news_language="fr",
        authors=("Marie Exemple",),
    )
    assert first.published_at == datetime(2025, 6, 10, 8, tzinfo=UTC)
    assert second.url == "https://example.com/fr/deux.html"


def test_atom_feed_listed_as_a_sitemap_is_read_as_a_feed() -> None:
    body = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">'
        b'<entry><title>A</title><link href="https://example.com/a"/>'
        b"<updated>2025-06-10T10:00:00Z</updated></entry></feed>"
    )
    (entry,) = parse_sitemap(gzip.compress(body), BASE).entries
    assert (entry.url, entry.lastmod) == (
        "https://example.com/a",
        datetime(2025, 6, 10, 10, tzinfo=UTC),
    )


def test_html_listed_as_a_sitemap_is_still_refused() -> None:
    with pytest.raises(DiscoveryError, match="HTML page"):
        parse_sitemap(b"<html><body><a href='/rss'>RSS</a></body></html>", BASE)


def test_plain_text_sitemap_lists_one_url_a_line() -> None:
    body = (
        b"\xef\xbb\xbfhttps://example.com/a.html\r\n"
        b"https://example.com/b.html?x=1&y=2\n"
        b"\n"
        b"   https://example.com/c.html   \n"
        b"not a url\n"
        b"/relative.html\n"
        b"javascript:alert(1)\n"
        b"https://example.com/" + b"x" * 9000 + b"\n"
        b"https://example.com/a.html\n"
        b"https://example.com/d.html"
    )
    sitemap = parse_sitemap(body, BASE)
    assert sitemap.kind == "urlset"
    assert [e.url for e in sitemap.entries] == [
        "https://example.com/a.html",
        "https://example.com/b.html?x=1&y=2",
        "https://example.com/c.html",
        "https://example.com/d.html",
    ]


def test_plain_text_sitemap_is_capped_at_max_entries() -> None:
    body = b"".join(b"https://example.com/%d\n" % i for i in range(100))
    entries = parse_sitemap(gzip.compress(body), BASE, max_entries=10).entries
    assert [e.url for e in entries] == [f"https://example.com/{i}" for i in range(10)]


def test_truncated_sitemap_drops_the_entry_the_cut_interrupted() -> None:
    head = b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    complete = b"".join(
        b"<url><loc>https://example.com/page_%d</loc></url>\n" % i for i in range(1, 4)
    )
    for cut in (
        b"<url><loc>https://example.com/page_",
        b"<url><loc>https://example.com/pa",
        b"<url><lo",
        b"<url>",
        b"",
    ):
        entries = parse_sitemap(head + complete + cut, BASE).entries
        assert [e.url for e in entries] == [f"https://example.com/page_{i}" for i in range(1, 4)]


def test_truncated_and_malformed_sitemap_drops_the_entry_the_cut_interrupted() -> None:
    body = (
        b"<urlset><url><loc>https://example.com/a?x=1&y=2</loc></url><url><loc>x</bad></url>"
        b"<url><loc>https://example.com/b</loc></url><url><loc>https://example.com/page_"
    )
    urls = [e.url for e in parse_sitemap(body, BASE).entries]
    assert "https://example.com/a?x=1&y=2" in urls
    assert "https://example.com/b" in urls
    assert not any(u.endswith("page_") for u in urls)


def test_sitemap_with_doctype_declaring_one_internal_entity_keeps_its_links() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY src "sitemap">]>'
        b"<urlset><url><loc>https://example.com/a</loc></url>"
        b"<url><loc>https://example.com/b?from=&src;</loc></url></urlset>"
    )
    assert [e.url for e in parse_sitemap(body, BASE).entries] == [
        "https://example.com/a",
        "https://example.com/b?from=&src;",  # never expanded: left as written
    ]


def test_news_dates_with_zone_names_and_colon_offsets_are_read() -> None:
    body = (
        b"<urlset xmlns:news='http://www.google.com/schemas/sitemap-news/0.9'><url>"
        b"<loc>https://example.com/a</loc><lastmod>Tue, 10 Jun 2025 10:00:00 +02:00</lastmod>"
        b"<news:news><news:publication_date>2025-06-10 10:00:00 IST</news:publication_date>"
        b"</news:news></url></urlset>"
    )
    (entry,) = parse_sitemap(body, BASE, country="IE").entries
    assert entry.lastmod == datetime(2025, 6, 10, 8, tzinfo=UTC)
    assert entry.news_publication_date == datetime(2025, 6, 10, 9, tzinfo=UTC)


def test_undeclared_windows1252_sitemap_is_read_with_the_http_charset() -> None:
    body = (
        "<urlset><url><loc>https://example.com/caf\xe9</loc><news:news "
        "xmlns:news='n'><news:title>\u201eCaf\xe9\u201c</news:title></news:news></url></urlset>"
    ).encode("cp1252")
    (entry,) = parse_sitemap(body, BASE, encoding="iso-8859-1").entries
    assert (entry.url, entry.news_title) == ("https://example.com/caf\xe9", "\u201eCaf\xe9\u201c")


def test_large_sitemap_is_read_without_keeping_its_tree() -> None:
    # the records are removed from the tree as they are read: the root ends up empty
    from crawler.discovery.safexml import iter_records, prepare_xml

    body = b"<urlset>" + b"<url><loc>https://example.com/x</loc></url>" * 1000 + b"</urlset>"
    roots = set()
    count = 0
    for element in iter_records(prepare_xml(body), False, ("url",)):
        roots.add(element.getparent())
        count += 1
    (root,) = roots
    assert count == 1000
    assert len(root) == 0

"""Feed parsing: RSS 2.0, Atom, RDF, relative links, missing dates, non-feeds."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest

from crawler.discovery import DiscoveryError, FeedEntry, parse_feed

BASE = "https://example.com/feeds/all.xml"

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
     xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
  <title>Beispiel &amp; Co</title>
  <link>https://example.com/</link>
  <language>de-DE</language>
  <atom:link href="https://example.com/feeds/all.xml" rel="self"/>
  <item>
    <title><![CDATA[Streik im <b>Hafen</b> &amp; mehr]]></title>
    <link>https://example.com/inland/1-streik.html</link>
    <pubDate>Tue, 05 Mar 2024 10:15:00 +0100</pubDate>
    <dc:creator>Anna Petrowa, Jens Köhler</dc:creator>
    <guid isPermaLink="false">abc-1</guid>
  </item>
  <item>
    <title>Relative</title>
    <link>/wirtschaft/2-boerse.html</link>
    <author>redaktion@example.com (Max Mustermann)</author>
    <pubDate>not a date</pubDate>
  </item>
  <item>
    <title>Only a guid</title>
    <guid>https://example.com/guid-3.html</guid>
    <author>noreply@example.com</author>
  </item>
  <item><title>No link at all</title></item>
  <item>
    <link>javascript:alert(1)</link>
  </item>
</channel>
</rss>""".encode()

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en-GB">
  <title type="html">World &amp;amp; more</title>
  <entry>
    <title>First</title>
    <link rel="self" href="https://example.com/api/1"/>
    <link rel="alternate" type="text/html" href="https://example.com/world/2024/mar/05/first"/>
    <id>urn:uuid:1</id>
    <published>2024-03-05T10:00:00Z</published>
    <updated>2024-03-05T12:30:00+01:00</updated>
    <author><name>Jane Doe</name><email>jane@example.com</email></author>
    <author><name>John Roe</name></author>
  </entry>
  <entry xml:lang="fr">
    <title>Second</title>
    <link href="/world/2024/mar/05/second"/>
    <id>tag:example.com,2024:2</id>
  </entry>
  <entry>
    <title>Id is the link</title>
    <id>https://example.com/third</id>
    <updated>2024-03-04</updated>
  </entry>
</feed>"""

RDF = b"""<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://example.com/">
    <title>RDF Feed</title>
    <dc:language>fr</dc:language>
    <items><rdf:Seq><rdf:li rdf:resource="https://example.com/a"/></rdf:Seq></items>
  </channel>
  <item rdf:about="https://example.com/a">
    <title>Article A</title>
    <link>https://example.com/a</link>
    <dc:date>2024-03-05T10:00:00+01:00</dc:date>
    <dc:creator>Marie Curie</dc:creator>
  </item>
  <item rdf:about="https://example.com/b">
    <title>Article B (link from rdf:about)</title>
  </item>
</rdf:RDF>"""


def test_rss2_items_give_url_title_authors_date_and_language() -> None:
    feed = parse_feed(RSS, BASE)
    assert feed.kind == "rss"
    assert feed.title == "Beispiel & Co"
    assert feed.language == "de"
    assert feed.entries[0] == FeedEntry(
        url="https://example.com/inland/1-streik.html",
        title="Streik im Hafen & mehr",
        authors=("Anna Petrowa", "Jens Köhler"),
        published_at=datetime(2024, 3, 5, 9, 15, tzinfo=UTC),
        updated_at=None,
        language="de",
    )


def test_rss2_relative_link_is_resolved_and_author_email_is_reduced_to_name() -> None:
    entry = parse_feed(RSS, BASE).entries[1]
    assert entry.url == "https://example.com/wirtschaft/2-boerse.html"
    assert entry.authors == ("Max Mustermann",)


def test_rss2_invalid_pubdate_is_none_not_an_error() -> None:
    assert parse_feed(RSS, BASE).entries[1].published_at is None


def test_rss2_permalink_guid_is_used_when_link_is_missing() -> None:
    entry = parse_feed(RSS, BASE).entries[2]
    assert entry.url == "https://example.com/guid-3.html"
    assert entry.authors == ()  # a bare e-mail address is not a name


def test_rss2_items_without_usable_link_are_skipped() -> None:
    assert len(parse_feed(RSS, BASE).entries) == 3


def test_rss_pubdate_with_iso_date_and_zone_names_is_parsed() -> None:
    body = (
        b"<rss><channel><item><link>/a</link><pubDate>2024-03-05T10:00:00Z</pubDate></item>"
        b"<item><link>/b</link><pubDate>Tue, 05 Mar 2024 10:00:00 GMT</pubDate></item>"
        b"<item><link>/c</link><pubDate>05 Mar 2024 05:00:00 EST</pubDate></item>"
        b"<item><link>/d</link><pubDate>Di, 05 Mar 2024 10:00:00 +0000</pubDate></item>"
        b"</channel></rss>"
    )
    dates = {e.published_at for e in parse_feed(body, BASE).entries}
    assert dates == {datetime(2024, 3, 5, 10, tzinfo=UTC)}


def test_atom_entries_use_alternate_link_published_updated_and_author_names() -> None:
    feed = parse_feed(ATOM, BASE)
    assert feed.kind == "atom"
    assert feed.title == "World & more"
    first = feed.entries[0]
    assert first.url == "https://example.com/world/2024/mar/05/first"
    assert first.published_at == datetime(2024, 3, 5, 10, tzinfo=UTC)
    assert first.updated_at == datetime(2024, 3, 5, 11, 30, tzinfo=UTC)
    assert first.authors == ("Jane Doe", "John Roe")
    assert first.language == "en"


def test_atom_link_without_rel_is_relative_and_resolved() -> None:
    second = parse_feed(ATOM, BASE).entries[1]
    assert second.url == "https://example.com/world/2024/mar/05/second"
    assert second.language == "fr"
    assert second.published_at is None
    assert second.updated_at is None


def test_atom_http_id_is_the_link_of_last_resort() -> None:
    third = parse_feed(ATOM, BASE).entries[2]
    assert third.url == "https://example.com/third"
    assert third.updated_at == datetime(2024, 3, 4, tzinfo=UTC)


def test_atom_xml_base_is_honoured() -> None:
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://cdn.example.com/base/">'
        b'<entry><link href="x.html"/></entry></feed>'
    )
    assert parse_feed(body, BASE).entries[0].url == "https://cdn.example.com/base/x.html"


def test_rdf_items_give_dc_date_creator_and_channel_language() -> None:
    feed = parse_feed(RDF, BASE)
    assert feed.kind == "rdf"
    assert feed.title == "RDF Feed"
    a, b = feed.entries
    assert a.url == "https://example.com/a"
    assert a.published_at == datetime(2024, 3, 5, 9, tzinfo=UTC)
    assert a.authors == ("Marie Curie",)
    assert a.language == "fr"
    assert b.url == "https://example.com/b"
    assert b.published_at is None


def test_gzipped_feed_is_parsed() -> None:
    assert parse_feed(gzip.compress(RDF), BASE).kind == "rdf"


def test_feed_without_namespaces_or_dates_still_lists_links() -> None:
    body = b"<rss><channel><item><link>https://example.com/x</link></item></channel></rss>"
    (entry,) = parse_feed(body, BASE).entries
    assert entry == FeedEntry(url="https://example.com/x")


def test_html_served_as_feed_is_a_discovery_error_naming_html() -> None:
    body = b"""<!DOCTYPE html>
<html lang="de"><head><meta charset="utf-8"><title>Fehler</title></head>
<body><p>Der Feed ist nicht erreichbar &nbsp; <br> <img src=x></p></body></html>"""
    with pytest.raises(DiscoveryError, match=r"feed is not RSS, Atom or RDF.*<html>"):
        parse_feed(body, BASE)


def test_not_xml_is_a_discovery_error_saying_feed_is_not_xml() -> None:
    with pytest.raises(DiscoveryError, match=r"^feed is not XML: "):
        parse_feed(b'{"json": "instead of a feed"}', BASE)


def test_empty_feed_body_is_a_discovery_error() -> None:
    with pytest.raises(DiscoveryError, match="empty"):
        parse_feed(b"", BASE)


def test_feed_with_unescaped_ampersand_is_recovered() -> None:
    body = b"<rss><channel><title>A & B</title><item><link>/a</link></item></channel></rss>"
    assert parse_feed(body, BASE).entries[0].url == "https://example.com/a"


def test_windows_1251_feed_is_decoded() -> None:
    body = (
        '<?xml version="1.0" encoding="windows-1251"?><rss><channel><title>Новости</title>'
        "<item><title>Далее</title><link>https://example.ru/a</link></item></channel></rss>"
    ).encode("cp1251")
    feed = parse_feed(body, BASE)
    assert (feed.title, feed.entries[0].title) == ("Новости", "Далее")


def test_feed_items_beyond_max_entries_are_dropped() -> None:
    items = b"".join(b"<item><link>/%d</link></item>" % i for i in range(20))
    body = b"<rss><channel>" + items + b"</channel></rss>"
    assert len(parse_feed(body, BASE, max_entries=3).entries) == 3


# --- the web as it is (issue 21) -------------------------------------------------------


def test_bare_ampersand_in_link_is_kept_and_html_entity_names_become_characters() -> None:
    body = (
        b"<rss><channel><title>Caf&eacute; &amp; Bar&nbsp;Blog</title><item>"
        b"<title>Caf&eacute; &amp; Bar</title>"
        b"<link>https://example.com/a?x=1&y=2&utm_source=rss</link></item>"
        b"<item><title>Tom & Jerry &unknown; &#233;t&#xE9;</title><link>/b?p=3&q</link></item>"
        b"</channel></rss>"
    )
    feed = parse_feed(body, BASE)
    assert feed.title == "Café & Bar Blog"  # &nbsp; is a space like any other
    first, second = feed.entries
    assert first.url == "https://example.com/a?x=1&y=2&utm_source=rss"
    assert first.title == "Café & Bar"
    assert second.url == "https://example.com/b?p=3&q"
    assert second.title == "Tom & Jerry &unknown; été"


def test_cdata_is_left_alone_when_a_feed_is_repaired() -> None:
    body = (
        b"<rss><channel><item><title><![CDATA[R&D &eacute; <b>x</b>]]></title>"
        b"<link>https://example.com/a?x=1&y=2</link></item></channel></rss>"
    )
    (entry,) = parse_feed(body, BASE).entries
    assert entry.url == "https://example.com/a?x=1&y=2"
    assert entry.title == "R&D é x"  # the feed's HTML title, unescaped once as before


RSS_ITEM = b"<rss version='2.0'><channel><item><link>/a</link></item></channel></rss>"


@pytest.mark.parametrize(
    "junk",
    [
        b"<br />\n<b>Warning</b>:  Cannot modify header information in "
        b"<b>/var/www/feed.php</b> on line <b>12</b><br />\n",
        b"Notice: Undefined index: page in /srv/www/rss.php on line 7\n",
        b"\n\n",
        b"\xef\xbb\xbf \r\n\t",
        b"\r\n\xef\xbb\xbf<br/>\n",
    ],
    ids=["php-warning", "php-notice", "blank-lines", "bom-and-space", "space-bom-and-tag"],
)
def test_junk_before_the_xml_declaration_is_skipped(junk: bytes) -> None:
    body = junk + b'<?xml version="1.0" encoding="utf-8"?>\n' + RSS_ITEM
    assert [e.url for e in parse_feed(body, BASE).entries] == ["https://example.com/a"]


def test_junk_before_an_undeclared_feed_is_skipped_up_to_its_root() -> None:
    body = b"<br />\n<b>Deprecated</b>: function x() is deprecated<br />\n" + RSS_ITEM
    assert [e.url for e in parse_feed(body, BASE).entries] == ["https://example.com/a"]


def test_rss_091_items_beside_the_channel_are_read() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="0.91"><channel><title>Old</title>'
        b"<link>https://example.com/</link><language>en-us</language></channel>"
        b"<item><title>One</title><link>https://example.com/one</link></item>"
        b"<item><title>Two</title><link>/two</link></item></rss>"
    )
    feed = parse_feed(body, BASE)
    assert [(e.url, e.title, e.language) for e in feed.entries] == [
        ("https://example.com/one", "One", "en"),
        ("https://example.com/two", "Two", "en"),
    ]


def test_rss_relative_link_resolves_against_the_channel_xml_base() -> None:
    body = (
        b'<rss version="2.0"><channel xml:base="https://news.example.org/section/">'
        b"<item><link>2025/story.html</link></item>"
        b'<item xml:base="/other/"><link>x.html</link></item>'
        b"</channel></rss>"
    )
    assert [e.url for e in parse_feed(body, BASE).entries] == [
        "https://news.example.org/section/2025/story.html",
        "https://news.example.org/other/x.html",
    ]


def test_truncated_feed_drops_the_item_the_cut_interrupted() -> None:
    body = (
        b"<rss><channel><title>T &amp; U</title>"
        b"<item><link>https://example.com/page_1?a=1&b=2</link></item>"
        b"<item><link>https://example.com/page_"
    )
    assert [e.url for e in parse_feed(body, BASE).entries] == ["https://example.com/page_1?a=1&b=2"]


def test_doctype_with_the_xhtml_latin1_entity_set_is_parsed_with_entities_as_text() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE rss [
  <!ENTITY % HTMLlat1 PUBLIC "-//W3C//ENTITIES Latin 1 for XHTML//EN"
     "http://www.w3.org/TR/xhtml1/DTD/xhtml-lat1.ent">
  %HTMLlat1;
]>
<rss version="2.0"><channel><title>Le Caf&eacute;</title>
<item><title>No&euml;l &amp; f&ecirc;tes</title><link>https://example.com/noel</link></item>
</channel></rss>"""
    feed = parse_feed(body, BASE)
    assert feed.title == "Le Café"
    assert [(e.url, e.title) for e in feed.entries] == [
        ("https://example.com/noel", "Noël & fêtes")
    ]


def test_doctype_with_one_internal_entity_is_parsed_with_the_entity_unexpanded() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY site "Example News">]>'
        b"<rss><channel><title>&site; Feed</title>"
        b"<item><title>On &site;</title><link>https://example.com/a</link></item>"
        b"</channel></rss>"
    )
    feed = parse_feed(body, BASE)
    assert feed.title == "&site; Feed"
    assert [(e.url, e.title) for e in feed.entries] == [("https://example.com/a", "On &site;")]


def test_rfc822_dates_in_atom_published_and_updated_are_read() -> None:
    body = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><link href="/a"/>'
        b"<published>Tue, 10 Jun 2025 10:00:00 +02:00</published>"
        b"<updated>Tue, 10 Jun 2025 12:30:00 CEST</updated></entry></feed>"
    )
    (entry,) = parse_feed(body, BASE).entries
    assert entry.published_at == datetime(2025, 6, 10, 8, tzinfo=UTC)
    assert entry.updated_at == datetime(2025, 6, 10, 10, 30, tzinfo=UTC)


def test_pubdate_offsets_zone_names_and_date_only_forms_are_read() -> None:
    dates = [
        "Tue, 10 Jun 2025 10:00:00 +02:00",
        "Tue, 10 Jun 2025 09:01:00 GMT-01:01",
        "Tue, 10 Jun 2025 11:00:00 MSK",
        "Tue, 10 Jun 2025 17:00:00 JST",
        "Thu, 01 Jan 2004",
    ]
    items = "".join(
        f"<item><link>/{i}</link><pubDate>{d}</pubDate></item>" for i, d in enumerate(dates)
    )
    body = f"<rss><channel>{items}</channel></rss>".encode()
    assert [e.published_at for e in parse_feed(body, BASE).entries] == [
        datetime(2025, 6, 10, 8, tzinfo=UTC),
        datetime(2025, 6, 10, 10, 2, tzinfo=UTC),
        datetime(2025, 6, 10, 8, tzinfo=UTC),
        datetime(2025, 6, 10, 8, tzinfo=UTC),
        datetime(2004, 1, 1, tzinfo=UTC),
    ]


def test_ambiguous_zone_name_is_read_as_the_sources_country_uses_it() -> None:
    body = (
        b"<rss><channel><item><link>/a</link>"
        b"<pubDate>Tue, 10 Jun 2025 10:00:00 IST</pubDate></item></channel></rss>"
    )

    def published(country: str | None) -> datetime | None:
        return parse_feed(body, BASE, country=country).entries[0].published_at

    assert published("IN") == datetime(2025, 6, 10, 4, 30, tzinfo=UTC)
    assert published("IE") == datetime(2025, 6, 10, 9, tzinfo=UTC)
    assert published("IL") == datetime(2025, 6, 10, 8, tzinfo=UTC)
    assert published(None) == published("IN")  # India's IST when nothing says otherwise


def _legacy_feed(title: str, encoding: str, declared: bool = False) -> bytes:
    declaration = f'<?xml version="1.0" encoding="{encoding}"?>' if declared else ""
    return (
        f"{declaration}<rss><channel><title>{title}</title>"
        f"<item><title>{title}</title><link>https://example.com/a</link></item>"
        "</channel></rss>"
    ).encode(encoding)


def test_undeclared_koi8r_feed_is_read_with_the_http_charset() -> None:
    body = _legacy_feed("Новости дня", "koi8-r")
    feed = parse_feed(body, BASE, encoding="koi8-r")
    assert (feed.title, feed.entries[0].title) == ("Новости дня", "Новости дня")


def test_undeclared_windows1252_feed_is_read_with_the_http_charset() -> None:
    body = _legacy_feed("„Grüße“ – café", "cp1252")
    assert parse_feed(body, BASE, encoding="windows-1252").title == "„Grüße“ – café"


def test_undeclared_utf8_feed_stays_utf8_whatever_the_http_charset_says() -> None:
    body = _legacy_feed("Grüße – Новости", "utf-8")
    assert parse_feed(body, BASE, encoding="koi8-r").title == "Grüße – Новости"


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "http-charset"])
def test_iso_8859_1_is_read_as_windows_1252(declared: bool) -> None:
    body = _legacy_feed("“Smart” quotes – and € signs", "cp1252")
    if declared:
        body = b'<?xml version="1.0" encoding="ISO-8859-1"?>' + body
    feed = parse_feed(body, BASE, encoding=None if declared else "iso-8859-1")
    assert feed.title == "“Smart” quotes – and € signs"
    assert not any("\x80" <= c <= "\x9f" for c in feed.title or "")


def test_the_declared_encoding_wins_over_the_http_charset() -> None:
    body = _legacy_feed("Новости", "windows-1251", declared=True)
    assert parse_feed(body, BASE, encoding="koi8-r").title == "Новости"

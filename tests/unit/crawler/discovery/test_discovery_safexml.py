"""Hostile XML and compression: caps, bombs, entities, XXE."""

from __future__ import annotations

import gzip
import tracemalloc
from pathlib import Path

import pytest

from crawler.discovery import DiscoveryError, maybe_gunzip, parse_feed, parse_sitemap
from crawler.discovery.safexml import parse_xml

BASE = "https://example.com/sitemap.xml"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<urlset><url><loc>https://example.com/&lol9;</loc></url></urlset>"""


def _xxe(target: str, root: str = "urlset") -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE {root} [<!ENTITY xxe SYSTEM "{target}">]>'
        f"<{root}><url><loc>https://example.com/&xxe;</loc></url></{root}>"
    ).encode()


def test_plain_body_is_returned_unchanged_by_maybe_gunzip() -> None:
    assert maybe_gunzip(b"<urlset/>", 100) == b"<urlset/>"


def test_gzip_body_is_inflated() -> None:
    assert maybe_gunzip(gzip.compress(b"<urlset/>"), 100) == b"<urlset/>"


def test_concatenated_gzip_members_are_all_inflated() -> None:
    assert maybe_gunzip(gzip.compress(b"ab") + gzip.compress(b"cd"), 100) == b"abcd"


def test_gzip_bomb_is_rejected_before_inflating_past_cap() -> None:
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)
    tracemalloc.start()
    try:
        with pytest.raises(DiscoveryError, match=r"inflates past 1048576 bytes"):
            maybe_gunzip(bomb, 1024 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024  # inflating it all would hold 64 MiB


def test_gzip_body_exactly_at_cap_is_accepted() -> None:
    assert len(maybe_gunzip(gzip.compress(b"x" * 1000), 1000)) == 1000


def test_truncated_gzip_is_a_discovery_error() -> None:
    with pytest.raises(DiscoveryError, match="truncated"):
        maybe_gunzip(gzip.compress(b"<urlset/>" * 100)[:-12], 10_000)


def test_corrupt_gzip_is_a_discovery_error() -> None:
    with pytest.raises(DiscoveryError, match="corrupt"):
        maybe_gunzip(b"\x1f\x8b\x08\x00garbage-garbage-garbage", 10_000)


def test_plain_body_over_cap_is_rejected() -> None:
    with pytest.raises(DiscoveryError, match="over the 10 byte cap"):
        maybe_gunzip(b"<urlset></urlset>", 10)


def test_billion_laughs_is_rejected_at_its_entity_declarations() -> None:
    with pytest.raises(DiscoveryError, match="declares XML entities"):
        parse_sitemap(BILLION_LAUGHS, BASE)
    with pytest.raises(DiscoveryError, match="declares XML entities"):
        parse_feed(BILLION_LAUGHS.replace(b"urlset", b"rss"), BASE)


def test_billion_laughs_in_utf16_is_rejected() -> None:
    body = BILLION_LAUGHS.decode().replace('version="1.0"', 'version="1.0" encoding="UTF-16"')
    with pytest.raises(DiscoveryError):
        parse_sitemap(body.encode("utf-16"), BASE)


def test_utf7_billion_laughs_is_refused_for_its_encoding() -> None:
    markup = BILLION_LAUGHS.decode().split("?>", 1)[1]
    hidden = markup.replace("<", "+ADw-").replace("&", "+ACY-").encode()
    with pytest.raises(DiscoveryError, match="'UTF-7' is not supported"):
        parse_sitemap(b'<?xml version="1.0" encoding="UTF-7"?>' + hidden, BASE)


def test_ebcdic_document_is_refused() -> None:
    body = '<?xml version="1.0" encoding="cp037"?><urlset/>'.encode("cp037")
    with pytest.raises(DiscoveryError, match="EBCDIC"):
        parse_sitemap(body, BASE)


def test_ascii_compatible_legacy_encodings_are_accepted() -> None:
    for encoding in ("windows-1251", "koi8-r", "iso-8859-1", "shift_jis"):
        body = (
            f'<?xml version="1.0" encoding="{encoding}"?>'
            "<urlset><url><loc>https://example.com/a</loc></url></urlset>"
        ).encode(encoding)
        assert parse_sitemap(body, BASE).entries[0].url == "https://example.com/a"


def test_xxe_entity_is_rejected_and_never_reads_etc_passwd() -> None:
    with pytest.raises(DiscoveryError, match="declares XML entities") as info:
        parse_sitemap(_xxe("file:///etc/passwd"), BASE)
    assert "root:" not in str(info.value)


def test_xxe_parameter_entity_is_rejected() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>'
        b"<rss><channel/></rss>"
    )
    with pytest.raises(DiscoveryError, match="declares XML entities"):
        parse_feed(body, BASE)


def test_external_dtd_is_never_loaded_from_the_file_system(tmp_path: Path) -> None:
    # If the parser loaded this "DTD" it would fail on its content (or worse, use it).
    secret = tmp_path / "secret.dtd"
    secret.write_text("SECRET-CONTENT <<< not a DTD at all >>>")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE urlset SYSTEM "{secret.as_uri()}">'
        "<urlset><url><loc>https://example.com/a</loc></url></urlset>"
    ).encode()
    sitemap = parse_sitemap(body, BASE)
    assert [e.url for e in sitemap.entries] == ["https://example.com/a"]


def test_doctype_without_entities_is_accepted() -> None:
    body = (
        b'<?xml version="1.0"?>\n'
        b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"'
        b' "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n'
        b"<rss version='0.91'><channel><title>T</title>"
        b"<item><link>https://example.com/a</link></item></channel></rss>"
    )
    assert parse_feed(body, BASE).entries[0].url == "https://example.com/a"


def test_bom_and_leading_whitespace_are_tolerated() -> None:
    root = parse_xml(b"\xef\xbb\xbf \n\t<?xml version='1.0'?><urlset/>")
    assert root.tag == "urlset"


def test_oversized_document_is_rejected_with_cap_in_message() -> None:
    body = b"<urlset>" + b"<url><loc>https://example.com/</loc></url>" * 100 + b"</urlset>"
    with pytest.raises(DiscoveryError, match="byte cap"):
        parse_sitemap(body, BASE, max_size=1000)


# --- entity declarations that cannot expand, encodings (issue 21) ----------------------


def test_internal_entity_referring_to_another_is_refused() -> None:
    body = (
        b'<!DOCTYPE r [<!ENTITY a "x"><!ENTITY b "&a;&a;">]>'
        b"<urlset><url><loc>https://example.com/a</loc></url></urlset>"
    )
    with pytest.raises(DiscoveryError, match="entity 'b' refers to other entities"):
        parse_sitemap(body, BASE)


def test_external_entity_with_public_id_is_refused() -> None:
    body = (
        b'<!DOCTYPE r [<!ENTITY x PUBLIC "-//X//EN" "http://127.0.0.2:9/x">]>'
        b"<urlset><url><loc>https://example.com/&x;</loc></url></urlset>"
    )
    with pytest.raises(DiscoveryError, match=r"declares XML entities.*external"):
        parse_sitemap(body, BASE)


def test_unreadable_entity_declaration_is_refused() -> None:
    body = b"<!DOCTYPE r [<!ENTITY x>]><urlset/>"
    with pytest.raises(DiscoveryError, match="declares XML entities"):
        parse_sitemap(body, BASE)


def test_benign_doctype_is_dropped_and_nothing_is_loaded(tmp_path: Path) -> None:
    secret = tmp_path / "lat1.ent"
    secret.write_text('<!ENTITY eacute "SECRET">')
    body = (
        f'<!DOCTYPE rss [<!ENTITY % lat1 PUBLIC "-//W3C//ENTITIES Latin 1 for XHTML//EN" '
        f'"{secret.as_uri()}"> %lat1; <!ENTITY one "1">]>'
        "<rss><channel><title>caf&eacute; &one;</title></channel></rss>"
    ).encode()
    assert parse_feed(body, BASE).title == "café &one;"


def test_repair_escapes_stray_ampersands_and_keeps_cdata_and_comments() -> None:
    from crawler.discovery.safexml import repair_xml

    assert repair_xml(b"<a>x&y &amp; &#38; &#x26; &eacute; &bogus; &#0;\x01</a>") == (
        b"<a>x&amp;y &amp; &#38; &#x26; &#233; &amp;bogus; </a>"
    )
    assert repair_xml(b"<a><![CDATA[x&y]]><!-- a&b --></a>") == (
        b"<a><![CDATA[x&y]]><!-- a&b --></a>"
    )


def test_windows1252_bytes_undefined_in_python_are_kept_as_c1_like_browsers() -> None:
    from crawler.discovery.safexml import prepare_xml

    body = b'<?xml version="1.0" encoding="windows-1252"?><a>\x93x\x94 \x81</a>'
    prepared = prepare_xml(body)
    assert prepared == '<?xml version="1.0" encoding="UTF-8"?><a>\u201cx\u201d \x81</a>'.encode()


def test_undeclared_non_utf8_without_charset_is_read_as_windows1252() -> None:
    body = "<rss><channel><title>Caf\xe9 \u2013 \u201ctest\u201d</title></channel></rss>"
    assert parse_feed(body.encode("cp1252"), BASE).title == "Café – “test”"


def test_utf16_feed_with_bom_is_read() -> None:
    body = '<?xml version="1.0" encoding="UTF-16"?><rss><channel><title>Новости</title>'
    body += "<item><link>https://example.com/a?x=1&y=2</link></item></channel></rss>"
    feed = parse_feed(body.encode("utf-16"), BASE)
    assert feed.title == "Новости"
    assert feed.entries[0].url == "https://example.com/a?x=1&y=2"


def test_document_of_undefined_entities_is_refused_not_recovered_node_by_node() -> None:
    body = b"<urlset><url><loc>https://example.com/" + b"&a;" * 100_000 + b"</loc></url></urlset>"
    # lenient parsing would build a node per reference (~230 bytes each, 700 MB for 9 MB)
    with pytest.raises(DiscoveryError, match="too broken to repair"):
        parse_sitemap(body, BASE)


def test_entity_declarations_in_a_misplaced_doctype_are_still_refused() -> None:
    body = (
        b"<!-- cache --><urlset><!DOCTYPE urlset [<!ENTITY a 'x'>]>"
        b"<url><loc>https://example.com/&a;</loc></url></urlset>"
    )
    with pytest.raises(DiscoveryError, match="declares XML entities"):
        parse_sitemap(body, BASE)

"""robots.txt sitemaps, link extraction, pagination and freshness."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from crawler.discovery import extract_links, is_fresh, pagination_links, sitemaps_from_robots

BASE = "https://www.example.com/politik/"


def test_robots_sitemaps_are_listed_in_order_resolved_and_deduplicated() -> None:
    text = (
        "\ufeffUser-agent: *\nDisallow: /private/\n"
        "Sitemap: https://www.example.com/sitemap_index.xml\n"
        "SITEMAP:https://www.example.com/news.xml # news\n"
        "sitemap: /relative.xml\n"
        "Sitemap: https://www.example.com/sitemap_index.xml\n"
        "# Sitemap: https://www.example.com/commented.xml\n"
        "Sitemap: javascript:alert(1)\n"
        "Sitemap:\n"
    )
    assert sitemaps_from_robots(text, "https://www.example.com/robots.txt") == (
        "https://www.example.com/sitemap_index.xml",
        "https://www.example.com/news.xml",
        "https://www.example.com/relative.xml",
    )


def test_robots_sitemap_line_without_its_colon_is_read() -> None:
    text = (
        "User-agent: *\n"
        "Sitemap https://www.example.com/news-sitemap.xml\n"
        "sitemap\thttps://www.example.com/tab.xml\n"
        "Sitemaps: https://www.example.com/not-a-field.xml\n"
        "SitemapX https://www.example.com/neither.xml\n"
    )
    assert sitemaps_from_robots(text, "https://www.example.com/robots.txt") == (
        "https://www.example.com/news-sitemap.xml",
        "https://www.example.com/tab.xml",
    )


def test_robots_with_more_than_a_thousand_sitemaps_lists_them_all() -> None:
    text = "".join(f"Sitemap: https://example.com/sitemap-{i}.xml\n" for i in range(2500))
    found = sitemaps_from_robots(text, "https://example.com/robots.txt")
    assert len(found) == 2500
    assert found[-1] == "https://example.com/sitemap-2499.xml"


def test_robots_sitemap_cap_is_logged_when_hit(caplog: pytest.LogCaptureFixture) -> None:
    text = "".join(f"Sitemap: /s-{i}.xml\n" for i in range(30))
    with caplog.at_level(logging.WARNING, logger="crawler.discovery.robots"):
        found = sitemaps_from_robots(text, "https://example.com/robots.txt", max_sitemaps=20)
    assert len(found) == 20
    assert "lists more than 20 sitemaps" in caplog.text


def test_robots_sitemap_cap_is_not_logged_when_exactly_reached(
    caplog: pytest.LogCaptureFixture,
) -> None:
    text = "".join(f"Sitemap: /s-{i}.xml\n" for i in range(20)) + "Sitemap: /s-0.xml\n"
    with caplog.at_level(logging.WARNING, logger="crawler.discovery.robots"):
        found = sitemaps_from_robots(text, "https://example.com/robots.txt", max_sitemaps=20)
    assert len(found) == 20
    assert caplog.text == ""


def test_robots_without_sitemaps_gives_empty_tuple() -> None:
    assert sitemaps_from_robots("User-agent: *\nDisallow:\n", "https://example.com/") == ()
    assert sitemaps_from_robots("", "https://example.com/") == ()


def test_links_are_resolved_deduplicated_and_stripped_of_fragments() -> None:
    html = b"""<html><body>
      <a href="/politik/1-a.html#comments">A</a>
      <a href="2-b.html">B</a>
      <a href="/politik/1-a.html">A again</a>
      <a href="https://other.example.org/x">offsite</a>
      <a href="#top">top</a>
      <a>no href</a>
    </body></html>"""
    assert extract_links(html, BASE) == (
        "https://www.example.com/politik/1-a.html",
        "https://www.example.com/politik/2-b.html",
        "https://other.example.org/x",
        "https://www.example.com/politik/",
    )


def test_links_with_unsafe_schemes_or_credentials_are_dropped() -> None:
    html = """
      <a href="javascript:alert(1)">j</a><a href="mailto:a@example.com">m</a>
      <a href="data:text/html,hi">d</a><a href="file:///etc/passwd">f</a>
      <a href="ftp://example.com/x">ftp</a><a href="tel:+49">t</a>
      <a href="https://user:pw@www.example.com/x">creds</a>
      <a href="https://evil.example@www.example.com/x">at</a>
      <a href="  https://www.example.com/ok  ">ok</a>"""
    assert extract_links(html, BASE) == ("https://www.example.com/ok",)


def test_base_href_is_honoured() -> None:
    html = '<html><head><base href="https://www.example.com/wirtschaft/"></head><a href="x">x</a>'
    assert extract_links(html, BASE) == ("https://www.example.com/wirtschaft/x",)


def test_link_count_is_capped() -> None:
    html = "".join(f'<a href="/a{i}">{i}</a>' for i in range(100))
    assert len(extract_links(html, BASE, max_links=10)) == 10


def test_empty_or_garbage_html_gives_no_links() -> None:
    assert extract_links(b"", BASE) == ()
    assert extract_links(b"\x00\xff\xfe<<<>>>", BASE) == ()


def test_pagination_finds_rel_next_container_words_and_page_numbers() -> None:
    html = """<html><head><link rel="next" href="?page=2"></head><body>
      <a href="/politik/artikel-123.html">Artikel</a>
      <nav class="pagination"><a href="/politik/seite/3">drei</a></nav>
      <a href="/politik/seite/4">4</a>
      <a href="/politik/artikel-12.html">7</a>
      <a href="/politik/weiter">Weiter »</a>
      <a href="/politik/suivant">Page suivante</a>
      <a href="/politik/sig">Siguiente</a>
      <a href="/politik/dalee">Далее</a>
      <a href="/politik/arrow">»</a>
      <a href="https://other.example.org/next">next</a>
      <a href="/politik/" rel="next">self</a>
    </body></html>"""
    assert pagination_links(html, BASE) == (
        "https://www.example.com/politik/?page=2",
        "https://www.example.com/politik/seite/3",
        "https://www.example.com/politik/seite/4",
        "https://www.example.com/politik/weiter",
        "https://www.example.com/politik/suivant",
        "https://www.example.com/politik/sig",
        "https://www.example.com/politik/dalee",
        "https://www.example.com/politik/arrow",
    )


def test_pagination_accepts_the_www_less_host() -> None:
    html = '<a rel="next" href="https://example.com/politik/2">next</a>'
    assert pagination_links(html, BASE) == ("https://example.com/politik/2",)


def test_bytes_without_declared_charset_are_read_as_utf8() -> None:
    html = '<a href="/politik/n">Далее »</a>'.encode()
    assert pagination_links(html, BASE) == ("https://www.example.com/politik/n",)


def test_bytes_with_declared_charset_use_it() -> None:
    html = '<meta charset="windows-1251"><a href="/politik/n">Далее</a>'.encode("cp1251")
    assert pagination_links(html, BASE) == ("https://www.example.com/politik/n",)


def test_page_without_pagination_gives_nothing() -> None:
    assert pagination_links("<p>Nur Text <a href='/a'>Ein Artikel</a></p>", BASE) == ()


NOW = datetime(2024, 3, 10, 12, tzinfo=UTC)


def test_undated_entries_are_fresh() -> None:
    assert is_fresh(None, 7, NOW)


def test_entries_within_max_age_are_fresh_and_older_ones_are_not() -> None:
    assert is_fresh(NOW - timedelta(days=7), 7, NOW)
    assert is_fresh(NOW + timedelta(hours=1), 7, NOW)
    assert not is_fresh(NOW - timedelta(days=7, seconds=1), 7, NOW)


def test_naive_datetimes_are_taken_as_utc_for_freshness() -> None:
    assert is_fresh(datetime(2024, 3, 10), 1, NOW)
    assert not is_fresh(datetime(2024, 3, 1), 1, NOW.replace(tzinfo=None))

"""``extract_article`` end to end on small pages: cleaning, hints, rejections, purity."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest

from crawler.extraction import (
    EXTRACTOR_VERSION,
    ArticleRecord,
    Hints,
    Rejection,
    extract_article,
)

PARAGRAPHS = [
    "Die Fähre zwischen Rostock und Gedser fährt ab Montag wieder nach dem Winterfahrplan. "
    "Die Reederei hatte den Betrieb wegen Sturms für drei Tage eingestellt.",
    "Reisende mit gültigen Tickets können ohne Aufpreis umbuchen. Lastwagen werden bevorzugt "
    "abgefertigt, weil sich vor dem Terminal eine lange Schlange gebildet hat.",
    "Die Hafenverwaltung kündigte an, die Wartebereiche zu beheizen und Getränke auszugeben. "
    "Ein Sprecher sprach von „außergewöhnlichen Wetterbedingungen“ in dieser Woche.",
    "Für das Wochenende erwarten Meteorologen ruhigeres Wetter. Dann sollen auch zusätzliche "
    "Abfahrten am Abend angeboten werden, um den Rückstau abzubauen.",
]


def page(*, head: str = "", top: str = "", bottom: str = "", lang: str = "de") -> str:
    body = "\n".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return (
        f'<html lang="{lang}"><head><title>Fähre fährt wieder</title>{head}</head><body>'
        '<nav><a href="/">Start</a> <a href="/a">Regional</a></nav>'
        f"<article><h1>Fähre fährt wieder</h1>{top}{body}{bottom}</article>"
        "<footer><p>Impressum</p></footer></body></html>"
    )


def record(html: str | bytes, url: str = "https://example.org/a", **kw: object) -> ArticleRecord:
    result = extract_article(html, url, **kw)  # type: ignore[arg-type]
    assert isinstance(result, ArticleRecord), result
    return result


def test_title_line_is_not_repeated_in_the_text() -> None:
    rec = record(page())
    assert rec.title == "Fähre fährt wieder"
    assert not rec.text.startswith("Fähre fährt wieder")


def test_paragraphs_are_separated_by_one_blank_line_and_quotes_kept() -> None:
    rec = record(page())
    assert rec.text.count("\n\n") == len(PARAGRAPHS) - 1
    assert "„außergewöhnlichen Wetterbedingungen“" in rec.text


def test_byline_and_date_header_move_out_of_the_text() -> None:
    rec = record(page(top="<p>Datum: 13. Februar 2025</p><p>Von Anna Beispiel (dpa)</p>"))
    assert rec.byline == "Von Anna Beispiel (dpa)"
    assert rec.authors == ("Anna Beispiel",)
    assert rec.published_raw == "13. Februar 2025"
    assert rec.published_precision == "day"
    assert "Anna Beispiel" not in rec.text
    assert "13. Februar 2025" not in rec.text


def test_teaser_at_the_end_is_not_in_the_text() -> None:
    rec = record(page(bottom='<p><a href="/x">Mehr zum Thema – Sturm an der Küste</a></p>'))
    assert "Mehr zum Thema" not in rec.text


def test_demo_articles_end_with_their_last_paragraph_not_a_read_more_teaser() -> None:
    import json

    from crawler.demo import DEMO_SITE

    expected = json.loads((DEMO_SITE / "_expected.json").read_text(encoding="utf-8"))
    for path, facts in expected.items():
        if not path.startswith("/"):
            continue
        html = (DEMO_SITE / path.lstrip("/")).read_text(encoding="utf-8")
        rec = record(
            html.replace("__BASE__", "https://demo.example"), "https://demo.example" + path
        )
        assert rec.text.split("\n\n")[-1] == facts["last_paragraph"], path  # "Больше по теме –"


@pytest.mark.parametrize(
    ("lead_in", "headline"),
    [
        ("Больше по теме –", "Мост через Северку закроют на полгода"),
        ("Ещё по теме:", "Новый трамвай пойдёт до северных кварталов"),
        ("Weitere Artikel zum Thema", "Der Hafen steht still, die Kräne auch"),
        ("Further reading:", "The harbour strike enters its second week"),
        ("Más información:", "La huelga del puerto entra en su segunda semana"),
        ("Pour aller plus loin :", "La grève du port entre dans sa deuxième semaine"),
    ],
)
def test_read_more_teasers_of_several_languages_are_not_in_the_text(
    lead_in: str, headline: str
) -> None:
    rec = record(page(bottom=f'<p>{lead_in} <a href="/x">{headline}</a></p>'))
    assert lead_in not in rec.text and headline not in rec.text


def test_translation_note_moves_from_text_to_translation() -> None:
    note = "Übersetzt aus dem Russischen."
    rec = record(page(bottom=f"<p>{note}</p>"))
    assert rec.translation is not None
    assert rec.translation.note == note
    assert rec.translation.source_language == "ru"
    assert note not in rec.text


def test_lead_equal_to_the_first_paragraph_is_not_repeated_in_the_text() -> None:
    head = f'<meta property="og:description" content="{PARAGRAPHS[0]}">'
    rec = record(page(head=head))
    assert rec.lead == PARAGRAPHS[0]
    assert not rec.text.startswith(PARAGRAPHS[0][:30])


def test_visible_byline_wins_over_a_generic_publisher_author_in_json_ld() -> None:
    head = (
        '<meta property="og:site_name" content="Ostsee Blatt">'
        '<script type="application/ld+json">{"@type": "NewsArticle", "author": '
        '{"@type": "Organization", "name": "Ostsee Blatt"}}</script>'
    )
    rec = record(page(head=head, top="<p>Von Jana Holm und Kai Brandt</p>"))
    assert rec.authors == ("Jana Holm", "Kai Brandt")


def test_outlet_named_as_author_is_credited_only_when_no_person_is_named() -> None:
    head = (
        '<meta property="og:site_name" content="Ostsee Blatt">'
        '<meta name="author" content="Ostsee Blatt">'
    )
    alone = record(page(head=head))
    assert (alone.authors, alone.credits) == ((), ("Ostsee Blatt",))
    signed = record(page(head=head, top="<p>Von Jana Holm</p>"))
    assert (signed.authors, signed.credits) == (("Jana Holm",), ())


def test_json_ld_persons_are_authors_and_organizations_are_not() -> None:
    head = (
        '<script type="application/ld+json">{"@type": "NewsArticle", "author": ['
        '{"@type": "Person", "name": "Jana Holm"}, {"@type": "Organization", "name": "dpa"}]}'
        "</script>"
    )
    assert record(page(head=head)).authors == ("Jana Holm",)


def test_modified_at_comes_only_from_the_page() -> None:
    assert record(page()).modified_at is None
    head = '<meta property="article:modified_time" content="2025-02-14T10:00:00+01:00">'
    assert record(page(head=head)).modified_at == datetime(2025, 2, 14, 9, 0, tzinfo=UTC)


def test_hints_fill_only_what_the_page_lacks() -> None:
    hints = Hints(
        title="Feed title",
        authors=("Feed Autorin",),
        published_at=datetime(2025, 1, 2, 3, 4, tzinfo=UTC),
        language="de",
    )
    rec = record(page(), hints=hints)
    assert rec.title == "Fähre fährt wieder"
    assert rec.authors == ("Feed Autorin",)
    assert rec.published_at == datetime(2025, 1, 2, 3, 4, tzinfo=UTC)


def test_body_selector_hint_overrides_the_generic_body() -> None:
    html = page(bottom='<div class="extra"><p>Nur dieser Absatz zählt hier wirklich.</p></div>')
    rec = record(html, hints=Hints(body_selector="article"))
    assert "Nur dieser Absatz" in rec.text


def test_declared_language_comes_from_html_lang() -> None:
    rec = record(page(lang="de-AT"))
    assert rec.declared_language == "de"
    assert rec.language == "de"


def test_bytes_with_declared_charset_are_decoded() -> None:
    html = page(head='<meta charset="windows-1252">').encode("cp1252")
    assert "Fähre" in record(html).text


def test_canonical_url_is_normalized_and_tracking_removed() -> None:
    rec = record(page(), url="HTTPS://Example.org:443/a?utm_source=x&id=5#c")
    assert rec.url == "https://example.org/a?id=5"


def test_records_carry_the_extractor_version() -> None:
    assert record(page()).extractor_version == EXTRACTOR_VERSION


def test_plain_text_is_not_html() -> None:
    result = extract_article("just some words, no markup", "https://example.org/")
    assert isinstance(result, Rejection)
    assert result.reason == "not_html"


def test_binary_garbage_is_rejected_not_raised() -> None:
    result = extract_article(bytes(range(256)) * 10, "https://example.org/")
    assert isinstance(result, Rejection)
    assert result.reason in ("not_html", "parse_error", "empty", "too_short")


def test_an_exception_inside_extraction_is_an_internal_error_not_a_verdict(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from crawler.extraction import article

    def broken(*args: object) -> object:
        raise KeyError("a bug")

    monkeypatch.setattr(article, "_extract", broken)
    result = extract_article("<html><body><p>x</p></body></html>", "https://example.org/")
    assert isinstance(result, Rejection)
    assert (result.reason, result.detail) == ("internal_error", "KeyError: 'a bug'")


def test_empty_page_is_rejected() -> None:
    result = extract_article("<html><body></body></html>", "https://example.org/")
    assert isinstance(result, Rejection)
    assert result.reason in ("empty", "not_html")


def test_short_page_is_too_short() -> None:
    result = extract_article(
        "<html><body><article><h1>Kurz</h1><p>Nur ein Satz hier.</p></article></body></html>",
        "https://example.org/",
    )
    assert isinstance(result, Rejection)
    assert result.reason in ("too_short", "empty")


def test_extraction_imports_no_crawler_or_database_packages() -> None:
    code = (
        "import sys; import crawler.extraction; "
        "bad = [m for m in ('scrapy', 'twisted', 'sqlalchemy', 'psycopg', 'storage') "
        "if m in sys.modules]; print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_standfirst_between_date_header_and_byline_is_the_lead() -> None:
    standfirst = (
        "Nach drei Tagen Sturm fährt die Fähre wieder, doch die Warteschlangen bleiben lang."
    )
    rec = record(page(top=f"<p>date 2025-02 {standfirst}</p><p>Von Jana Holm (dpa)</p>"))
    assert rec.lead == standfirst
    assert standfirst not in rec.text
    assert (rec.published_precision, rec.published_raw) == ("month", "2025-02")
    assert rec.published_at == datetime(2025, 2, 1, tzinfo=UTC)


def test_photo_credit_is_never_an_author() -> None:
    rec = record(page(top="<p>Foto: Max Bildner</p>"))
    assert rec.authors == ()
    assert "Max Bildner" not in rec.text


def test_published_raw_is_the_printed_form_when_it_agrees_with_metadata() -> None:
    head = '<meta property="article:published_time" content="2025-02-12T18:05:00+01:00">'
    stamp = '<time datetime="2025-02-12T18:05:00+01:00">12.02.2025, 18:05 Uhr</time>'
    top = f'<p class="meta">{stamp}</p>'
    rec = record(page(head=head, top=top))
    assert rec.published_at == datetime(2025, 2, 12, 17, 5, tzinfo=UTC)
    assert rec.published_precision == "minute"
    assert rec.published_raw == "12.02.2025, 18:05 Uhr"


def test_website_page_without_article_text_is_not_an_article() -> None:
    html = (
        '<html lang="de"><head><meta property="og:type" content="website"></head><body>'
        "<main><h1>Impressum</h1><p>Beispiel Medien GmbH, Am Hafen 4, 12345 Lindenau.</p>"
        "<p>Geschäftsführung: Beate Nordmann. Registergericht: Amtsgericht Lindenau.</p>"
        "<p>Verantwortlich für den Inhalt: Jonas Falk, Anschrift wie oben.</p>"
        "<p>Diese Website speichert keine personenbezogenen Daten über ihre Leser.</p>"
        "</main></body></html>"
    )
    result = extract_article(html, "https://example.org/impressum")
    assert isinstance(result, Rejection)
    assert result.reason == "not_article"


def test_listing_of_teasers_with_linked_headlines_is_not_an_article() -> None:
    items = "".join(
        f'<li class="teaser"><h2><a href="/news/{i}.html">Schlagzeile {i}</a></h2>'
        f"<p>{PARAGRAPHS[i % len(PARAGRAPHS)]}</p></li>"
        for i in range(4)
    )
    html = (
        '<html lang="de"><head><meta property="og:type" content="website"></head><body>'
        f'<main><h1>Aktuell</h1><ul class="teaser-list">{items}</ul></main></body></html>'
    )
    result = extract_article(html, "https://example.org/aktuell/")
    assert isinstance(result, Rejection)
    assert result.reason == "not_article"


def test_published_raw_is_the_wall_clock_printed_for_a_utc_timestamp() -> None:
    head = '<meta property="article:published_time" content="2025-02-13T02:25:00Z">'
    top = '<p class="date">12.02.2025, 21:25 Uhr</p>'
    rec = record(page(head=head, top=top))
    assert rec.published_at == datetime(2025, 2, 13, 2, 25, tzinfo=UTC)
    assert (rec.published_precision, rec.published_raw) == ("minute", "12.02.2025, 21:25 Uhr")


def test_published_raw_is_the_printed_day_of_a_more_precise_timestamp() -> None:
    head = '<meta property="article:published_time" content="2025-11-04T23:00:00Z">'
    rec = record(page(head=head, top='<p class="date">5. November 2025</p>'))
    assert rec.published_at == datetime(2025, 11, 4, 23, 0, tzinfo=UTC)
    assert (rec.published_precision, rec.published_raw) == ("minute", "5. November 2025")


def test_visible_date_backed_by_metadata_wins_over_a_stale_json_ld_date() -> None:
    ld = '{"@type": "NewsArticle", "datePublished": "2024-12-01T08:00:00+01:00"}'
    head = (
        f'<script type="application/ld+json">{ld}</script>'
        '<meta property="article:published_time" content="2025-02-13T09:15:00+01:00">'
    )
    rec = record(page(head=head, top='<p class="date">13. Februar 2025</p>'))
    assert rec.published_at == datetime(2025, 2, 13, 8, 15, tzinfo=UTC)
    assert rec.published_raw == "13. Februar 2025"


def test_numeric_dates_of_british_pages_are_day_first() -> None:
    html = page(top='<p class="date">03/04/2025</p>', lang="en-GB")
    assert record(html).published_at == datetime(2025, 4, 3, tzinfo=UTC)


PAYWALL_LD = (
    '<script type="application/ld+json">{"@type": "NewsArticle", '
    '"isAccessibleForFree": "False"}</script>'
)


def test_paywall_stub_of_an_article_is_kept_as_a_paywall_stub_without_the_prompt() -> None:
    html = (
        f'<html lang="de"><head><title>Fähre</title>{PAYWALL_LD}</head><body><article>'
        f"<h1>Fähre fährt wieder</h1><p>{PARAGRAPHS[0]}</p>"
        "<p>Jetzt abonnieren und weiterlesen.</p></article></body></html>"
    )
    rec = record(html)
    assert rec.stub == "paywall"
    assert rec.text == PARAGRAPHS[0]


def test_paywall_stub_on_a_page_not_marked_as_an_article_is_rejected() -> None:
    html = (
        '<html lang="de"><head><title>Fähre</title></head><body><div>'
        f"<h1>Fähre fährt wieder</h1><p>{PARAGRAPHS[0]}</p>"
        "<p>Jetzt abonnieren und weiterlesen.</p></div></body></html>"
    )
    result = extract_article(html, "https://example.org/a")
    assert isinstance(result, Rejection)
    assert result.reason == "paywall"


def test_full_article_is_not_a_stub() -> None:
    assert record(page()).stub is None


def test_short_article_showing_several_paragraphs_is_kept_despite_a_paywall_mark() -> None:
    # Two full paragraphs of text and a subscription prompt in the site chrome.
    html = page(
        head=PAYWALL_LD,
        top="<aside>Sie haben bereits ein Abo? Hier anmelden.</aside>",
    ).replace(f"<p>{PARAGRAPHS[2]}</p>\n<p>{PARAGRAPHS[3]}</p>", "")
    rec = record(html)
    assert rec.text.startswith(PARAGRAPHS[0][:40])
    assert len(rec.text) < 1500


def test_utf16_declared_on_utf8_bytes_is_ignored() -> None:
    html = page().replace("<head>", '<head><meta charset="utf-16">')
    for declared in ("utf-16", "UTF-32", "utf-16le"):
        rec = record(html.replace("utf-16", declared, 1).encode("utf-8"))
        assert "Fähre" in rec.text


def test_real_utf16_and_utf32_pages_are_decoded() -> None:
    for codec in ("utf-16", "utf-16-le", "utf-16-be", "utf-32-le"):
        assert "Fähre" in record(page().encode(codec)).text


def test_a_few_invalid_bytes_in_utf8_do_not_turn_the_page_into_mojibake() -> None:
    data = page().encode("utf-8").replace(b"Reisende", b"Reis\xffende", 1)
    rec = record(data)
    assert "Fähre" in rec.text
    assert "Ã" not in rec.text
    # a legacy page (no valid UTF-8 sequence at all) still decodes as cp1252
    assert "Fähre" in record(page().encode("cp1252")).text


def test_http_charset_goes_before_the_meta_declaration() -> None:
    data = page().replace("<head>", '<head><meta charset="utf-8">').encode("cp1252")
    rec = extract_article(data, "https://example.org/a", encoding="windows-1252")
    assert isinstance(rec, ArticleRecord)
    assert "Fähre" in rec.text


def test_valid_utf8_wins_over_a_single_byte_charset_in_the_header() -> None:
    data = page().replace("<head>", '<head><meta charset="utf-8">').encode("utf-8")
    for declared in ("iso-8859-1", "windows-1251"):
        rec = extract_article(data, "https://example.org/a", encoding=declared)
        assert isinstance(rec, ArticleRecord)
        assert "Fähre" in rec.text


def test_preload_loads_htmldates_lazy_date_parser() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from crawler.extraction import preload; "
        "assert 'dateparser' not in sys.modules; preload(); "
        "assert 'dateparser' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_kicker_in_the_h1_is_cut_from_the_title_but_a_heading_that_is_all_kicker_stays() -> None:
    kicked = page(head='<meta property="og:title" content="Verkehr: Fähre fährt wieder">')
    kicked = kicked.replace(
        "<h1>Fähre fährt wieder</h1>",
        '<h1><span class="kicker">Verkehr</span> Fähre fährt wieder</h1>',
    )
    assert record(kicked).title == "Fähre fährt wieder"
    whole = page().replace(
        "<h1>Fähre fährt wieder</h1>",
        '<h1 class="x"><span class="kicker">Fähre fährt wieder</span></h1>',
    )
    assert record(whole).title == "Fähre fährt wieder"

"""Date parsing with precision, header recognition, URL dates and source choice."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawler.extraction.dates import (
    Candidate,
    ParsedDate,
    as_instant,
    choose,
    choose_published,
    consistent,
    date_from_url,
    first_printed_day,
    match_date_header,
    month_first,
    parse_machine_date,
    parse_text_date,
    text_after_leading_date,
)


def test_month_only_header_has_month_precision() -> None:
    found = match_date_header("date 2025-02")
    assert found is not None
    parsed, rest = found
    assert parsed.precision == "month"
    assert parsed.value == datetime(2025, 2, 1, tzinfo=UTC)
    assert parsed.raw == "2025-02"
    assert rest == ""


def test_labelled_header_run_into_the_lead_returns_the_lead_text() -> None:
    found = match_date_header("date 2025-02 Seit Montag stehen die Boote still.")
    assert found is not None
    assert found[1] == "Seit Montag stehen die Boote still."


@pytest.mark.parametrize(
    ("text", "expected", "precision", "raw"),
    [
        ("13. Februar 2025", datetime(2025, 2, 13, tzinfo=UTC), "day", "13. Februar 2025"),
        ("Datum: 13. Februar 2025", datetime(2025, 2, 13, tzinfo=UTC), "day", "13. Februar 2025"),
        (
            "14 Feb. 2025 07:30 Uhr",
            datetime(2025, 2, 14, 7, 30, tzinfo=UTC),
            "minute",
            "14 Feb. 2025 07:30 Uhr",
        ),
        ("12 mars 2025", datetime(2025, 3, 12, tzinfo=UTC), "day", "12 mars 2025"),
        (
            "Fecha: 3 de marzo de 2025",
            datetime(2025, 3, 3, tzinfo=UTC),
            "day",
            "3 de marzo de 2025",
        ),
        ("Дата: 5 марта 2025", datetime(2025, 3, 5, tzinfo=UTC), "day", "5 марта 2025"),
        ("March 3, 2025", datetime(2025, 3, 3, tzinfo=UTC), "day", "March 3, 2025"),
        ("Date: March 2025", datetime(2025, 3, 1, tzinfo=UTC), "month", "March 2025"),
        ("Donnerstag, 13.02.2025", datetime(2025, 2, 13, tzinfo=UTC), "day", "13.02.2025"),
    ],
)
def test_visible_headers_in_five_languages_parse_with_their_precision(
    text: str, expected: datetime, precision: str, raw: str
) -> None:
    found = match_date_header(text)
    assert found is not None, text
    assert found[0].value == expected
    assert found[0].precision == precision
    assert found[0].raw == raw


def test_printed_time_with_zone_abbreviation_is_converted_to_utc() -> None:
    found = match_date_header("13.02.2025, 14:05 Uhr MEZ")
    assert found is not None
    assert found[0].value == datetime(2025, 2, 13, 13, 5, tzinfo=UTC)
    assert found[0].precision == "minute"


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("17 April 2012 • 2:54pm", "en", datetime(2012, 4, 17, 14, 54, tzinfo=UTC)),
        ("14. März 2024 · 08:15 Uhr", "de", datetime(2024, 3, 14, 8, 15, tzinfo=UTC)),
        ("21 ноября 2023 · 11:40", "ru", datetime(2023, 11, 21, 11, 40, tzinfo=UTC)),
        ("6 de mayo de 2022 ∙ 2:00 a. m.", "es", datetime(2022, 5, 6, 2, 0, tzinfo=UTC)),
        ("2024年3月14日 — 08:15", "ja", datetime(2024, 3, 14, 8, 15, tzinfo=UTC)),
    ],
)
def test_a_time_after_a_bullet_or_middle_dot_belongs_to_the_date(
    text: str, lang: str, expected: datetime
) -> None:
    found = match_date_header(text, lang)
    assert found is not None, text
    assert (found[0].value, found[0].precision, found[1]) == (expected, "minute", "")


def test_pm_times_are_converted_to_24_hours() -> None:
    parsed = parse_text_date("Published March 3, 2025 at 4:30 p.m.")
    assert parsed is not None
    assert parsed.value == datetime(2025, 3, 3, 16, 30, tzinfo=UTC)


def test_a_sentence_is_not_a_date_header() -> None:
    assert match_date_header("Am 13. Februar 2025 trafen sich die Minister in Berlin.") is None
    assert match_date_header("Von Anna Beispiel") is None


def test_iso_metadata_with_offset_is_converted_to_utc_and_keeps_the_offset() -> None:
    parsed = parse_machine_date("2025-02-13T07:30:00+01:00")
    assert parsed == ParsedDate(
        datetime(2025, 2, 13, 6, 30, tzinfo=UTC),
        "minute",
        "2025-02-13T07:30:00+01:00",
        offset=60,
    )


def test_a_date_without_time_states_no_offset() -> None:
    parsed = parse_machine_date("2025-02-13")
    assert parsed is not None and parsed.offset is None and parsed.precision == "day"


def test_printed_wall_clock_over_an_aware_instant_gives_the_instant_and_its_offset() -> None:
    printed = parse_text_date("14.02.2025 07:30", "de")
    machine = parse_machine_date("2025-02-14T06:30:00Z")
    assert printed is not None and printed.naive and machine is not None
    chosen = as_instant(printed, [printed, machine])
    assert chosen.value == datetime(2025, 2, 14, 6, 30, tzinfo=UTC)
    assert chosen.offset == 60
    from_utc = as_instant(machine, [printed])
    assert from_utc.value == datetime(2025, 2, 14, 6, 30, tzinfo=UTC)
    assert from_utc.offset == 60


def test_utc_instant_with_seconds_takes_offset_of_printed_minutes() -> None:
    machine = parse_machine_date("2024-11-08T02:40:37Z")
    printed = parse_text_date("7 de noviembre de 2024 23:40", "es")
    assert machine is not None and printed is not None
    chosen = as_instant(machine, [printed])
    assert chosen.value == machine.value
    assert chosen.offset == -180


def test_utc_instant_takes_the_smallest_offset_onto_a_printed_neighbour_day() -> None:
    machine = parse_machine_date("2025-04-09T21:30:00Z")
    printed = match_date_header("10 апреля 2025", "ru")
    assert machine is not None and printed is not None
    chosen = as_instant(machine, [printed[0]])
    assert chosen.value == machine.value
    assert chosen.offset == 180


def test_stated_offset_is_kept_when_a_printed_day_differs() -> None:
    machine = parse_machine_date("2025-04-09T23:30:00-05:00")
    printed = match_date_header("11 апреля 2025", "ru")
    assert machine is not None and printed is not None
    assert as_instant(machine, [printed[0]]).offset == -300


def test_utc_instant_on_the_printed_day_keeps_utc() -> None:
    machine = parse_machine_date("2025-04-09T12:00:00Z")
    printed = match_date_header("9 апреля 2025", "ru")
    assert machine is not None and printed is not None
    assert as_instant(machine, [printed[0]]).offset == 0


def test_naive_metadata_time_is_assumed_to_be_utc() -> None:
    parsed = parse_machine_date("2025-02-13 07:30")
    assert parsed is not None
    assert parsed.value == datetime(2025, 2, 13, 7, 30, tzinfo=UTC)


def test_date_without_time_has_day_precision() -> None:
    parsed = parse_machine_date("2025-02-13")
    assert parsed is not None
    assert parsed.precision == "day"


def test_rfc_2822_metadata_is_parsed() -> None:
    parsed = parse_machine_date("Thu, 13 Feb 2025 07:30:00 GMT")
    assert parsed is not None
    assert parsed.value == datetime(2025, 2, 13, 7, 30, tzinfo=UTC)


def test_year_month_metadata_has_month_precision() -> None:
    parsed = parse_machine_date("2025-02")
    assert parsed is not None
    assert (parsed.precision, parsed.value) == ("month", datetime(2025, 2, 1, tzinfo=UTC))


def test_garbage_is_not_a_date() -> None:
    assert parse_machine_date("tomorrow-ish") is None
    assert parse_machine_date("") is None
    assert parse_machine_date("0001-01-01") is None


def test_url_with_year_month_day_gives_a_day() -> None:
    parsed = date_from_url("https://example.org/news/2025/02/13/story")
    assert parsed is not None
    assert (parsed.value, parsed.precision) == (datetime(2025, 2, 13, tzinfo=UTC), "day")


def test_url_with_year_month_gives_a_month() -> None:
    parsed = date_from_url("https://example.org/2025/02/story")
    assert parsed is not None
    assert parsed.precision == "month"


def test_url_without_date_gives_nothing() -> None:
    assert date_from_url("https://example.org/news/story-12345") is None


def test_more_precise_consistent_source_wins_over_month_header() -> None:
    header = ParsedDate(datetime(2025, 2, 1, tzinfo=UTC), "month", "2025-02")
    meta = ParsedDate(datetime(2025, 2, 13, 6, 30, tzinfo=UTC), "minute", "2025-02-13T07:30+01:00")
    assert choose([header, meta]) == meta


def test_inconsistent_later_source_does_not_override_the_first() -> None:
    first = ParsedDate(datetime(2025, 2, 1, tzinfo=UTC), "month", "2025-02")
    other = ParsedDate(datetime(2024, 7, 9, tzinfo=UTC), "day", "2024-07-09")
    assert choose([first, other]) == first


def test_no_candidates_means_no_date() -> None:
    assert choose([]) is None


def _at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, sec, tzinfo=UTC)


def test_printed_clock_without_zone_is_naive_and_metadata_with_offset_is_not() -> None:
    printed = parse_text_date("12. Februar 2025, 21:25 Uhr")
    machine = parse_machine_date("2025-02-12T20:25:00+00:00")
    assert printed is not None and printed.naive
    assert machine is not None and not machine.naive
    assert parse_machine_date("2025-02-12T20:25:00") == ParsedDate(
        _at(2025, 2, 12, 20, 25), "minute", "2025-02-12T20:25:00", naive=True
    )


def test_a_wall_clock_printed_in_the_page_zone_is_consistent_with_utc_metadata() -> None:
    printed = ParsedDate(_at(2025, 2, 12, 21, 25), "minute", "12 Feb 2025, 9:25 pm", naive=True)
    utc = ParsedDate(_at(2025, 2, 13, 2, 25, 40), "minute", "2025-02-13T02:25:40Z")
    assert consistent(printed, utc)
    # not a whole offset apart, or both zone-aware: different moments
    assert not consistent(printed, ParsedDate(_at(2025, 2, 13, 2, 7), "minute", "x"))
    aware = ParsedDate(_at(2025, 2, 12, 21, 25), "minute", "2025-02-12T21:25Z")
    assert not consistent(aware, utc)


def test_a_printed_day_is_consistent_with_a_utc_time_on_that_local_day_only() -> None:
    day = ParsedDate(_at(2025, 11, 5), "day", "5. November 2025")
    assert consistent(day, ParsedDate(_at(2025, 11, 4, 23, 0), "minute", "2025-11-04T23:00Z"))
    assert not consistent(day, ParsedDate(_at(2025, 11, 3, 9, 0), "minute", "2025-11-03T09:00Z"))
    naive = ParsedDate(_at(2025, 11, 4, 23, 0), "minute", "04.11.2025 23:00", naive=True)
    assert not consistent(day, naive)
    assert not consistent(day, ParsedDate(_at(2025, 11, 4), "day", "2025-11-04"))


def _cand(date: ParsedDate, source: str, *, printed: bool = False) -> Candidate:
    return Candidate(date, source, printed)


STALE = ParsedDate(_at(2025, 1, 20, 9, 0), "minute", "2025-01-20T10:00:00+01:00")
PRINTED = ParsedDate(_at(2025, 2, 3), "day", "3. Februar 2025")
META = ParsedDate(_at(2025, 2, 3, 6, 45), "minute", "2025-02-03T07:45:00+01:00")


def test_printed_date_backed_by_other_metadata_overrides_a_contradicting_anchor() -> None:
    cands = [_cand(STALE, "jsonld"), _cand(META, "meta"), _cand(PRINTED, "title", printed=True)]
    # the most precise source consistent with the printed day gives the value
    assert choose_published(cands) == META


def test_printed_date_alone_near_the_title_does_not_override_metadata() -> None:
    cands = [_cand(STALE, "jsonld"), _cand(PRINTED, "element", printed=True)]
    assert choose_published(cands) == STALE


def test_the_articles_own_date_header_overrides_a_single_contradicting_source() -> None:
    assert choose_published([_cand(STALE, "jsonld"), _cand(PRINTED, "header", printed=True)]) == (
        PRINTED
    )
    # ... but not when more kinds of source back the anchor
    url = ParsedDate(_at(2025, 1, 20), "day", "2025/01/20")
    cands = [_cand(STALE, "jsonld"), _cand(PRINTED, "header", printed=True), _cand(url, "url")]
    assert choose_published(cands) == STALE


def test_a_printed_wall_clock_gives_way_to_the_same_moment_with_a_zone() -> None:
    printed = ParsedDate(_at(2025, 2, 3, 7, 45), "minute", "03.02.2025, 07:45 Uhr", naive=True)
    cands = [_cand(STALE, "jsonld"), _cand(META, "meta"), _cand(printed, "title", printed=True)]
    assert choose_published(cands) == META


def test_without_contradiction_the_first_source_anchors_as_before() -> None:
    header = ParsedDate(_at(2025, 2, 1), "month", "2025-02")
    cands = [_cand(header, "header", printed=True), _cand(META, "meta")]
    assert choose_published(cands) == META
    assert choose_published([]) is None


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", _at(2025, 3, 4)),
        ("en-US", _at(2025, 3, 4)),
        ("en-GB", _at(2025, 4, 3)),
        ("de", _at(2025, 4, 3)),
    ],
)
def test_numeric_dates_are_month_first_only_in_us_english(lang: str, expected: datetime) -> None:
    assert month_first(lang) == (expected.month == 3)
    parsed = parse_text_date("03/04/2025", lang)
    assert parsed is not None
    assert parsed.value == expected


@pytest.mark.parametrize(
    "text",
    [
        "Kommentare: keine. Veröffentlicht am 13. Februar 2025, 14:05 Uhr von Anna. © 2024",
        "Archiv März 2025 und später 12.03.2025",
        "Posted on March 3, 2025 at 4:30 p.m. in News",
        "kein Datum hier, nur 2025 Einwohner und 1990 Mitglieder",
        "x" * 5000 + " zuletzt am 2025-02-13T07:30 geändert",
    ],
)
def test_first_printed_day_agrees_with_the_full_scan(text: str) -> None:
    full = parse_text_date(text, "de")
    expected = full if full is not None and full.precision in ("day", "minute") else None
    assert first_printed_day(text, "de") == expected


@pytest.mark.parametrize(
    ("lang", "printed", "expected", "precision"),
    [
        ("it", "14 febbraio 2025 ore 07:30", "2025-02-14 07:30", "minute"),
        ("pt", "14 de fevereiro de 2025 às 07h30", "2025-02-14 07:30", "minute"),
        ("nl", "14 februari 2025 07:30", "2025-02-14 07:30", "minute"),
        ("pl", "14 lutego 2025, 07:30", "2025-02-14 07:30", "minute"),
        ("cs", "14. února 2025 7:30", "2025-02-14 07:30", "minute"),
        ("sk", "14. februára 2025", "2025-02-14 00:00", "day"),
        ("uk", "14 лютого 2025 07:30", "2025-02-14 07:30", "minute"),
        ("bg", "14 февруари 2025", "2025-02-14 00:00", "day"),
        ("sr", "14. фебруар 2025.", "2025-02-14 00:00", "day"),
        ("hr", "14. veljače 2025. u 08:45", "2025-02-14 08:45", "minute"),
        ("tr", "14 Şubat 2025 07:30", "2025-02-14 07:30", "minute"),
        ("el", "14 Φεβρουαρίου 2025", "2025-02-14 00:00", "day"),
        ("hu", "2025. február 14. 07:30", "2025-02-14 07:30", "minute"),
        ("ro", "14 februarie 2025", "2025-02-14 00:00", "day"),
        ("fi", "14.2.2025 klo 7.30", "2025-02-14 07:30", "minute"),
        ("sv", "14 februari 2025 kl. 07.30", "2025-02-14 07:30", "minute"),
        ("ja", "2025年2月14日 7時30分", "2025-02-14 07:30", "minute"),
        ("zh", "2025年2月14日 07:30", "2025-02-14 07:30", "minute"),
        ("ko", "2025년 2월 14일 07:30", "2025-02-14 07:30", "minute"),
        ("ko", "2025.02.14 07:30", "2025-02-14 07:30", "minute"),
        ("ar", "14 فبراير 2025", "2025-02-14 00:00", "day"),
        ("hi", "14 फरवरी 2025", "2025-02-14 00:00", "day"),
        ("he", "14 בפברואר 2025", "2025-02-14 00:00", "day"),
        ("lt", "2025 m. vasario 14 d.", "2025-02-14 00:00", "day"),
        ("ca", "14 de febrer de 2025", "2025-02-14 00:00", "day"),
        ("id", "14 Februari 2025 07:30 WIB", "2025-02-14 00:30", "minute"),
    ],
)
def test_a_date_header_printed_in_each_language_is_read(
    lang: str, printed: str, expected: str, precision: str
) -> None:
    found = match_date_header(printed, lang)
    assert found is not None, printed
    parsed, rest = found
    assert rest == ""
    assert parsed.value.strftime("%Y-%m-%d %H:%M") == expected
    assert parsed.precision == precision


def test_a_month_name_two_languages_read_differently_follows_the_pages_language() -> None:
    croatian = parse_text_date("14. listopada 2025.", "hr")
    polish = parse_text_date("14 listopada 2025", "pl")
    assert croatian is not None and croatian.value.month == 10
    assert polish is not None and polish.value.month == 11
    assert parse_text_date("14 listopada 2025", None) is None  # ambiguous without a language


@pytest.mark.parametrize(
    ("printed", "lang", "utc", "offset"),
    [
        ("15/3/2025, 06:20 (GMT+7)", "vi", datetime(2025, 3, 14, 23, 20, tzinfo=UTC), 420),
        ("15.03.2025 01:40 (UTC+03:00)", "ru", datetime(2025, 3, 14, 22, 40, tzinfo=UTC), 180),
        ("15 Mar 2025 19:30 -0500", "en", datetime(2025, 3, 16, 0, 30, tzinfo=UTC), -300),
        ("2025.03.15 07:10 KST", "ko", datetime(2025, 3, 14, 22, 10, tzinfo=UTC), 540),
        ("15 Maret 2025 06:05 WIB", "id", datetime(2025, 3, 14, 23, 5, tzinfo=UTC), 420),
        ("15.03.2025, 07:30 Uhr MEZ", "de", datetime(2025, 3, 15, 6, 30, tzinfo=UTC), 60),
    ],
)
def test_a_printed_zone_is_the_times_stated_offset(
    printed: str, lang: str, utc: datetime, offset: int
) -> None:
    parsed = parse_text_date(printed, lang)
    assert parsed is not None
    assert (parsed.value, parsed.offset, parsed.naive) == (utc, offset, False)


def test_a_zone_followed_by_no_valid_offset_is_not_a_zone() -> None:
    parsed = parse_text_date("15 Mar 2025 19:30 GMT+25", "en")
    assert parsed is not None
    assert (parsed.value, parsed.offset, parsed.naive) == (
        datetime(2025, 3, 15, 19, 30, tzinfo=UTC),
        None,
        True,
    )


def test_thai_buddhist_era_years_are_read_as_gregorian_years() -> None:
    full = parse_text_date("15 มีนาคม 2568 เวลา 09:15 น.", "th")
    short = parse_text_date("วันเสาร์ที่ 15 มี.ค. 2568", None)
    numeric = parse_text_date("15/03/2568", "th")
    assert full is not None and full.value == datetime(2025, 3, 15, 9, 15, tzinfo=UTC)
    assert short is not None and short.value == datetime(2025, 3, 15, tzinfo=UTC)
    assert numeric is not None and numeric.value == datetime(2025, 3, 15, tzinfo=UTC)


def test_a_year_beyond_the_range_is_no_date_on_pages_of_other_eras() -> None:
    assert parse_text_date("15/03/2568", "de") is None


@pytest.mark.parametrize(
    ("url", "day"),
    [
        ("https://news.example/local/2025/3/7/slug/", datetime(2025, 3, 7, tzinfo=UTC)),
        ("https://news.example/city/a-long-slug-2025-03-07.html", datetime(2025, 3, 7, tzinfo=UTC)),
        ("https://news.example/2025_03_07_slug", datetime(2025, 3, 7, tzinfo=UTC)),
        ("https://news.example/2025/03/07/slug", datetime(2025, 3, 7, tzinfo=UTC)),
    ],
)
def test_a_day_in_the_url_is_found_in_its_usual_forms(url: str, day: datetime) -> None:
    found = date_from_url(url)
    assert found is not None and (found.value, found.precision) == (day, "day")


@pytest.mark.parametrize(
    "url",
    [
        "https://news.example/a/2025/13/5/slug/",
        "https://news.example/a-slug-2025-03_07.html",
        "https://news.example/item/2025/3/7",
    ],
)
def test_digits_that_only_resemble_a_day_in_the_url_are_no_date(url: str) -> None:
    assert date_from_url(url) is None


@pytest.mark.parametrize(
    ("printed", "lang", "value"),
    [
        ("令和7年3月15日", "ja", datetime(2025, 3, 15, tzinfo=UTC)),
        ("令和元年5月1日 午後3時20分", "ja", datetime(2019, 5, 1, 15, 20, tzinfo=UTC)),
        ("平成30年12月3日(月)", "ja", datetime(2018, 12, 3, tzinfo=UTC)),
    ],
)
def test_japanese_era_years_are_gregorian_years(printed: str, lang: str, value: datetime) -> None:
    parsed = parse_text_date(printed, lang)
    assert parsed is not None and parsed.value == value


@pytest.mark.parametrize(
    ("printed", "lang", "hour"),
    [
        ("2025.03.15 오후 7:30", "ko", 19),
        ("2025.03.16 오전 1:10", "ko", 1),
        ("2025년 3월 15일 오후 7시 30분", "ko", 19),
        ("2025年3月15日 下午7:30", "zh", 19),
        ("2025年3月15日 午後0時05分", "ja", 12),
    ],
)
def test_a_morning_or_afternoon_word_before_the_time_sets_its_half_of_the_day(
    printed: str, lang: str, hour: int
) -> None:
    parsed = parse_text_date(printed, lang)
    assert parsed is not None and parsed.precision == "minute" and parsed.value.hour == hour


@pytest.mark.parametrize(
    ("line", "raw"),
    [
        ("2023-03-14 09:12:30 来源：华北网", "2023-03-14 09:12:30"),
        ("14.03.2023 Quelle: dpa", "14.03.2023"),
        ("March 14, 2023 | Source: Example Wire", "March 14, 2023"),
    ],
)
def test_a_date_line_ending_with_its_source_is_a_date_header(line: str, raw: str) -> None:
    found = match_date_header(line)
    assert found is not None
    assert found[0].raw == raw
    assert found[1] == ""


def test_a_date_followed_by_text_or_a_long_source_is_no_date_header() -> None:
    assert match_date_header("14.03.2023 und dann geht der Text weiter") is None
    assert match_date_header("14.03.2023 Source: " + "a long name " * 5) is None


@pytest.mark.parametrize(
    ("line", "rest"),
    [
        ("11.12.2019 - Jane Doe", "Jane Doe"),
        ("Friday, March 8, 2024 | Desk notes", "Desk notes"),
        ("2024-03-14 · Иван Петров", "Иван Петров"),
        ("11.12.2019 Jane Doe", None),
        ("Jane Doe - 11.12.2019", None),
    ],
)
def test_the_text_after_a_leading_date_and_a_separator(line: str, rest: str | None) -> None:
    assert text_after_leading_date(line) == rest

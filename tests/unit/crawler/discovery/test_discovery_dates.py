"""The one date parser: W3C datetimes, RFC 822 dates and their variants, zone names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawler.discovery.dates import AMBIGUOUS_ZONES, ZONE_OFFSETS, parse_date


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tue, 10 Jun 2025 10:00:00 +02:00", utc(2025, 6, 10, 8)),
        ("Tue, 10 Jun 2025 10:00:00 +0200", utc(2025, 6, 10, 8)),
        ("Tue, 10 Jun 2025 10:00:00 GMT-01:01", utc(2025, 6, 10, 11, 1)),
        ("Tue, 10 Jun 2025 10:00:00 GMT+2", utc(2025, 6, 10, 8)),
        ("Tue, 10 Jun 2025 10:00:00 UTC+05:30", utc(2025, 6, 10, 4, 30)),
        ("Tue, 10 Jun 2025 10:00:00 +0200 (CEST)", utc(2025, 6, 10, 8)),
        ("Tue, 10 Jun 2025 10:00:00 GMT", utc(2025, 6, 10, 10)),
        ("Tue, 10 Jun 2025 10:00:00 EDT", utc(2025, 6, 10, 14)),
        ("Thu, 01 Jan 2004", utc(2004, 1, 1)),
        ("01 Jan 2004", utc(2004, 1, 1)),
        ("Tue, 10 Jun 2025 10:00 +0200", utc(2025, 6, 10, 8)),
        ("10 June 2025 10:00:00 +0000", utc(2025, 6, 10, 10)),
        ("Tue, 10 Jun 25 10:00:00 GMT", utc(2025, 6, 10, 10)),
        ("Tue, 10 Jun 2025 10:00 PM GMT", utc(2025, 6, 10, 22)),
        ("Di, 10 Jun 2025 10:00:00 MESZ", utc(2025, 6, 10, 8)),
        ("mar., 10 juin 2025 10:00:00 +0200", utc(2025, 6, 10, 8)),
        ("Tue Jun 10 10:00:00 2025", utc(2025, 6, 10, 10)),
        ("2025-06-10T10:00:00+02:00", utc(2025, 6, 10, 8)),
        ("2025-06-10 10:00:00 CEST", utc(2025, 6, 10, 8)),
        ("2025-06-10", utc(2025, 6, 10)),
        ("2025", utc(2025, 1, 1)),
        ("Tue, 10 Jun 2025 10:00:00 XYZ", utc(2025, 6, 10, 10)),  # unknown name: UTC
        ("Tue, 31 Jun 2025 10:00:00 GMT", None),
        ("Tue, 10 Foo 2025 10:00:00 GMT", None),
        ("Tue, 10 Jun 2025 25:00:00 GMT", None),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_dates_parse_to_utc_or_give_none(text: str | None, expected: datetime | None) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("zone", "offset_hours"),
    [
        ("CET", 1),
        ("CEST", 2),
        ("MET", 1),
        ("MEST", 2),
        ("EET", 2),
        ("EEST", 3),
        ("MSK", 3),
        ("IST", 5.5),
        ("JST", 9),
        ("KST", 9),
        ("AEST", 10),
        ("BST", 1),
        ("WIB", 7),
        ("NZDT", 13),
    ],
)
def test_zone_names_beyond_the_rfcs_are_read(zone: str, offset_hours: float) -> None:
    found = parse_date(f"Tue, 10 Jun 2025 12:00:00 {zone}")
    assert found is not None
    assert (utc(2025, 6, 10, 12) - found).total_seconds() == offset_hours * 3600


@pytest.mark.parametrize(
    ("zone", "country", "expected"),
    [
        ("IST", "IN", utc(2025, 6, 10, 6, 30)),
        ("IST", "IE", utc(2025, 6, 10, 11)),
        ("IST", "IL", utc(2025, 6, 10, 10)),
        ("IST", "DE", utc(2025, 6, 10, 6, 30)),
        ("BST", "GB", utc(2025, 6, 10, 11)),
        ("BST", "BD", utc(2025, 6, 10, 6)),
        ("CST", "US", utc(2025, 6, 10, 18)),
        ("CST", "CN", utc(2025, 6, 10, 4)),
        ("AST", "QA", utc(2025, 6, 10, 9)),
        ("AST", "CA", utc(2025, 6, 10, 16)),
    ],
)
def test_ambiguous_zone_names_follow_the_sources_country(
    zone: str, country: str, expected: datetime
) -> None:
    assert parse_date(f"Tue, 10 Jun 2025 12:00:00 {zone}", country=country) == expected
    assert parse_date(f"2025-06-10T12:00:00 {zone}", country=country) == expected


def test_every_ambiguous_zone_has_a_default_meaning() -> None:
    assert set(AMBIGUOUS_ZONES) <= set(ZONE_OFFSETS)

"""PoliteRetry's wait: Retry-After honoured up to the cap, else doubling back-off."""

from __future__ import annotations

from datetime import UTC, datetime

from crawler.middlewares.retry import retry_delay


def test_retry_after_seconds_are_honoured_up_to_the_cap() -> None:
    assert retry_delay(b"7", 0, backoff=1.0, cap=60.0) == 7.0
    assert retry_delay(b"600", 0, backoff=1.0, cap=60.0) == 60.0


def test_retry_after_http_date_is_turned_into_a_wait() -> None:
    now = datetime(2025, 2, 14, 7, 0, 0, tzinfo=UTC)
    header = "Fri, 14 Feb 2025 07:00:30 GMT"
    assert retry_delay(header, 0, backoff=1.0, cap=60.0, now=now) == 30.0
    assert retry_delay("Fri, 14 Feb 2025 06:00:00 GMT", 0, backoff=1.0, cap=60.0, now=now) == 0.0


def test_without_retry_after_the_wait_doubles_per_attempt() -> None:
    assert [retry_delay(None, n, backoff=0.5, cap=60.0) for n in range(4)] == [0.5, 1, 2, 4]
    assert retry_delay(b"soon", 1, backoff=1.0, cap=60.0) == 2.0

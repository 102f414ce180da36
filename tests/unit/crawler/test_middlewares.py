"""Middleware decisions: conditional requests keep validators only after a complete
crawl; retries wait as Retry-After says, else back off doubling per attempt. (The
stored-URL filters are in test_stored_url_filters.py, meta refresh in
test_meta_refresh.py.)"""

from __future__ import annotations

from datetime import UTC, datetime

from crawler.middlewares import ConditionalRequests, retry_delay


def test_validators_are_kept_only_after_a_complete_crawl() -> None:
    assert ConditionalRequests.complete({"newsingest/fetch/failed/http_404": 1})
    assert not ConditionalRequests.complete({"newsingest/fetch/failed/http_503": 1})
    assert not ConditionalRequests.complete({"newsingest/fetch/failed/timeout": 1})
    assert not ConditionalRequests.complete({"newsingest/store/spooled_articles": 2})
    assert ConditionalRequests.complete({})
    assert not ConditionalRequests.complete({}, distributed=True)


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

"""Conditional requests: validators kept only after a complete crawl."""

from __future__ import annotations

from crawler.middlewares.conditional import ConditionalRequests


def test_validators_are_kept_only_after_a_complete_crawl() -> None:
    assert ConditionalRequests.complete({"newsingest/fetch/failed/http_404": 1})
    assert not ConditionalRequests.complete({"newsingest/fetch/failed/http_503": 1})
    assert not ConditionalRequests.complete({"newsingest/fetch/failed/timeout": 1})
    assert not ConditionalRequests.complete({"newsingest/store/spooled_articles": 2})
    assert ConditionalRequests.complete({})
    assert not ConditionalRequests.complete({}, distributed=True)

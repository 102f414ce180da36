"""ExtractPipeline in worker processes: timeouts and crashed workers end as rejections and the
pool recovers; extraction plus the spool round trip hold for arbitrary bytes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scrapy.utils.test import get_crawler

from crawler import settings as project
from crawler import spool
from crawler.extraction import ArticleRecord, Rejection, extract_article
from crawler.extractpool import ExtractionPool
from crawler.items import ExtractedArticle, FetchedPage, Rejected
from crawler.pipelines.extract import ExtractPipeline
from crawler.pipelines.store import _pending_article
from tests.unit.worker_fns import misbehave

ARTICLE = (
    "<html lang='en'><head><title>Harbour strike ends</title></head><body><article>"
    "<h1>Harbour strike ends</h1>"
    + "".join(
        f"<p>Paragraph {i}: the dock workers of pier {i} ended their strike on Monday after "
        f"the port authority agreed to contract number {i * 17} with higher wages, shorter "
        f"shifts and {i + 3} more days of leave for everyone working the night cranes.</p>"
        for i in range(12)
    )
    + "</article></body></html>"
).encode()


def _page(body: bytes, url: str = "http://127.0.0.1/a.html") -> FetchedPage:
    return FetchedPage("s", url, url, 200, "text/html", body, datetime.now(UTC))


async def _run(pipe: ExtractPipeline, bodies: list[bytes]) -> list[Any]:
    await pipe.open_spider()
    try:
        return list(await asyncio.gather(*(pipe.process_item(_page(b)) for b in bodies)))
    finally:
        await pipe.close_spider()


def _pipeline(timeout: float) -> ExtractPipeline:
    crawler = get_crawler()
    assert crawler.stats is not None
    crawler.stats.open_spider()
    return ExtractPipeline(
        crawler.stats,
        ExtractionPool(1, misbehave),
        timeout=timeout,
        max_bytes=project.NEWSINGEST_EXTRACT_MAX_BYTES,
    )


def test_a_page_whose_extraction_hangs_is_rejected_and_later_pages_still_extract() -> None:
    pipe = _pipeline(timeout=8)  # generous: the retry in a fresh pool must fit in it
    hung, ok = asyncio.run(_run(pipe, [b"hang", ARTICLE]))
    assert isinstance(hung, Rejected)
    assert hung.rejection.reason == "parse_error"
    assert "timed out" in hung.rejection.detail
    assert isinstance(ok, ExtractedArticle)
    assert pipe.stats.get_value("newsingest/extract/timeouts") == 1


def test_a_page_waiting_behind_a_slow_one_gets_its_own_full_timeout() -> None:
    # One worker, two pages submitted at once (one runs, one waits): 2 s each under a
    # 3 s timeout. Counted from submission the second would time out after 3 s.
    pipe = _pipeline(timeout=3)
    first, second = asyncio.run(_run(pipe, [b"slow" + ARTICLE, b"slow" + ARTICLE]))
    assert isinstance(first, ExtractedArticle)
    assert isinstance(second, ExtractedArticle)
    assert pipe.stats.get_value("newsingest/extract/timeouts") is None


def test_a_page_that_kills_its_worker_is_rejected_and_the_pool_recovers() -> None:
    pipe = _pipeline(timeout=60)
    crashed, ok = asyncio.run(_run(pipe, [b"crash", ARTICLE]))
    assert isinstance(crashed, Rejected)
    assert crashed.rejection.reason == "parse_error"
    assert "crashed" in crashed.rejection.detail
    assert isinstance(ok, ExtractedArticle)
    assert pipe.stats.get_value("newsingest/extract/worker_crashes") == 1


_HTMLISH = st.lists(
    st.sampled_from(
        [
            b"<html>", b"<head>", b"<meta charset='utf-16'>", b"<meta charset='x-unknown'>",
            b"<title>", b"</title>", b"<body>", b"<article>", b"<p>", b"</p>", b"<div>" * 50,
            b"<script>", b"</script>", b"<link rel='canonical' href='javascript:alert(1)'>",
            b"<meta property='og:url' content='file:///etc/passwd'>", b"\x00", b"\xff\xfe",
            b"\xc3\x28", b"&#0;", b"&#x110000;", b"<![CDATA[", b"<!--", b"<?xml?>",
            b"Die Hafenarbeiter beendeten ihren Streik am Montag nach langen Verhandlungen. ",
            b"<time datetime='9999-99-99'>", b"<span class='byline'>Von A und B</span>",
            b'<script type="application/ld+json">{"@type":"NewsArticle","datePublished":1}',
        ]
    ),
    max_size=60,
).map(b"".join)  # fmt: skip


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096) | _HTMLISH)
def test_any_bytes_give_a_record_or_a_rejection_that_the_spool_carries_losslessly(
    body: bytes,
) -> None:
    url = "https://example.com/news/a.html"
    result = extract_article(body, url)
    assert isinstance(result, (ArticleRecord, Rejection))
    if isinstance(result, Rejection):
        assert result.reason != "internal_error", result.detail  # a bug, not a verdict
        return
    assert result.text and len(result.content_hash) == 64
    item = ExtractedArticle(page=_page(body, url), record=result)
    entry = _pending_article(item, run_id=1)
    assert spool.from_json(spool.to_json(entry)) == entry


def test_a_page_that_shared_a_pool_with_a_crashing_one_is_extracted_on_retry() -> None:
    crawler = get_crawler()
    assert crawler.stats is not None
    crawler.stats.open_spider()
    pipe = ExtractPipeline(
        crawler.stats,
        ExtractionPool(2, misbehave),
        timeout=60,
        max_bytes=project.NEWSINGEST_EXTRACT_MAX_BYTES,
    )
    # both run in one pool, which the crash breaks; retried alone, only one crashes again
    crashed, ok = asyncio.run(_run(pipe, [b"crash", ARTICLE]))
    assert isinstance(crashed, Rejected)
    assert "crashed" in crashed.rejection.detail
    assert isinstance(ok, ExtractedArticle)
    assert pipe.stats.get_value("newsingest/extract/worker_crashes") == 1


def test_an_extraction_that_raises_is_recorded_as_an_internal_error_and_the_crawl_goes_on() -> None:
    pipe = _pipeline(timeout=60)
    raised, ok = asyncio.run(_run(pipe, [b"raise", ARTICLE]))
    assert isinstance(raised, Rejected)  # stored as a failure row with its reason
    assert raised.rejection.reason == "internal_error"
    assert "a bug in extraction" in raised.rejection.detail
    assert isinstance(ok, ExtractedArticle)
    assert pipe.stats.get_value("newsingest/extract/rejected/internal_error") == 1


def test_a_canonical_outside_the_source_scope_keeps_the_fetched_url() -> None:
    # same site (example.net), but the source is news.example.net only
    body = ARTICLE.replace(
        b"<title>", b"<link rel='canonical' href='http://sport.example.net/x.html'><title>"
    )
    crawler = get_crawler()
    assert crawler.stats is not None
    crawler.stats.open_spider()
    pipe = ExtractPipeline(
        crawler.stats,
        ExtractionPool(0),
        timeout=project.NEWSINGEST_EXTRACT_TIMEOUT,
        max_bytes=project.NEWSINGEST_EXTRACT_MAX_BYTES,
    )
    pipe.in_scope = lambda url: url.startswith("http://news.example.net/")
    out = asyncio.run(pipe.process_item(_page(body, "http://news.example.net/a.html")))
    assert isinstance(out, ExtractedArticle)
    assert out.record.url == "http://news.example.net/a.html"
    assert crawler.stats.get_value("newsingest/extract/canonical_out_of_scope") == 1

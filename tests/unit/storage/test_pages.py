"""Stored pages are zlib streams, whichever compressor wrote them."""

from __future__ import annotations

import multiprocessing
import zlib
from typing import Any

from storage import pages
from storage.pages import compress_html


def test_compressed_html_is_a_zlib_stream_that_zlib_reads_back() -> None:
    html = ("<html><body>" + "<p>Ein Absatz über den Hafen.</p>" * 400 + "</body></html>").encode()
    stored = compress_html(html)
    assert zlib.decompress(stored) == html
    assert len(stored) < len(html) / 5


def _compress_in_helper(queue: Any) -> None:
    html = b"<p>Kind</p>" * 100
    queue.put(zlib.decompress(pages._compressor().submit(compress_html, html).result(10)))


def test_a_forked_child_compresses_pages_with_a_helper_thread_of_its_own() -> None:
    html = b"<p>Eltern</p>" * 100
    assert zlib.decompress(pages._compressor().submit(compress_html, html).result(10)) == html
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_compress_in_helper, args=(queue,))
    child.start()
    try:
        assert queue.get(timeout=20) == b"<p>Kind</p>" * 100
    finally:
        child.join(20)
    assert child.exitcode == 0


def test_a_pages_batch_fills_every_column_of_the_model_but_the_id() -> None:
    from storage.models import Page

    assert list(pages._page_arrays([], [], {})) == list(pages._PAGE_COLUMNS)
    assert set(pages._PAGE_COLUMNS) == {c.name for c in Page.__table__.columns} - {"id"}
    assert pages._PAGE_COLUMNS["html_zlib"] == "bytea"

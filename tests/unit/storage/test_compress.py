"""Stored pages are zlib streams, whichever compressor wrote them."""

from __future__ import annotations

import zlib

from storage.repository import compress_html


def test_compressed_html_is_a_zlib_stream_that_zlib_reads_back() -> None:
    html = ("<html><body>" + "<p>Ein Absatz über den Hafen.</p>" * 400 + "</body></html>").encode()
    stored = compress_html(html)
    assert zlib.decompress(stored) == html
    assert len(stored) < len(html) / 5

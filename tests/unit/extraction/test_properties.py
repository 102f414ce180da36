"""Property tests: ``extract_article`` never raises, whatever it is given, and never
fails inside: an exception of a pass would come back as an ``internal_error`` rejection,
which these tests refuse (without that check they passed with `_extract` raising on
every page)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.extraction import ArticleRecord, Rejection, extract_article


def _checked(result: object) -> ArticleRecord | Rejection:
    """``result`` is a record or a rejection of the page, not an internal error."""
    assert isinstance(result, ArticleRecord | Rejection)
    if isinstance(result, Rejection):
        assert result.reason != "internal_error", result.detail
    return result


TAGS = st.sampled_from(["p", "div", "h1", "article", "a", "span", "time", "script", "meta"])


@st.composite
def html_fragments(draw: st.DrawFn) -> str:
    parts = draw(
        st.lists(
            st.one_of(
                st.text(max_size=80),
                TAGS.map(lambda t: f"<{t}>"),
                TAGS.map(lambda t: f"</{t}>"),
                st.sampled_from(
                    [
                        '<meta property="og:type" content="article">',
                        '<script type="application/ld+json">{"@type":"NewsArticle",',
                        '"author": [{"@id": 1}], "datePublished": "2025-13-45"}</script>',
                        "<p>Von Anna Beispiel und (dpa)</p>",
                        "<p>date 2025-02</p>",
                        "<p>Übersetzt aus dem</p>",
                        '<link rel="canonical" href="http://[::1">',
                        "<html lang='zz-'>",
                        "<?xml version='1.0' encoding='utf-8'?>",
                    ]
                ),
            ),
            max_size=30,
        )
    )
    return "".join(parts)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=500))
def test_arbitrary_text_gives_a_record_or_rejection(text: str) -> None:
    _checked(extract_article(text, "https://example.org/x"))


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=500))
def test_arbitrary_bytes_give_a_record_or_rejection(data: bytes) -> None:
    _checked(extract_article(data, "https://example.org/x"))


@settings(max_examples=80, deadline=None)
@given(html_fragments(), st.text(max_size=40))
def test_arbitrary_html_and_urls_give_a_record_or_rejection(html: str, url: str) -> None:
    result = _checked(extract_article(html, url))
    if isinstance(result, ArticleRecord):
        assert -(2**63) <= result.simhash < 2**63
        assert result.published_at is None or result.published_at.tzinfo is not None

"""Page metadata: microdata of nested items is not the page's."""

from __future__ import annotations

from lxml import html  # type: ignore[import-untyped]

from crawler.extraction.metadata import collect, in_nested_item

PAGE = """<html><body>
<article itemscope itemtype="https://schema.org/NewsArticle">
<meta itemprop="author" content="Ana Lima">
<meta itemprop="datePublished" content="2025-04-01">
<div itemprop="mainEntity" itemscope><meta itemprop="dateModified" content="2025-04-02"></div>
<div itemprop="comment" itemscope><meta itemprop="author" content="Rui Costa"></div>
<li itemprop="citation" itemscope><meta itemprop="datePublished" content="1999"></li>
</article></body></html>"""


def test_microdata_of_an_item_nested_as_a_property_is_not_the_pages() -> None:
    meta = collect(html.fromstring(PAGE)).meta
    assert meta["author"] == ["Ana Lima"]
    assert meta["datepublished"] == ["2025-04-01"]
    assert meta["datemodified"] == ["2025-04-02"]  # a mainEntity is still the page's


def test_an_element_outside_any_item_is_not_nested() -> None:
    tree = html.fromstring("<html><body><p><meta itemprop='author' content='x'></p></body></html>")
    (el,) = tree.iter("meta")
    assert not in_nested_item(el)

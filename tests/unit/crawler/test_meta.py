"""Request meta keys: named once in `crawler.meta`, and what the spider sets is what
the middlewares read."""

from __future__ import annotations

from crawler import meta
from tests.unit.crawler.sourcescan import ROOT, string_literals


def test_no_meta_key_is_spelled_outside_the_meta_module() -> None:
    assert string_literals(r"newsingest_[a-z]", allowed=ROOT / "crawler" / "meta.py") == []


def test_meta_keys_are_distinct_and_namespaced() -> None:
    keys = [v for k, v in vars(meta).items() if k.isupper() and v.startswith("newsingest_")]
    assert len(keys) == 7
    assert len(set(keys)) == len(keys)

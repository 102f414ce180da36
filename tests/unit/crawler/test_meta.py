"""Request meta keys: named once in `crawler.meta`, and what the spider sets is what
the middlewares read."""

from __future__ import annotations

import re

from crawler import meta
from tests.unit.crawler.sourcescan import ROOT, string_literals


def test_no_meta_key_is_spelled_outside_the_meta_module() -> None:
    # the keys themselves, not every "newsingest_" name (Prometheus metrics are named so)
    keys = [v for k, v in vars(meta).items() if k.isupper() and str(v).startswith("newsingest_")]
    pattern = "|".join(re.escape(key) for key in keys) + r"\Z"
    assert string_literals(f"(?:{pattern})", allowed=ROOT / "crawler" / "meta.py") == []


def test_meta_keys_are_distinct_and_namespaced() -> None:
    keys = [v for k, v in vars(meta).items() if k.isupper() and v.startswith("newsingest_")]
    assert len(keys) == 7
    assert len(set(keys)) == len(keys)

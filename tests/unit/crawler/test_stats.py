"""The stats keys: named once in `crawler.stats`, documented in docs/stats.md, and
read into one run summary."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from crawler import stats as stat
from crawler.cli.runs import run_summary
from crawler.extensions import Progress

ROOT = Path(__file__).resolve().parents[3]


def _constants() -> set[str]:
    return {
        value
        for name, value in vars(stat).items()
        if name.isupper() and isinstance(value, str) and value.startswith("newsingest/")
    }


def _documented() -> list[str]:
    text = (ROOT / "docs" / "stats.md").read_text(encoding="utf-8")
    keys = re.findall(r"^\| `(newsingest/[^`]*)` \|", text, flags=re.MULTILINE)
    # a key ending in <reason> is the constant of its prefix
    return [k.removesuffix("<reason>") for k in keys]


def test_documented_keys_are_the_constants() -> None:
    documented = _documented()
    assert len(documented) == len(set(documented)), "a key is documented twice"
    assert set(documented) == _constants()


def test_the_readme_links_the_stats_page() -> None:
    assert "docs/stats.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def _literals(path: Path) -> list[str]:
    """String constants of ``path`` that look like a newsingest stats key (docstrings and
    comments are text, not keys)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    return [
        f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and re.match(r"newsingest/[a-z{]", node.value)
    ]


def test_no_stats_key_is_spelled_outside_the_stats_module() -> None:
    found = [
        hit
        for package in ("crawler", "storage")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != ROOT / "crawler" / "stats.py"
        for hit in _literals(path)
    ]
    assert found == []


def test_keys_with_a_reason() -> None:
    assert stat.failed("fetch", "dns_error") == "newsingest/fetch/failed/dns_error"
    assert stat.failed("discovery", "bad_feed") == "newsingest/discovery/failed/bad_feed"
    assert stat.rejected("too_short") == "newsingest/extract/rejected/too_short"


STATS = {
    "newsingest/fetch/articles": 12,
    "newsingest/store/inserted": 7,
    "newsingest/store/updated": 2,
    "newsingest/store/unchanged": 1,
    "newsingest/extract/rejected/too_short": 1,
    "newsingest/extract/rejected/paywall": 1,
    "newsingest/fetch/failed/http_404": 3,
    "newsingest/discovery/failed": 1,  # the total: not counted twice
    "newsingest/discovery/failed/dns_error": 1,
    "newsingest/store/last_error": "boom",
    "elapsed_time_seconds": 41.6,
}


def test_run_summary_reads_the_stats_once() -> None:
    summary = stat.RunSummary.of(STATS)
    assert summary == stat.RunSummary(
        pages=12, inserted=7, updated=2, unchanged=1, rejected=2, failed=4, seconds=42
    )
    assert run_summary(STATS) == (
        "pages=12 new=7 updated=2 unchanged=1 rejected=2 failed=4 secs=42"
    )
    assert Progress.describe("rt-de", STATS) == (
        "rt-de: 12 pages, 7 new, 2 updated, 1 unchanged, 2 rejected, 4 failed"
    )
    assert stat.RunSummary.of({}).fields() == (
        "pages=0 new=0 updated=0 unchanged=0 rejected=0 failed=0 secs=0"
    )

"""The stats keys: named once in `crawler.stats`, documented in docs/stats.md, and
read into one run summary."""

from __future__ import annotations

import ast
import re

from crawler import stats as stat
from crawler.cli.runs import run_summary
from crawler.extensions.progress import Progress
from tests.unit.crawler.sourcescan import ROOT, string_literals


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


def test_no_stats_key_is_spelled_outside_the_stats_module() -> None:
    assert string_literals(r"newsingest/[a-z{]", allowed=ROOT / "crawler" / "stats.py") == []


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


WRITE_ONLY = {"RUN_ID", "RUN_STATUS", "CRAWL_ID", "SKIPPED_RUN_ID"}
"""Keys that name the run: the ledger records them, no component reads them back (the
run id and status travel by signal, the crawl id is a setting)."""


def test_the_run_keys_are_written_never_read() -> None:
    read = []
    for package in ("crawler", "storage"):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            written = {
                id(call.args[0])
                for call in ast.walk(tree)
                if isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "set_value"
                and call.args
            }
            read += [
                f"{path.relative_to(ROOT)}:{node.lineno}: stat.{node.attr}"
                for node in ast.walk(tree)
                if isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "stat"
                and node.attr in WRITE_ONLY
                and id(node) not in written
            ]
    assert read == []

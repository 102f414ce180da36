"""Golden pages: every case folder under ``golden/`` extracts to its ``expected.json``."""

from __future__ import annotations

import pytest

from tests.unit.extraction.golden_io import case_names, diff, load_case, run_case

CASES = case_names()


def test_there_are_at_least_fifteen_golden_cases_in_five_languages() -> None:
    assert len(CASES) >= 15
    languages = {name.split("-", 1)[0] for name in CASES}
    assert {"de", "en", "fr", "es", "ru"} <= languages


@pytest.mark.parametrize("name", CASES)
def test_golden_page_extracts_to_expected_record(name: str) -> None:
    case = load_case(name)
    assert case.expected, f"{name}: expected.json is missing"
    problems = diff(case.expected, run_case(case))
    assert not problems, f"{name}: {len(problems)} field(s) differ\n" + "\n".join(problems)


@pytest.mark.parametrize("name", CASES)
def test_golden_record_lists_every_field(name: str) -> None:
    expected = load_case(name).expected
    if "record" in expected:
        from crawler.extraction import ArticleRecord

        assert set(expected["record"]) == set(ArticleRecord.__dataclass_fields__)

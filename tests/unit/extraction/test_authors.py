"""Finding the printed byline: a date line below the headline that ends with its author."""

from __future__ import annotations

import pytest

from crawler.extraction.authors import dated_byline


@pytest.mark.parametrize(
    ("line", "persons"),
    [
        ("14.03.2024 - Johanna Brenner", ("Johanna Brenner",)),
        ("March 5, 2024 | Samuel Achebe", ("Samuel Achebe",)),
        ("Mittwoch, 13.03.2024 – Johanna Brenner", ("Johanna Brenner",)),
        ("12.04.2024 · Мария Кузнецова", ("Мария Кузнецова",)),
    ],
)
def test_a_date_line_ending_with_full_names_is_a_byline(
    line: str, persons: tuple[str, ...]
) -> None:
    found = dated_byline(line)
    assert found is not None
    assert found.persons == persons
    assert found.raw == line  # the whole line leaves the body


@pytest.mark.parametrize(
    "line",
    [
        "14.03.2024 - Berlin",  # a place: one word
        "14.03.2024 - Politik und Gesellschaft",  # a section
        "14.03.2024 Johanna Brenner",  # no separator after the date
        "Johanna Brenner",  # no date
        "14.03.2024 - dpa",  # an agency alone is no author
    ],
)
def test_a_date_line_without_a_full_name_after_a_separator_is_no_byline(line: str) -> None:
    assert dated_byline(line) is None

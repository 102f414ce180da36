"""The models' constants agree with the record contract they store."""

from __future__ import annotations

from typing import get_args

from crawler.extraction.record import StubKind
from storage.models import STUB_KINDS, stub_check_sql


def test_the_stub_check_allows_exactly_the_records_stub_kinds() -> None:
    assert get_args(StubKind) == STUB_KINDS
    assert stub_check_sql() == "stub IN ('paywall', 'video')"

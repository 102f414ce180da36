"""Export serialization without a database: text layout parts, CSV and JSON values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from storage import export

ROW: dict[str, Any] = {
    "published_at": datetime(2025, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),
    "lead": "Der Vorspann.",
    "byline": "Von A und B (agentur)",
    "text": "Erster Absatz.\n\nZweiter Absatz.",
    "translation_note": "Übersetzt aus dem Russischen.",
}


def test_text_layout_uses_the_publication_month_in_utc() -> None:
    # 2025-03-01 00:30 +01:00 is still February in UTC
    assert export.render_text(ROW) == (
        " date 2025-02 Der Vorspann.\n\nVon A und B (agentur)\n\n"
        "Erster Absatz.\n\nZweiter Absatz.\n\nÜbersetzt aus dem Russischen.\n\n"
    )


def test_text_layout_leaves_out_empty_parts() -> None:
    bare = {**ROW, "published_at": None, "byline": None, "translation_note": ""}
    assert export.render_text(bare) == (" Der Vorspann.\n\nErster Absatz.\n\nZweiter Absatz.\n\n")
    no_lead = {**ROW, "lead": None, "byline": None, "translation_note": None, "text": "Nur."}
    assert export.render_text(no_lead) == " date 2025-02\n\nNur.\n\n"
    assert export.render_text({"text": ""}) == ""


def test_values_are_iso_utc_and_arrays() -> None:
    when = datetime(2025, 2, 14, 8, 30, tzinfo=timezone(timedelta(hours=1)))
    assert export.iso_utc(when) == "2025-02-14T07:30:00Z"
    assert export.json_value(["a", "b"]) == ["a", "b"]
    assert export.csv_value(["Anna", "Boris"]) == '["Anna", "Boris"]'
    assert export.csv_value(None) == ""
    assert export.csv_value(datetime(2025, 1, 1, tzinfo=UTC)) == "2025-01-01T00:00:00Z"

"""Export serialization without a database: text layout parts, CSV and JSON values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from storage import export

ROW: dict[str, Any] = {
    "published_at": datetime(2025, 2, 1, tzinfo=UTC),
    "published_precision": "month",
    "published_utc_offset": None,
    "lead": "Der Vorspann.",
    "byline": "Von A und B (agentur)",
    "text": "Erster Absatz.\n\nZweiter Absatz.",
    "translation_note": "Übersetzt aus dem Russischen.",
    "stub": None,
}


def test_text_layout_starts_with_the_outlets_date_at_the_stated_precision() -> None:
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


def test_text_layout_of_a_stub_ends_with_a_line_naming_its_kind() -> None:
    for kind in ("paywall", "video"):
        assert export.render_text({**ROW, "stub": kind}) == (
            " date 2025-02 Der Vorspann.\n\nVon A und B (agentur)\n\n"
            "Erster Absatz.\n\nZweiter Absatz.\n\nÜbersetzt aus dem Russischen.\n\n"
            f"stub: {kind}\n\n"
        )
    assert "stub" not in export.render_text({"text": "Nur.", "stub": None})


def test_text_layout_date_is_the_outlets_wall_clock_for_a_minute_precision_time() -> None:
    row = {**ROW, "published_at": datetime(2025, 2, 14, 6, 30, tzinfo=UTC),
           "published_precision": "minute", "published_utc_offset": 60}  # fmt: skip
    assert export.render_text(row).startswith(" date 2025-02-14 07:30 +01:00 Der Vorspann.")


TOKYO_7AM_ON_THE_15TH = datetime(2025, 2, 14, 22, 0, tzinfo=UTC)  # 2025-02-15 07:00 +09:00


def test_outlet_date_is_the_outlets_calendar_day_not_the_utc_one() -> None:
    assert export.outlet_date(TOKYO_7AM_ON_THE_15TH, "minute", 540) == "2025-02-15 07:00 +09:00"
    assert export.outlet_date(TOKYO_7AM_ON_THE_15TH, "day", 540) == "2025-02-15"
    assert export.outlet_date(TOKYO_7AM_ON_THE_15TH, None, 540) == "2025-02-15"


def test_outlet_date_prints_west_of_utc_and_half_hour_offsets() -> None:
    new_york = datetime(2025, 3, 1, 2, 15, tzinfo=UTC)  # still February 28th there
    assert export.outlet_date(new_york, "minute", -300) == "2025-02-28 21:15 -05:00"
    assert export.outlet_date(new_york, "month", -300) == "2025-02"
    assert export.outlet_date(new_york, "minute", 330) == "2025-03-01 07:45 +05:30"
    assert export.outlet_date(new_york, "minute", -570) == "2025-02-28 16:45 -09:30"


def test_outlet_date_without_an_offset_prints_the_stored_utc_value() -> None:
    day_only = datetime(2025, 2, 14, tzinfo=UTC)
    assert export.outlet_date(day_only, "day", None) == "2025-02-14"
    assert export.outlet_date(day_only, "month", None) == "2025-02"
    assert export.outlet_date(day_only, "year", None) == "2025"
    # an aware value in another zone is still read as the UTC instant it is
    late = datetime(2025, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    assert export.outlet_date(late, "day", None) == "2025-02-28"
    assert export.outlet_date(late, "minute", None) == "2025-02-28 23:30 UTC"


def test_values_are_iso_utc_and_arrays() -> None:
    when = datetime(2025, 2, 14, 8, 30, tzinfo=timezone(timedelta(hours=1)))
    assert export.iso_utc(when) == "2025-02-14T07:30:00Z"
    assert export.json_value(["a", "b"]) == ["a", "b"]
    assert export.csv_value(["Anna", "Boris"]) == '["Anna", "Boris"]'
    assert export.csv_value(["dpa", "AFP"]) == '["dpa", "AFP"]'
    assert export.csv_value(-300) == "-300"  # a UTC offset west of UTC stays a number
    assert export.csv_value(None) == ""
    assert (export.csv_value("paywall"), export.json_value("video")) == ("paywall", "video")
    assert export.csv_value(datetime(2025, 1, 1, tzinfo=UTC)) == "2025-01-01T00:00:00Z"


def test_text_cells_spreadsheets_would_run_get_a_quote_unless_raw() -> None:
    for cell in ("=HYPERLINK(1)", "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"):
        assert export.csv_value(cell) == "'" + cell
        assert export.csv_value(cell, raw=True) == cell
    assert export.csv_value(-12345) == "-12345"  # numbers stay numbers
    assert export.csv_value("Harbour = port") == "Harbour = port"


def test_exports_never_write_through_a_planted_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    for name in ("7.txt.part", "out.csv.part"):
        (out_dir / name).symlink_to(victim)
    rows = [{"id": 7, "published_at": None, "lead": "Lead", "byline": None, "text": "Body",
             "translation_note": None}]  # fmt: skip
    export.write_text_files(rows, out_dir)
    with export.replacing(out_dir / "out.csv") as out:
        out.write("a,b\r\n")
    assert victim.read_text(encoding="utf-8") == "keep me"
    assert (out_dir / "7.txt").read_text(encoding="utf-8").startswith(" Lead")
    assert (out_dir / "out.csv").read_bytes() == b"a,b\r\n"
    assert not list(out_dir.glob(".*.part"))

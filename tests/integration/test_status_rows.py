"""`status` reads a few runs of every source, and older ones only where the verdict needs them.

`crawler.cli.runs.status_rows` reads each source's newest `FIRST_RUNS` runs, then
`ALL_RUNS` of the sources whose degradation streak or recent window reaches past them.
Its report must be the one every source's `ALL_RUNS` runs give: a streak older than the
first runs starts where it starts, and a source crawled often with few records a run is
judged on as many runs as its window takes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from crawler.cli.runs import ALL_RUNS, FIRST_RUNS, status_rows
from crawler.health import Thresholds
from crawler.sources import Source
from storage import db, fieldstats, sources

NOW = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
TH = Thresholds(field_drop=0.3, rejection_rise=0.3, words_ratio=0.5, min_records=10,
                baseline_days=30)  # fmt: skip
BAD_RUNS = FIRST_RUNS + 3
"""The newest runs of the degraded sources that lost their authors: more than are read first."""


def _fill(session: Session, key: str, records: int, bad_runs: int, runs: int = 20) -> list[int]:
    """``runs`` hourly runs of ``records`` records each, all with authors but the newest
    ``bad_runs``, oldest first (run ids grow with time); their sum as today's row."""
    sid = sources.upsert_source(
        session, sources.SourceRow(key=key, name=key, url=f"https://{key}.example/", language="de")
    )
    ids = []
    for hours_ago in range(runs, 0, -1):
        started = NOW - timedelta(hours=hours_ago)
        run_id = session.execute(
            text(
                "INSERT INTO crawl_runs (source_id, trigger, host, pid, status, started_at,"
                " finished_at, stats) VALUES (:sid, 'schedule', 'test', 1, 'succeeded', :at,"
                " :at + interval '2 minutes', '{}') RETURNING id"
            ),
            {"sid": sid, "at": started},
        ).scalar_one()
        authors = 0 if hours_ago <= bad_runs else records
        session.execute(
            text(
                "INSERT INTO run_field_stats (run_id, source_id, records, with_title,"
                " with_authors, words_hist) VALUES (:run, :sid, :n, :n, :a, :hist)"
            ),
            {"run": run_id, "sid": sid, "n": records, "a": authors, "hist": [0, 0, 0, records]},
        )
        ids.append(run_id)
    good = runs - bad_runs
    session.execute(
        text(
            "INSERT INTO source_daily_stats (source_id, day, records, with_title, with_authors,"
            " words_hist) VALUES (:sid, :day, :n, :n, :a, :hist)"
        ),
        {"sid": sid, "day": NOW.date(), "n": runs * records, "a": good * records,
         "hist": [0, 0, 0, runs * records]},
    )  # fmt: skip
    return ids


def _started(session: Session, run_id: int) -> str:
    at = session.execute(text("SELECT started_at FROM crawl_runs WHERE id = :id"), {"id": run_id})
    return str(at.scalar_one().isoformat(timespec="seconds"))


def test_status_reads_older_runs_only_where_the_verdict_needs_them_and_reports_as_with_all(
    sessions: sessionmaker[Session], database_url: str
) -> None:
    with db.transaction(sessions) as session:
        streak = _fill(session, "streak", records=10, bad_runs=BAD_RUNS)
        sparse = _fill(session, "sparse", records=1, bad_runs=BAD_RUNS)
        _fill(session, "steady", records=10, bad_runs=0)
        first_bad = {"streak": _started(session, streak[-BAD_RUNS]),
                     "sparse": _started(session, sparse[-BAD_RUNS])}  # fmt: skip
    listed = [Source(key=k, name=k, url=f"https://{k}.example/") for k in ("streak", "sparse",
                                                                           "steady")]  # fmt: skip
    rows = {r["source"]: r for r in status_rows(database_url, listed, NOW, TH)}

    assert {k: r["verdict"] for k, r in rows.items()} == {
        "streak": "degraded",  # its streak goes back past the first runs read
        "sparse": "degraded",  # 1 record a run: its window of 10 takes more than the first runs
        "steady": "ok",
    }
    for key in ("streak", "sparse"):
        (found,) = rows[key]["degraded"]
        assert found["field"] == "authors" and found["since"] == first_bad[key]

    # the same report as from every source's ALL_RUNS runs
    with sessions() as session:
        every: dict[str, Any] = fieldstats.source_field_stats(
            session, [s.key for s in listed], NOW, days=TH.baseline_days, runs=ALL_RUNS,
            summed=True,
        )  # fmt: skip
    assert status_rows(database_url, listed, NOW, TH, every) == list(rows.values())


def test_source_runs_reads_the_newest_runs_of_the_sources_asked_for(
    sessions: sessionmaker[Session],
) -> None:
    with db.transaction(sessions) as session:
        ids = _fill(session, "one", records=3, bad_runs=0, runs=6)
        _fill(session, "other", records=3, bad_runs=0, runs=6)
    with sessions() as session:
        found = fieldstats.source_runs(session, ["one", "never"], NOW, runs=4)
        old = fieldstats.source_runs(session, ["one"], NOW + timedelta(days=40))
    assert list(found) == ["one"]
    assert [r.run_id for r in found["one"]] == ids[::-1][:4]
    assert found["one"][0].counts.records == 3
    assert old == {}  # none started within the window

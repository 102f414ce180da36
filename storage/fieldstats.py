"""Field health counts: what share of a source's records have each field, kept at write time.

Every batch the write path stores adds, per source, to the row of the UTC day in
``source_daily_stats`` and, per crawl run, to the run's row in ``run_field_stats``
(migration 0012): how many records were stored (new, changed or unchanged: every page
extracted into a record), how many had a title, a lead, authors or credits, a
publication date (by precision), the source's declared language, a translation note; a
histogram of their body lengths (`WORD_EDGES`); and how many pages extraction rejected,
by reason. One ``INSERT … ON CONFLICT DO UPDATE`` per table and batch. Reading a
source's health then reads at most 30 day rows and its newest run rows (primary key and
``ix_run_field_stats_source_id_run_id``), never ``articles``.

Functions take a session and never commit.

Longer than ~400 lines on purpose: the counts (`FieldCounts`, `COUNTERS`, `WORD_EDGES`),
the statement that adds them and the reads that sum them back are one format of two
tables, changed together; apart, each half would restate the other's column list.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from crawler.extraction.record import ArticleRecord

WORD_EDGES = (10, 25, 50, 100, 150, 200, 300, 400, 500, 700, 1000, 1500, 2000, 3000, 5000)
"""Bucket bounds of the body-length histogram (``words_hist``): bucket 0 counts records
under 10 words, bucket i those from ``WORD_EDGES[i-1]`` up to ``WORD_EDGES[i]``, the last
5,000 words and more. Medians are read off it (`FieldCounts.median_words`)."""

COUNTERS = (
    "records",
    "with_title",
    "with_lead",
    "with_authors",
    "published_minute",
    "published_day",
    "published_month",
    "published_year",
    "language_agrees",
    "with_translation",
    "rejected",
)
"""The integer columns of ``source_daily_stats`` and ``run_field_stats`` kept here."""

FIELDS: dict[str, tuple[str, ...]] = {
    "title": ("with_title",),
    "lead": ("with_lead",),
    "authors": ("with_authors",),
    "published": ("published_minute", "published_day", "published_month", "published_year"),
    "published_minute": ("published_minute",),
    "published_day": ("published_day",),
    "language": ("language_agrees",),
    "translation": ("with_translation",),
}
"""Field name -> the counters whose sum is the number of records that have it.
``authors`` counts records with authors or credits; ``published`` any precision,
``published_minute``/``published_day`` that precision; ``language`` records whose
language is the source's declared one."""


@dataclass(frozen=True, slots=True)
class FieldCounts:
    """Field counts of a set of records and rejected pages (a day, a run, a window)."""

    records: int = 0
    with_title: int = 0
    with_lead: int = 0
    with_authors: int = 0
    published_minute: int = 0
    published_day: int = 0
    published_month: int = 0
    published_year: int = 0
    language_agrees: int = 0
    with_translation: int = 0
    rejected: int = 0
    words_hist: tuple[int, ...] = ()
    rejections: Mapping[str, int] = field(default_factory=dict)

    def __add__(self, other: FieldCounts) -> FieldCounts:
        return sum_counts((self, other))

    def minus(self, other: FieldCounts) -> FieldCounts:
        """These counts without ``other``'s (a part of them), never below zero."""
        size = len(self.words_hist)
        b = (*other.words_hist, *[0] * max(0, size - len(other.words_hist)))
        return FieldCounts(
            **{c: max(0, getattr(self, c) - getattr(other, c)) for c in COUNTERS},
            words_hist=tuple(max(0, x - y) for x, y in zip(self.words_hist, b, strict=False)),
            rejections={
                r: n - other.rejections.get(r, 0)
                for r, n in self.rejections.items()
                if n - other.rejections.get(r, 0) > 0
            },
        )

    def count(self, name: str) -> int:
        """How many records have field ``name`` (a key of `FIELDS`)."""
        return sum(getattr(self, c) for c in FIELDS[name])

    def share(self, name: str) -> float | None:
        """The share of records that have field ``name``; None without records."""
        return self.count(name) / self.records if self.records else None

    @property
    def pages(self) -> int:
        """Records and rejected pages: the pages extraction decided on."""
        return self.records + self.rejected

    def rejection_rate(self, reason: str | None = None) -> float | None:
        """Rejected pages (of ``reason``, or all) per page decided on; None without any."""
        if not self.pages:
            return None
        n = self.rejected if reason is None else self.rejections.get(reason, 0)
        return n / self.pages

    def median_words(self) -> float | None:
        """The median body length in words, interpolated within its histogram bucket."""
        total = sum(self.words_hist)
        if not total:
            return None
        half = total / 2
        seen = 0
        for i, n in enumerate(self.words_hist):
            if n and seen + n >= half:
                low = 0 if i == 0 else WORD_EDGES[i - 1]
                if i >= len(WORD_EDGES):
                    return float(low)
                return low + (WORD_EDGES[i] - low) * (half - seen) / n
            seen += n
        return float(WORD_EDGES[-1])

    def as_dict(self) -> dict[str, Any]:
        """The counts as plain JSON values."""
        out: dict[str, Any] = {c: getattr(self, c) for c in COUNTERS}
        out["words_hist"] = list(self.words_hist)
        out["rejections"] = dict(self.rejections)
        return out


def word_bucket(words: int) -> int:
    """The `WORD_EDGES` bucket of a body of ``words`` words."""
    for i, edge in enumerate(WORD_EDGES):
        if words < edge:
            return i
    return len(WORD_EDGES)


def count_records(records: Iterable[ArticleRecord], source_language: str | None) -> FieldCounts:
    """The field counts of ``records`` of a source declaring ``source_language``."""
    c = dict.fromkeys(COUNTERS, 0)
    hist = [0] * (len(WORD_EDGES) + 1)
    for r in records:
        c["records"] += 1
        c["with_title"] += bool(r.title)
        c["with_lead"] += bool(r.lead)
        c["with_authors"] += bool(r.authors or r.credits)
        if r.published_at is not None and r.published_precision:
            c[f"published_{r.published_precision}"] += 1
        c["language_agrees"] += bool(source_language) and r.language == source_language
        c["with_translation"] += r.translation is not None and bool(r.translation.note)
        hist[word_bucket(r.word_count)] += 1
    return _from_counters(c, tuple(hist), {})


def _from_counters(
    c: Mapping[str, int], hist: tuple[int, ...], rejections: Mapping[str, int]
) -> FieldCounts:
    return FieldCounts(
        records=c["records"],
        with_title=c["with_title"],
        with_lead=c["with_lead"],
        with_authors=c["with_authors"],
        published_minute=c["published_minute"],
        published_day=c["published_day"],
        published_month=c["published_month"],
        published_year=c["published_year"],
        language_agrees=c["language_agrees"],
        with_translation=c["with_translation"],
        rejected=c["rejected"],
        words_hist=hist,
        rejections=rejections,
    )


def count_rejections(reasons: Iterable[str]) -> FieldCounts:
    """The counts of pages rejected by extraction for ``reasons`` (one per page)."""
    by_reason: dict[str, int] = {}
    for reason in reasons:
        by_reason[reason] = by_reason.get(reason, 0) + 1
    return FieldCounts(rejected=sum(by_reason.values()), rejections=by_reason)


# --- writing ---------------------------------------------------------------------------------
def _add_sql(table: str, keys: str, key_types: Sequence[tuple[str, str]], day: bool) -> str:
    names = [k for k, _ in key_types]
    arrays = [f"CAST(:{k} AS {t}[])" for k, t in key_types]
    arrays += [f"CAST(:{c} AS bigint[])" for c in COUNTERS]
    arrays += ["CAST(:words_hist AS text[])", "CAST(:rejections AS text[])"]
    targets = [*names, *(["day"] if day else []), *COUNTERS, "words_hist", "rejections"]
    values = [f"r.{k}" for k in names]
    values += ["(statement_timestamp() AT TIME ZONE 'UTC')::date"] if day else []
    values += [f"r.{c}" for c in COUNTERS]
    values += ["CAST(r.words_hist AS bigint[])", "CAST(r.rejections AS jsonb)"]
    sets = [f"{c} = t.{c} + EXCLUDED.{c}" for c in COUNTERS]
    sets.append(
        "words_hist = ARRAY(SELECT coalesce(x, 0) + coalesce(y, 0)"
        " FROM unnest(t.words_hist, EXCLUDED.words_hist) WITH ORDINALITY AS h(x, y, i)"
        " ORDER BY i)"
    )
    sets.append(
        "rejections = (SELECT coalesce(jsonb_object_agg(k, n), '{}'::jsonb) FROM"
        " (SELECT k, sum(v::bigint) AS n FROM (SELECT * FROM jsonb_each_text(t.rejections)"
        " UNION ALL SELECT * FROM jsonb_each_text(EXCLUDED.rejections)) AS u(k, v)"
        " GROUP BY k) AS s)"
    )
    return (
        f"INSERT INTO {table} AS t ({', '.join(targets)}) SELECT {', '.join(values)}"
        f" FROM unnest({', '.join(arrays)})"
        f" AS r({', '.join([*names, *COUNTERS, 'words_hist', 'rejections'])})"
        f" ON CONFLICT ({keys}) DO UPDATE SET {', '.join(sets)}"
    )


_ADD_DAILY = text(
    _add_sql("source_daily_stats", "source_id, day", [("source_id", "integer")], day=True)
)
_ADD_RUN = text(
    _add_sql(
        "run_field_stats", "run_id", [("run_id", "integer"), ("source_id", "integer")], day=False
    )
)


def _params(rows: Sequence[tuple[dict[str, int], FieldCounts]]) -> dict[str, list[Any]]:
    params: dict[str, list[Any]] = {}
    for keys, counts in rows:
        for k, v in keys.items():
            params.setdefault(k, []).append(v)
        for c in COUNTERS:
            params.setdefault(c, []).append(getattr(counts, c))
        params.setdefault("words_hist", []).append(
            "{" + ",".join(str(n) for n in counts.words_hist) + "}"
        )
        params.setdefault("rejections", []).append(json.dumps(dict(counts.rejections)))
    return params


def add_counts(session: Session, counts: Mapping[tuple[int, int | None], FieldCounts]) -> None:
    """Add ``counts`` by ``(source_id, run_id)`` to today's row of each source in
    ``source_daily_stats`` and to each run's row in ``run_field_stats`` (run None: the
    day only). Two statements whatever the number of sources and runs."""
    by_source: dict[int, FieldCounts] = {}
    runs: list[tuple[dict[str, int], FieldCounts]] = []
    for (source_id, run_id), c in counts.items():
        if not c.pages:
            continue
        by_source[source_id] = by_source.get(source_id, FieldCounts()) + c
        if run_id is not None:
            runs.append(({"run_id": run_id, "source_id": source_id}, c))
    if by_source:
        daily = [({"source_id": sid}, c) for sid, c in sorted(by_source.items())]
        session.execute(_ADD_DAILY, _params(daily))
    if runs:
        runs.sort(key=lambda row: row[0]["run_id"])
        session.execute(_ADD_RUN, _params(runs))


def source_languages(session: Session, source_ids: Iterable[int]) -> dict[int, str | None]:
    """The declared language of each source (``sources.language``), by id."""
    ids = sorted(set(source_ids))
    if not ids:
        return {}
    rows = session.execute(
        text("SELECT id, language FROM sources WHERE id = ANY(CAST(:ids AS integer[]))"),
        {"ids": ids},
    )
    return {sid: lang for sid, lang in rows}


# --- reading ---------------------------------------------------------------------------------
class RunCounts:
    """The field counts of one crawl run.

    Read lazily: a source's newest runs are fetched together, but a verdict usually
    needs only the first few of them (`crawler.health.recent_window`), so each run's
    counts are built from its row the first time they are asked for."""

    __slots__ = ("_counts", "_values", "run_id", "started_at", "status")

    def __init__(
        self,
        run_id: int,
        started_at: datetime,
        status: str,
        counts: FieldCounts | None = None,
        *,
        values: Sequence[Any] | None = None,
    ) -> None:
        """``counts``, or ``values``: the row's counters, ``words_hist`` and
        ``rejections`` (`_counts`), read when `counts` is first asked for."""
        if (counts is None) == (values is None):
            raise ValueError("RunCounts takes counts or values")
        self.run_id = run_id
        self.started_at = started_at
        self.status = status
        self._counts = counts
        self._values = values

    @property
    def counts(self) -> FieldCounts:
        """The run's field counts."""
        if self._counts is None:
            assert self._values is not None
            self._counts, self._values = _counts(self._values), None
        return self._counts

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RunCounts):
            return NotImplemented
        return (self.run_id, self.started_at, self.status, self.counts) == (
            other.run_id, other.started_at, other.status, other.counts,
        )  # fmt: skip

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RunCounts({self.run_id!r}, {self.started_at!r}, {self.status!r}, {self.counts!r})"


@dataclass(frozen=True, slots=True)
class SourceFieldStats:
    """A source's field counts per day (the window's days that have any) and per run
    (its newest runs with any, newest first)."""

    key: str
    language: str | None
    days: dict[date, FieldCounts]
    runs: list[RunCounts]

    def total(self, since: date) -> FieldCounts:
        """The counts of the days from ``since`` on."""
        return sum_counts(c for day, c in self.days.items() if day >= since)


def sum_counts(parts: Iterable[FieldCounts]) -> FieldCounts:
    """The sum of ``parts`` (as ``+`` over them, in one pass)."""
    counters = [0] * len(COUNTERS)
    hist: list[int] = []
    reasons: dict[str, int] = {}
    for part in parts:
        for i, name in enumerate(COUNTERS):
            counters[i] += getattr(part, name)
        if len(part.words_hist) > len(hist):
            hist.extend([0] * (len(part.words_hist) - len(hist)))
        for i, n in enumerate(part.words_hist):
            hist[i] += n
        for reason, n in part.rejections.items():
            reasons[reason] = reasons.get(reason, 0) + n
    return FieldCounts(
        **dict(zip(COUNTERS, counters, strict=True)), words_hist=tuple(hist), rejections=reasons
    )


def _counts(values: Sequence[Any]) -> FieldCounts:
    """Field counts from a row's values: `COUNTERS` in order, ``words_hist``, and
    ``rejections`` as JSON text."""
    n = len(COUNTERS)
    hist, rejections = values[n], values[n + 1]
    return FieldCounts(
        **dict(zip(COUNTERS, values[:n], strict=True)),
        words_hist=tuple(hist) if hist else (),
        rejections=json.loads(rejections) if rejections and rejections != "{}" else {},
    )


_COLUMNS = ", ".join([*COUNTERS, "words_hist", "rejections"])

_DAYS = text(f"""
SELECT s.key, d.day, {", ".join(f"d.{c}" for c in [*COUNTERS, "words_hist"])},
       d.rejections::text
FROM sources AS s JOIN source_daily_stats AS d ON d.source_id = s.id
WHERE s.key = ANY(CAST(:keys AS text[])) AND d.day >= :first
  AND (d.records > 0 OR d.rejected > 0)
""")

_HIST_SUMS = ", ".join(
    f"coalesce(sum(d.words_hist[{i}]), 0)::bigint" for i in range(1, len(WORD_EDGES) + 2)
)

_WINDOW = text(f"""
SELECT s.key, {", ".join(f"sum(d.{c})::bigint" for c in COUNTERS)},
  (ARRAY[{_HIST_SUMS}])[1:max(cardinality(d.words_hist))],
  (SELECT coalesce(jsonb_object_agg(r.k, r.n), '{{}}'::jsonb)::text FROM (
     SELECT e.k, sum(e.v::bigint) AS n
     FROM source_daily_stats AS x CROSS JOIN LATERAL jsonb_each_text(x.rejections) AS e(k, v)
     WHERE x.source_id = s.id AND x.day >= :first GROUP BY e.k) AS r)
FROM sources AS s JOIN source_daily_stats AS d ON d.source_id = s.id
WHERE s.key = ANY(CAST(:keys AS text[])) AND d.day >= :first
GROUP BY s.id, s.key
HAVING sum(d.records) > 0 OR sum(d.rejected) > 0
""")
"""`_DAYS` added up per source in the database: one row a source instead of one a day.
The histograms are added position by position in the same aggregate, cut to the
longest day's (as written: ``len(WORD_EDGES) + 1``); an ``unnest`` of every day's
histogram per source took 0.14 ms a source, 3/4 of the query at 500 sources."""

_RUNS = text(f"""
SELECT s.key, f.run_id, r.started_at, r.status, {", ".join(f"f.{c}" for c in COUNTERS)},
       f.words_hist, f.rejections::text
FROM sources AS s
CROSS JOIN LATERAL (
    SELECT {_COLUMNS}, run_id FROM run_field_stats AS x
    WHERE x.source_id = s.id ORDER BY x.run_id DESC LIMIT :runs
) AS f
CROSS JOIN LATERAL (
    SELECT c.started_at, c.status FROM crawl_runs AS c WHERE c.id = f.run_id
) AS r
WHERE s.key = ANY(CAST(:keys AS text[])) AND r.started_at >= :since
ORDER BY s.key, f.run_id DESC
""")
"""A source's newest run rows off ``ix_run_field_stats_source_id_run_id`` (run ids grow
with time), each run's start by ``pk_crawl_runs`` (a LATERAL lookup: joined plainly, the
planner read all of ``crawl_runs`` and its stats documents, 13 s for 500 sources with
720 runs each)."""


def source_field_stats(
    session: Session,
    keys: Sequence[str],
    now: datetime,
    *,
    days: int = 30,
    runs: int = 50,
    summed: bool = False,
) -> dict[str, SourceFieldStats]:
    """Field counts of each of ``keys``: its days in the last ``days`` UTC days (today
    included) and its newest ``runs`` runs started within them. Sources never stored
    have empty counts. ``summed``: the days come added up, as one entry keyed by the
    window's first day (what `SourceFieldStats.total` of the window needs, as `status`
    reads it, without a row per day)."""
    first = now.date() - timedelta(days=days - 1)
    out = {
        key: SourceFieldStats(key=key, language=lang, days={}, runs=[])
        for key, lang in session.execute(
            text("SELECT key, language FROM sources WHERE key = ANY(CAST(:keys AS text[]))"),
            {"keys": list(keys)},
        )
    }
    params = {"keys": list(keys), "first": first}
    if summed:
        for row in session.execute(_WINDOW, params).all():
            out[row[0]].days[first] = _counts(row[1:])
    else:
        for row in session.execute(_DAYS, params).all():
            out[row[0]].days[row[1]] = _counts(row[2:])
    for key, found in source_runs(session, keys, now, days=days, runs=runs).items():
        out[key].runs.extend(found)
    for key in keys:
        out.setdefault(key, SourceFieldStats(key=key, language=None, days={}, runs=[]))
    return out


def source_runs(
    session: Session, keys: Sequence[str], now: datetime, *, days: int = 30, runs: int = 50
) -> dict[str, list[RunCounts]]:
    """The newest ``runs`` run rows of each of ``keys`` started within the last ``days``
    UTC days (today included), newest first; sources without any are left out. What
    `source_field_stats` reads of runs, alone: for reading more of them for some
    sources only (`status` reads a few runs of every source, then the older runs of
    those whose verdict needs them)."""
    first = now.date() - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo)
    out: dict[str, list[RunCounts]] = {}
    for row in session.execute(_RUNS, {"keys": list(keys), "since": since, "runs": runs}).all():
        out.setdefault(row[0], []).append(RunCounts(row[1], row[2], row[3], values=row[4:]))
    return out

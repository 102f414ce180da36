"""Near-duplicate links: ``articles.duplicate_of`` set by ``upsert_articles``."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from crawler.extraction.record import ArticleRecord
from crawler.extraction.text import content_hash, simhash, word_count
from storage import articles, db, migrate, sources
from storage.articles import StoredArticle
from storage.models import NEAR_DUPLICATE_DISTANCE, SIMHASH_BANDS, Article
from storage.sources import SourceRow
from tests.integration.conftest import _scratch_database

SUBJECTS = (
    *("The union", "The port operator", "The mayor", "Police", "The minister"),
    *("Economists", "Exporters", "Truck drivers", "The council", "Shipping lines"),
)
VERBS = ("said", "warned", "reported", "expected", "announced", "confirmed")
OBJECTS = (
    "that talks would resume on Tuesday",
    "long queues at the container terminal",
    "higher wages for night shifts",
    "delays for cargo trains",
    "losses for regional exporters",
    "a meeting with both sides",
    "that ships were diverted to other ports",
    "new safety rules for the docks",
    "a mediator from the labour ministry",
    "that the strike could last a week",
)


def _wire_story() -> str:
    rng = random.Random(7)
    return " ".join(
        f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}." for _ in range(60)
    )


WIRE = _wire_story()
WIRE_EDITED = WIRE + " Additional reporting by the agency desk."
UNRELATED = " ".join(
    f"The library opens reading room number {i} for children on the {i}th floor." for i in range(40)
)


def _distance(a: int, b: int) -> int:
    return bin((a ^ b) & (2**64 - 1)).count("1")


def _record(url: str, body: str, *, sim: int | None = None) -> ArticleRecord:
    return ArticleRecord(
        url=url,
        text=body,
        content_hash=content_hash(body),
        simhash=simhash(body) if sim is None else sim,
        word_count=word_count(body),
        extractor_version="test",
        title="Port strike",
        language="en",
        published_at=datetime(2025, 2, 14, tzinfo=UTC),
        published_precision="day",
    )


def _store(sessions: sessionmaker[Session], source: str, *records: ArticleRecord) -> dict[str, int]:
    with db.transaction(sessions) as session:
        source_id = sources.upsert_source(
            session, SourceRow(key=source, name=source.title(), url=f"https://{source}.example/")
        )
        return articles.upsert_articles(
            session, [StoredArticle(record=r, source_id=source_id) for r in records]
        ).ids


def _links(sessions: sessionmaker[Session]) -> dict[str, int | None]:
    with sessions() as session:
        rows = session.execute(select(Article.url, Article.duplicate_of)).all()
    return {url: dup for url, dup in rows}


def test_wire_copy_in_two_sources_is_linked_to_the_earliest(
    sessions: sessionmaker[Session],
) -> None:
    assert 0 < _distance(simhash(WIRE), simhash(WIRE_EDITED)) <= NEAR_DUPLICATE_DISTANCE
    first = _store(sessions, "agency", _record("https://agency.example/strike", WIRE))
    _store(sessions, "daily", _record("https://daily.example/strike", WIRE_EDITED))
    _store(sessions, "weekly", _record("https://weekly.example/strike", WIRE_EDITED + " More."))
    links = _links(sessions)
    original = first["https://agency.example/strike"]
    assert links == {
        "https://agency.example/strike": None,
        "https://daily.example/strike": original,
        "https://weekly.example/strike": original,
    }


def test_unrelated_text_is_not_linked(sessions: sessionmaker[Session]) -> None:
    assert _distance(simhash(WIRE), simhash(UNRELATED)) > NEAR_DUPLICATE_DISTANCE
    _store(sessions, "agency", _record("https://agency.example/strike", WIRE))
    _store(sessions, "daily", _record("https://daily.example/library", UNRELATED))
    assert _links(sessions)["https://daily.example/library"] is None


def test_exact_copy_is_linked_by_content_hash_even_with_a_distant_simhash(
    sessions: sessionmaker[Session],
) -> None:
    first = _store(sessions, "agency", _record("https://agency.example/a", WIRE, sim=0))
    _store(sessions, "daily", _record("https://daily.example/a", WIRE, sim=-1))  # 64 bits off
    assert _links(sessions)["https://daily.example/a"] == first["https://agency.example/a"]


def test_hamming_distance_limit_is_inclusive(sessions: sessionmaker[Session]) -> None:
    base = 0x0123_4567_89AB_CDEF
    within = base ^ 0b111  # 3 bits, all in band 0
    beyond = base ^ 0b1111  # 4 bits, all in band 0: a band candidate, but too far
    spread = base ^ (1 | 1 << 16 | 1 << 32)  # 3 bits in three bands: only band 3 is shared
    ids = _store(sessions, "agency", _record("https://a.example/0", "original text", sim=base))
    batch = _store(
        sessions,
        "daily",
        _record("https://d.example/within", "text one", sim=within),
        _record("https://d.example/beyond", "text two", sim=beyond),
        _record("https://d.example/spread", "text three", sim=spread),
    )
    links = _links(sessions)
    original = ids["https://a.example/0"]
    assert links["https://d.example/within"] == original
    assert links["https://d.example/spread"] == original
    # "beyond" is 4 bits from the original, but "within" (stored before it in the batch)
    # is 1 bit away from it: linked to that, never to the too-distant original
    assert links["https://d.example/beyond"] == batch["https://d.example/within"]


@pytest.mark.parametrize("shared", range(SIMHASH_BANDS))
def test_a_near_duplicate_sharing_only_one_band_is_found_through_that_band(
    sessions: sessionmaker[Session], shared: int
) -> None:
    # 3 bits off, one in each of the other bands: only band ``shared`` matches exactly,
    # so only that band's lookup finds the original.
    base = 0x0123_4567_89AB_CDEF
    near = base
    for band in range(SIMHASH_BANDS):
        if band != shared:
            near ^= 1 << (16 * band + 5)
    near = near - (1 << 64) if near >= 1 << 63 else near
    assert _distance(base, near) == NEAR_DUPLICATE_DISTANCE
    ids = _store(sessions, "agency", _record("https://a.example/0", "original text", sim=base))
    _store(sessions, "daily", _record("https://d.example/near", "other text", sim=near))
    assert _links(sessions)["https://d.example/near"] == ids["https://a.example/0"]


def test_near_duplicates_in_one_batch_link_to_the_first_of_the_batch(
    sessions: sessionmaker[Session],
) -> None:
    ids = _store(
        sessions,
        "daily",
        _record("https://daily.example/1", WIRE),
        _record("https://daily.example/2", WIRE_EDITED),
    )
    assert _links(sessions) == {
        "https://daily.example/1": None,
        "https://daily.example/2": ids["https://daily.example/1"],
    }


def test_reupserting_keeps_the_link_and_every_column_but_last_seen(
    sessions: sessionmaker[Session],
) -> None:
    first = _store(sessions, "agency", _record("https://agency.example/strike", WIRE))
    copy = _record("https://daily.example/strike", WIRE_EDITED)
    _store(sessions, "daily", copy)

    def snapshot() -> dict[str, dict[str, Any]]:
        with sessions() as session:
            rows = session.execute(select(Article)).scalars().all()
            return {
                r.url: {c.key: getattr(r, c.key) for c in Article.__table__.columns} for r in rows
            }

    before = snapshot()
    _store(sessions, "daily", copy)
    _store(sessions, "agency", _record("https://agency.example/strike", WIRE))
    after = snapshot()
    for url, row in after.items():
        assert row.pop("last_seen_at") > before[url].pop("last_seen_at")
        assert row == before[url], url
    assert (
        after["https://daily.example/strike"]["duplicate_of"]
        == first["https://agency.example/strike"]
    )
    assert after["https://agency.example/strike"]["duplicate_of"] is None


def test_changed_original_releases_copies_that_no_longer_match(
    sessions: sessionmaker[Session],
) -> None:
    _store(sessions, "agency", _record("https://agency.example/strike", WIRE))
    _store(sessions, "daily", _record("https://daily.example/strike", WIRE_EDITED))
    _store(sessions, "agency", _record("https://agency.example/strike", UNRELATED))
    assert _links(sessions)["https://daily.example/strike"] is None


def test_changed_article_links_to_an_earlier_match_of_its_new_content(
    sessions: sessionmaker[Session],
) -> None:
    ids = _store(sessions, "agency", _record("https://agency.example/strike", WIRE))
    _store(sessions, "daily", _record("https://daily.example/x", UNRELATED))
    result_ids = _store(sessions, "daily", replace(_record("https://daily.example/x", WIRE)))
    assert result_ids
    assert _links(sessions)["https://daily.example/x"] == ids["https://agency.example/strike"]


def test_migration_links_the_articles_stored_before_it(pg_server: str) -> None:
    for url in _scratch_database(pg_server):
        migrate.upgrade(url, "0002")
        engine = db.make_engine(url, pool_size=1)
        try:
            insert = text(
                "INSERT INTO articles (url, text, word_count, content_hash, simhash, "
                "extractor_version, first_seen_at) VALUES (:url, :text, 1, :hash, :sim, 'old', "
                "'2025-01-01'::timestamptz + make_interval(secs => :n))"
            )
            with engine.begin() as conn:
                for n, (name, body) in enumerate(
                    [("first", WIRE), ("copy", WIRE_EDITED), ("other", UNRELATED)]
                ):
                    conn.execute(
                        insert,
                        {
                            "url": name,
                            "text": body,
                            "hash": content_hash(body),
                            "sim": simhash(body),
                            "n": n,
                        },
                    )
            migrate.upgrade(url)
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT url, id, duplicate_of FROM articles"))
                links = {u: (i, d) for u, i, d in rows}
        finally:
            engine.dispose()
        assert links["copy"][1] == links["first"][0]
        assert links["first"][1] is None
        assert links["other"][1] is None

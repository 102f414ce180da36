"""Field health end to end: a site whose templates change between two crawls is degraded;
``newsingest metrics`` carries what the database holds, and a crawl serves it on its port.

Two fixture sites on 127.0.0.1. Both are crawled twice; between the crawls each
publishes twelve new articles. One site keeps its templates; the other moves its byline
and date out of the markup the extractor reads (a JSON blob its scripts would render).
The second crawl of both succeeds; ``status`` then says the changed one is ``degraded``,
naming authors and the publication date, and exits 1, while the steady one stays ``ok``.
"""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crawler.demo.server import SiteServer
from crawler.sources import load_sources
from storage.models import CrawlRun, FetchFailure, RunFieldStats
from tests.integration.conftest import PROJECT, Cli

FAST = ["-s", "AUTOTHROTTLE_ENABLED=False"]
WORDS = ["Hafen", "Stadt", "Rat", "Schiff", "Bahn", "Strom", "Brücke", "Markt", "Schule",
         "Fest", "Wetter", "Gericht", "Polizei", "Bürger", "Haushalt", "Verkehr"]  # fmt: skip


def _body(i: int) -> str:
    rnd = random.Random(i)
    paras = []
    for _ in range(6):
        words = [rnd.choice(WORDS) if k % 5 == 0 else rnd.choice(WORDS).lower() for k in range(36)]
        paras.append(f"<p>Der {' '.join(words)} wurde heute besprochen, sagte die Sprecherin.</p>")
    return "\n".join(paras)


def _page(i: int, *, moved: bool) -> str:
    stamp = f"2026-12-0{1 + i % 5}T08:{10 + i:02d}:00+01:00"
    head = (
        f'<meta property="article:published_time" content="{stamp}">'
        '<meta name="author" content="Anna Beispiel">'
    )
    byline = f'<p class="byline">Von Anna Beispiel</p><time datetime="{stamp}">{stamp}</time>'
    moved_meta = '<div class="c-meta" data-meta="{&quot;who&quot;: &quot;anna-b&quot;}"></div>'
    return (
        '<!DOCTYPE html><html lang="de"><head><meta charset="utf-8">'
        f"<title>Meldung {i}: Der Rat entscheidet über den Hafen | Stadtblatt</title>"
        '<meta name="description" content="Der Stadtrat hat am Abend über die Zukunft des '
        f'Hafens beraten, Meldung {i}.">{"" if moved else head}</head><body>'
        '<header><a href="/">Stadtblatt</a></header><article>'
        f"<h1>Meldung {i}: Der Rat entscheidet über den Hafen</h1>"
        f"{'' if moved else byline}{_body(i)}{moved_meta if moved else ''}</article></body></html>"
    )


def _publish(root: Path, numbers: range, *, moved: bool) -> None:
    (root / "news").mkdir(parents=True, exist_ok=True)
    for i in numbers:
        (root / "news" / f"meldung-{i}.html").write_text(_page(i, moved=moved), encoding="utf-8")
    links = "".join(
        f'<li><a href="/news/{p.name}">{p.stem}</a></li>' for p in sorted(root.glob("news/*.html"))
    )
    (root / "index.html").write_text(f"<html><body><ul>{links}</ul></body></html>")
    (root / "robots.txt").write_text("User-agent: *\nDisallow:\n")


def test_a_site_whose_byline_and_date_markup_moved_is_degraded_and_a_steady_one_stays_ok(
    cli: Cli, tmp_path: Path
) -> None:
    steady_root, changing_root = tmp_path / "steady", tmp_path / "changing"
    _publish(steady_root, range(1, 13), moved=False)
    _publish(changing_root, range(1, 13), moved=False)
    with SiteServer(steady_root) as steady, SiteServer(changing_root) as changing:
        sources = tmp_path / "s.yaml"
        sources.write_text(
            "sources:\n"
            f"  - {{key: steady, url: '{steady.base_url}/', language: de}}\n"
            f"  - {{key: changing, url: '{changing.base_url}/', language: de}}\n",
            encoding="utf-8",
        )
        first = cli.run("crawl", "steady", "changing", "--sources", str(sources), *FAST)
        assert first.returncode == 0, first.stdout + first.stderr
        before = cli.run("status", "--sources", str(sources))
        assert before.returncode == 0, before.stdout + before.stderr

        _publish(steady_root, range(13, 25), moved=False)
        _publish(changing_root, range(13, 25), moved=True)  # the templates change
        second = cli.run("crawl", "steady", "changing", "--sources", str(sources), *FAST)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "changing: succeeded" in second.stdout

    result = cli.run("status", "--json", "--sources", str(sources))
    assert result.returncode == 1, result.stdout + result.stderr
    rows = {row["source"]: row for row in json.loads(result.stdout)["sources"]}
    assert rows["steady"]["verdict"] == "ok" and rows["steady"]["degraded"] == []
    assert rows["changing"]["verdict"] == "degraded"
    fields = {d["field"]: d for d in rows["changing"]["degraded"]}
    assert {"authors", "published"} <= set(fields)
    assert (fields["authors"]["baseline"], fields["authors"]["recent"]) == (1.0, 0.0)
    assert "title" not in fields and "words" not in fields

    text = cli.run("status", "--sources", str(sources))
    assert text.returncode == 1
    (line,) = [ln for ln in text.stdout.splitlines() if ln.startswith("changing: degraded — ")]
    assert "authors 100% → 0% since 20" in line and "published 100% → 0%" in line

    health = cli.run("health", "changing", "--json", "--sources", str(sources))
    assert health.returncode == 0, health.stderr
    (doc,) = json.loads(health.stdout)["sources"]
    assert doc["last_run"]["records"] == 12 and doc["last_run"]["shares"]["authors"] == 0.0
    assert doc["baseline"]["records"] == 24 and doc["baseline"]["shares"]["authors"] == 0.5
    assert doc["baseline"]["shares"]["title"] == 1.0

    table = cli.run("health", "--sources", str(sources), "--spark")
    assert table.returncode == 0, table.stderr
    assert "changing: degraded — authors" in table.stdout and "▁" in table.stdout

    unknown = cli.run("health", "nope", "--sources", str(sources))
    assert unknown.returncode == 2
    assert unknown.stderr.strip().splitlines() == [f"error: unknown source(s) in {sources}: nope"]


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_parse_as_prometheus_text_and_carry_what_the_database_holds(
    cli: Cli, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    root = tmp_path / "site"
    _publish(root, range(1, 13), moved=False)
    (root / "news" / "kurz.html").write_text("<html><body><p>Nur ein Satz.</p></body></html>")
    index = (root / "index.html").read_text()
    (root / "index.html").write_text(
        index.replace(
            "</ul>",
            '<li><a href="/news/weg.html">w</a></li><li><a href="/news/kurz.html">k</a></li></ul>',
        )
    )
    with SiteServer(root) as site:
        sources = tmp_path / "s.yaml"
        sources.write_text(f"sources:\n  - {{key: site, url: '{site.base_url}/', language: de}}\n")
        crawl = cli.run("crawl", "site", "--sources", str(sources), *FAST)
        assert crawl.returncode == 0, crawl.stdout + crawl.stderr
    result = cli.run("metrics", "--sources", str(sources))
    assert result.returncode == 0, result.stderr
    got = _samples(result.stdout)

    with sessions() as session:
        run = session.execute(select(CrawlRun)).scalar_one()
        failures = session.execute(
            select(FetchFailure.stage, FetchFailure.reason, func.count()).group_by(
                FetchFailure.stage, FetchFailure.reason
            )
        ).all()
        fields = session.execute(select(RunFieldStats)).scalar_one()

    def g(name: str, **labels: str) -> float:
        return got[(name, tuple(sorted({"source": "site", **labels}.items())))]

    assert g("newsingest_source_verdict", verdict="ok") == 1
    assert g("newsingest_source_verdict", verdict="degraded") == 0
    assert run.finished_at is not None
    assert g("newsingest_source_last_success_timestamp_seconds") == pytest.approx(
        run.finished_at.timestamp()
    )
    (source,) = load_sources(sources)
    assert g("newsingest_source_interval_seconds") == source.interval.total_seconds()
    assert g("newsingest_source_last_run_articles", outcome="new") == 12
    assert run.stats["newsingest/store/inserted"] == 12
    assert {("http_404", 1.0), ("too_short", 1.0)} <= {(r, float(n)) for _, r, n in failures}
    for stage, reason, n in failures:
        assert g("newsingest_source_last_run_failures", stage=stage, reason=reason) == n
    assert fields.records == 12 and fields.rejected == 1
    for window in ("last_run", "7d", "baseline"):
        share = g("newsingest_source_field_share", field="authors", window=window)
        assert share == fields.with_authors / fields.records
        assert g("newsingest_source_rejection_rate", window=window) == pytest.approx(1 / 13)
    assert got[("newsingest_spool_entries", (("kind", "article"),))] == 0

    folder = tmp_path / "textfile"
    folder.mkdir()
    written = cli.run("metrics", "--textfile", str(folder), "--sources", str(sources))
    assert written.returncode == 0, written.stderr
    assert written.stdout == ""
    assert [p.name for p in folder.iterdir()] == ["newsingest.prom"]
    assert _samples((folder / "newsingest.prom").read_text()) == got

    missing = cli.run("metrics", "--textfile", str(tmp_path / "nope"), "--sources", str(sources))
    assert missing.returncode == 2 and missing.stderr.startswith("error: --textfile")


def test_a_crawl_serves_metrics_on_its_loopback_port_while_it_runs(
    cli: Cli, tmp_path: Path
) -> None:
    root = tmp_path / "site"
    _publish(root, range(1, 4), moved=False)
    (root / "langsam-src.html").write_text(_page(99, moved=False), encoding="utf-8")
    (root / "_routes.json").write_text(
        '{"/news/langsam.html": {"delay": 8.0, "file": "langsam-src.html"}}'
    )
    index = (root / "index.html").read_text()
    (root / "index.html").write_text(
        index.replace("</ul>", '<li><a href="/news/langsam.html">l</a></li></ul>')
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with SiteServer(root) as site:
        sources = tmp_path / "s.yaml"
        sources.write_text(f"sources:\n  - {{key: site, url: '{site.base_url}/', language: de}}\n")
        args = ["crawl", "site", "--sources", str(sources), *FAST]
        crawl = subprocess.Popen(
            [sys.executable, "-m", "crawler.cli", *args, "-s", f"NEWSINGEST_METRICS_PORT={port}"],
            cwd=PROJECT,
            env=cli.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        scraped = ""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and crawl.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                    scraped = r.read().decode("utf-8")
            except OSError:
                scraped = ""
            if 'newsingest_crawl_running{source="site"} 1.0' in scraped:
                break
            time.sleep(0.3)
        out, err = crawl.communicate(timeout=180)
    assert crawl.returncode == 0, out + err
    got = _samples(scraped)
    assert got[("newsingest_crawl_running", (("source", "site"),))] == 1
    assert got[("newsingest_metrics_up", ())] == 1
    verdicts = {dict(lab)["verdict"] for name, lab in got if name == "newsingest_source_verdict"}
    assert "ok" in verdicts and "degraded" in verdicts

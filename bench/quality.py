"""Quality benchmark: our extractor vs plain ``trafilatura.bare_extraction`` on a corpus.

Usage::

    python bench/quality.py CORPUS_DIR [--limit N] [--half dev|held_out|all] [--ablate]

CORPUS_DIR holds ``manifest.jsonl`` and ``html/*.html.gz`` (see the corpus README).
Pages are split by publisher into a development half and a held-out half
(``bench/corpus_split.json``, made by ``bench/make_split.py``); each half gets its own
table, so a change tuned on ``dev`` shows whether it generalizes on ``held_out``.
``--ablate`` adds, per half, the date and author scores with one signal switched off
(``crawler.extraction.signals``): what each signal is worth.
Scoring follows the corpus README:

* body (pages with ``body``): bag of words over ``\\w+`` tokens (lower-cased), per-page
  true/false positives; precision averaged over pages with a prediction, recall over
  pages with ground truth, F1 from the two means.
* snippets (pages with ``with``/``without``): whitespace-normalized substring test,
  micro-averaged precision/recall/F1.
* title: exact match after NFC, soft-hyphen/zero-width removal, whitespace collapsing.
* authors: per-page set F1 of names (case-insensitive, leading by/von/par/por/de dropped,
  lists split on ``, ; & | /`` and and/und/et/y/e), averaged over pages with ground truth.
* published: same calendar day (converted to the ground truth's offset when both have one;
  else ours is read in the offset the page stated, ``published_utc_offset``: the outlet's
  own calendar day, which is what a date-only ground truth records).
* authors+credits: the same, with our ``credits`` (organisations) counted as names, as a
  ground truth that lists agencies does.
* language: exact ISO 639-1 match where annotated.

Our body is ``record.text``; because our record moves the standfirst out of the body
into ``lead``, the ``ours+lead`` row scores ``lead + text`` when the lead is printed in
the page's ``<body>`` (its visible text: not inside ``<script>``, ``<style>``,
``<noscript>`` or ``<template>``) and not already in ``text`` (a lead taken from
``<meta>`` only is not body text, also when a script's JSON repeats it). A rejected
page counts as an empty prediction. Timing is wall-clock per page in this process (sequential).

Longer than ~400 lines on purpose: one benchmark in one script (loading, our extraction
and trafilatura's, the scorer the corpus README defines, the tables and the ablation).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from make_split import SPLIT_FILE, publisher
from trafilatura import bare_extraction

from crawler.extraction import ArticleRecord, Rejection, extract_article, signals
from crawler.extraction.article import parse_document

_WORD = re.compile(r"\w+")
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
_AUTHOR_SPLIT = re.compile(r"\s*(?:[,;&|/]|\s(?:and|und|et|y|e)\s)\s*", re.I)
_AUTHOR_PREFIX = re.compile(r"^(?:by|von|par|por|de)\s+", re.I)


def norm(text: str) -> str:
    """NFC, invisible characters removed, whitespace collapsed."""
    return " ".join(_INVISIBLE.sub("", unicodedata.normalize("NFC", text)).split())


def author_set(values: list[str] | str | None) -> set[str]:
    if not values:
        return set()
    items = [values] if isinstance(values, str) else values
    out: set[str] = set()
    for item in items:
        for piece in _AUTHOR_SPLIT.split(norm(item)):
            name = _AUTHOR_PREFIX.sub("", piece.strip()).strip().casefold()
            if name:
                out.add(name)
    return out


def local_zone(rec: ArticleRecord) -> tzinfo | None:
    """The zone the page stated with its date: the record's offset, else the raw value's."""
    if rec.published_precision in ("day", "month", "year") and rec.published_at is not None:
        return UTC  # a date-only value is stored as that day at 00:00 UTC, never shifted
    if rec.published_utc_offset is not None:
        return timezone(timedelta(minutes=rec.published_utc_offset))
    return UTC  # the record's fields only: ``published_raw`` is for people, not parsed here


def set_f1(pred: set[str], gold: set[str]) -> float:
    if not pred and not gold:
        return 1.0
    if not pred or not gold:
        return 0.0
    tp = len(pred & gold)
    if tp == 0:
        return 0.0
    p, r = tp / len(pred), tp / len(gold)
    return 2 * p * r / (p + r)


def same_day(pred: datetime | str | None, gold: str, local: tzinfo | None = None) -> bool:
    """Same calendar day: in the ground truth's offset when it has one, else in ``local``
    (the zone the prediction says its page used)."""
    if pred is None:
        return False
    try:
        gold_dt = datetime.fromisoformat(gold.replace("Z", "+00:00"))
    except ValueError:
        return False
    if isinstance(pred, str):
        try:
            pred_dt = datetime.fromisoformat(pred.replace("Z", "+00:00"))
        except ValueError:
            return False
    else:
        pred_dt = pred
    if pred_dt.tzinfo is not None and gold_dt.tzinfo is not None:
        pred_dt = pred_dt.astimezone(gold_dt.tzinfo)
    elif pred_dt.tzinfo is not None and local is not None:
        pred_dt = pred_dt.astimezone(local)
    return pred_dt.date() == gold_dt.date()


@dataclass
class Score:
    """Accumulated scores for one system."""

    name: str
    body_p: list[float] = field(default_factory=list)
    body_r: list[float] = field(default_factory=list)
    snip: Counter[str] = field(default_factory=Counter)
    title: list[bool] = field(default_factory=list)
    authors: list[float] = field(default_factory=list)
    credited: list[float] = field(default_factory=list)
    published: list[bool] = field(default_factory=list)
    language: list[bool] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)
    rejected: int = 0

    def add(self, row: dict[str, Any], out: dict[str, Any], ms: float) -> None:
        self.ms.append(ms)
        body = out.get("body") or ""
        if row.get("body"):
            gold = Counter(t.lower() for t in _WORD.findall(row["body"]))
            pred = Counter(t.lower() for t in _WORD.findall(body))
            tp = sum((gold & pred).values())
            if sum(pred.values()):
                self.body_p.append(tp / sum(pred.values()))
            self.body_r.append(tp / sum(gold.values()) if gold else 0.0)
        if row.get("with") is not None or row.get("without") is not None:
            nbody = norm(body)
            for snippet in row.get("with") or []:
                self.snip["tp" if norm(snippet) in nbody else "fn"] += 1
            for snippet in row.get("without") or []:
                self.snip["fp" if norm(snippet) in nbody else "tn"] += 1
        if row.get("title"):
            self.title.append(norm(out.get("title") or "") == norm(row["title"]))
        if row.get("authors"):
            gold_names = author_set(row["authors"])
            self.authors.append(set_f1(author_set(out.get("authors")), gold_names))
            names = [*(out.get("authors") or []), *(out.get("credits") or [])]
            self.credited.append(set_f1(author_set(names), gold_names))
        if row.get("published"):
            self.published.append(
                same_day(
                    out.get("published"),
                    str(row["published"]),
                    out.get("local_tz"),
                )
            )
        if row.get("language"):
            self.language.append((out.get("language") or "") == row["language"])

    def body_scores(self) -> tuple[float, float, float] | None:
        if not self.body_r:
            return None
        p = sum(self.body_p) / len(self.body_p) if self.body_p else 0.0
        r = sum(self.body_r) / len(self.body_r)
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    def snippet_scores(self) -> tuple[float, float, float] | None:
        tp, fn, fp = self.snip["tp"], self.snip["fn"], self.snip["fp"]
        if tp + fn + fp == 0:
            return None
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def ours(html: bytes, url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run our extractor; returns (text-only, lead+text) predictions."""
    return score_record(extract_article(html, url), html)


def score_record(
    rec: ArticleRecord | Rejection, html: bytes, body_reference: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Predictions from a result (the printed-lead check is outside the timed call)."""
    if not isinstance(rec, ArticleRecord):
        empty = {"body": "", "rejected": rec.reason}
        return empty, empty
    base = {
        "body": rec.text,
        "title": rec.title,
        "authors": list(rec.authors),
        "credits": list(rec.credits),
        "published": rec.published_at,
        "local_tz": local_zone(rec),
        "language": rec.language,
    }
    moved = False
    if rec.lead:
        # A lead printed in the page's <body> is article text shown to readers (a lead
        # from <meta> only is not); never count it twice.
        if body_reference is None:
            body_reference = printed_text(html)
        lead = norm(rec.lead)
        moved = lead in norm(body_reference) and lead not in norm(rec.text)
    with_lead = {**base, "body": f"{rec.lead}\n\n{rec.text}" if moved else rec.text}
    return base, with_lead


def printed_text(html: bytes) -> str:
    """The text of the page's ``<body>`` that readers see: without the contents of
    ``<script>``, ``<style>``, ``<noscript>`` and ``<template>`` (a page's JSON state in a
    ``<script>`` repeats its ``<meta>`` description, which is not printed)."""
    tree, _ = parse_document(html)
    body = tree.find("body") if tree is not None else None
    if body is None:
        return ""
    for el in list(body.iter("script", "style", "noscript", "template")):
        el.drop_tree()
    return str(body.text_content())


def plain_trafilatura(html: bytes, url: str) -> dict[str, Any]:
    doc = bare_extraction(html, url=url or None, with_metadata=True, include_comments=False)
    if doc is None:
        return {"body": ""}
    date_value = getattr(doc, "date", None)
    return {
        "body": getattr(doc, "text", None) or "",
        "title": getattr(doc, "title", None),
        "authors": (getattr(doc, "author", None) or "").split(";"),
        "published": date_value if isinstance(date_value, str | date) else None,
        "language": getattr(doc, "language", None),
    }


def fmt(values: tuple[float, float, float] | None) -> str:
    return " / ".join(f"{v:.3f}" for v in values) if values else "n/a"


def mean(values: list[bool] | list[float]) -> str:
    return f"{sum(values) / len(values):.3f} (n={len(values)})" if values else "n/a"


HALVES = ("dev", "held_out")


def load_halves(corpus: Path) -> dict[str, str]:
    """Publisher -> half for this corpus, from the committed split."""
    split = json.loads(SPLIT_FILE.read_text(encoding="utf-8"))
    names = split.get(corpus.resolve().name, {})
    return {name: h for h in HALVES for name in names.get(h, [])}


def table(title: str, scores: list[Score]) -> None:
    print(title)
    header = f"{'system':<12} | {'body P / R / F1':<23} | {'snippets P / R / F1':<23} | "
    header += f"{'title':<16} | {'authors F1':<16} | {'+credits F1':<16} | {'day':<16} | "
    header += f"{'lang':<16} | ms/page"
    print(header)
    print("-" * len(header))
    for score in scores:
        ms = sum(score.ms) / len(score.ms) if score.ms else 0.0
        print(
            f"{score.name:<12} | {fmt(score.body_scores()):<23} | "
            f"{fmt(score.snippet_scores()):<23} | "
            f"{mean(score.title):<16} | {mean(score.authors):<16} | "
            f"{mean(score.credited) if score.credited and any(score.credited) else 'n/a':<16} | "
            f"{mean(score.published):<16} | {mean(score.language):<16} | {ms:.1f}"
        )
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--half", choices=[*HALVES, "all"], default="all")
    parser.add_argument("--ablate", action="store_true", help="score each signal switched off")
    parser.add_argument("--dump", type=Path, help="write per-page predictions (JSON lines)")
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in (args.corpus / "manifest.jsonl").open(encoding="utf-8")]
    halves = load_halves(args.corpus)
    for row in rows:
        row["_half"] = halves.get(publisher(row), "dev")
    if args.half != "all":
        rows = [row for row in rows if row["_half"] == args.half]
    if args.limit:
        rows = rows[: args.limit]
    wanted = [h for h in HALVES if any(row["_half"] == h for row in rows)]
    mine = {h: Score("newsingest") for h in wanted}
    mine_text = {h: Score("text only") for h in wanted}
    traf = {h: Score("trafilatura") for h in wanted}
    ablated: dict[tuple[str, str], Score] = {}
    traf_body_ms: list[float] = []
    parse_ms: list[float] = []
    rejections: Counter[str] = Counter()
    dump = args.dump.open("w", encoding="utf-8") if args.dump else None
    # Warm up one-time initialisation (langdetect profiles, trafilatura stoplists).
    if rows:
        warm = gzip.decompress((args.corpus / rows[0]["html_path"]).read_bytes())
        ours(warm, rows[0].get("url") or "https://example.invalid/")
        plain_trafilatura(warm, rows[0].get("url") or "")
    for row in rows:
        h = row["_half"]
        html = gzip.decompress((args.corpus / row["html_path"]).read_bytes())
        url = row.get("url") or f"https://example.invalid/{row['id']}"
        t0 = time.perf_counter()
        result = extract_article(html, url)
        ours_ms = (time.perf_counter() - t0) * 1000
        t1 = time.perf_counter()
        plain = plain_trafilatura(html, row.get("url") or "")
        t2 = time.perf_counter()
        base, with_lead = score_record(result, html)
        tree, _ = parse_document(html)
        t3 = time.perf_counter()
        if tree is not None:
            bare_extraction(tree, url=url, with_metadata=False, include_comments=False)
        t4 = time.perf_counter()
        parse_ms.append((t3 - t2) * 1000)
        traf_body_ms.append((t4 - t3) * 1000)
        if "rejected" in base:
            rejections[base["rejected"]] += 1
            mine[h].rejected += 1
        mine[h].add(row, with_lead, ours_ms)
        mine_text[h].add(row, base, ours_ms)
        traf[h].add(row, plain, (t2 - t1) * 1000)
        if dump is not None:
            keep = ("title", "authors", "credits", "published", "local_tz", "rejected")
            dump.write(
                json.dumps(
                    {
                        "id": row["id"],
                        "half": h,
                        "gold": {k: row.get(k) for k in ("title", "authors", "published")},
                        "ours": {k: str(base.get(k)) for k in keep if base.get(k) is not None},
                        "traf": {k: str(plain.get(k)) for k in ("title", "authors", "published")},
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
        if args.ablate and (row.get("published") or row.get("authors")):
            for signal in signals.ALL:
                with signals.disabled(signal):
                    off, _ = score_record(extract_article(html, url), html)
                key = (h, signal)
                ablated.setdefault(key, Score(f"-{signal}")).add(
                    {k: row.get(k) for k in ("id", "authors", "published")}, off, 0.0
                )
    if dump is not None:
        dump.close()

    print(f"corpus: {args.corpus}  pages: {len(rows)}")
    print()
    for h in wanted:
        n = sum(1 for row in rows if row["_half"] == h)
        table(f"[{h}] {n} pages", [mine[h], mine_text[h], traf[h]])
        if args.ablate:
            print(f"[{h}] ablation: newsingest with one signal off (day / authors F1)")
            on_day, on_authors = mean(mine[h].published), mean(mine[h].authors)
            print(f"  {'all on':<16} day {on_day:<16} authors {on_authors}")
            for signal in signals.ALL:
                score = ablated.get((h, signal))
                if score is not None:
                    print(
                        f"  {'-' + signal:<16} day {mean(score.published):<16} "
                        f"authors {mean(score.authors)}"
                    )
            print()
    n = len(rows) or 1
    mean_ours_ms = sum(s.ms[i] for s in mine.values() for i in range(len(s.ms))) / n
    body_ms = sum(traf_body_ms) / n
    p_ms = sum(parse_ms) / n
    overhead = mean_ours_ms - body_ms - p_ms
    print(
        f"stages (ours, ms/page): parse {p_ms:.1f}, trafilatura body {body_ms:.1f}, "
        f"our metadata passes + language {overhead:.1f} "
        f"({100 * overhead / body_ms if body_ms else 0:.0f} % of trafilatura's body time)"
    )
    print(f"rejected by ours: {sum(s.rejected for s in mine.values())} {dict(rejections)}")
    print("'newsingest' scores lead + text as body; 'text only' scores the text field alone")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

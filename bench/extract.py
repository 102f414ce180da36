"""Per-stage cost of ``extract_article`` over a corpus sample, and language-detection agreement.

Usage::

    python bench/extract.py [--corpus DIR...] [--limit N] [--prefix 2000]

The extraction modules have no timing hooks, so the benchmark wraps, for the length of
the run, the passes ``crawler.extraction.article._extract`` calls (its module globals;
inside ``body.main_paragraphs``, trafilatura apart from the rest) with timers, then calls
the public ``extract_article`` page by page in this process. A wrapped function called
from inside another wrapped one counts in the outer stage (the htmldate fallback is also
shown on its own). What is left of the page's total is ``glue`` (record building). Stages:

* parse: decoding and lxml parsing (``parse_document``);
* trafilatura: ``bare_extraction`` on the parsed tree;
* ours (metadata passes): meta/JSON-LD collection, the DOM scan, title, date header,
  byline, translation note, lead, rejection rules, authors, dates (with the htmldate
  fallback), canonical URL, section, tags, image;
* language: ``detect_language``;
* hashing: ``content_hash``, ``simhash``, ``word_count``.

Then, for every extracted body, language detection on the full text, on a
``--prefix``-character prefix and on the module's own prefix, with their agreement and
milliseconds. Prints figures; asserts nothing. Times are the CPU time of this thread
(``time.thread_time``), so other processes' load inflates them little; the load average is
printed with them anyway.
"""

from __future__ import annotations

import argparse
import functools
import gc
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import corpus_dirs, interleave, load_average, load_corpus

STAGES: dict[str, tuple[str, ...]] = {
    "parse": ("article.parse_document",),
    "trafilatura": ("body.bare_extraction",),
    "ours": (
        "article.collect",
        "article.scan_dom",
        "article.site_name",
        "article.declared_language",
        "article.choose_title",
        "article.drop_title",
        "article.take_date_header",
        "article.find_bylines",
        "article.drop_bylines",
        "article.take_translation_note",
        "article.drop_teasers_and_photo_credits",
        "article.choose_lead",
        "article.classify",
        "article.choose_authors",
        "article.published_date",
        "article.modified_date",
        "article.choose_canonical",
        "article.section",
        "article.tags",
        "article.image",
        "article.join_paragraphs",
        "body.select",
        "body.block_paragraphs",
        "body.split_paragraphs",
    ),
    "language": ("article.detect_language",),
    "hashing": ("article.content_hash", "article.simhash", "article.word_count"),
}
"""Stage of each wrapped global, as ``module.name`` (a module of ``crawler.extraction``):
the passes ``_extract`` calls, and inside ``main_paragraphs`` trafilatura apart from the
rest."""

SUB = ("published._htmldate_fallback",)
"""Nested functions also reported on their own."""


class Timers:
    """Exclusive-outermost timing of wrapped functions, per page."""

    def __init__(self) -> None:
        self.depth = 0
        self.page: dict[str, float] = defaultdict(float)
        self.sub: dict[str, float] = defaultdict(float)

    def wrap(self, fn: Callable[..., Any], name: str) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            outer = self.depth == 0
            self.depth += 1
            started = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.depth -= 1
                if outer:
                    self.page[name] += time.thread_time() - started

        return timed

    def wrap_sub(self, fn: Callable[..., Any], name: str) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.sub[name] += time.thread_time() - started

        return timed


def install(timers: Timers) -> Callable[[], None]:
    """Wrap the stage functions; returns a function that restores them."""
    import importlib

    saved: list[tuple[Any, str, Any]] = []

    def wrap(dotted: str, wrapper: Callable[[Callable[..., Any], str], Callable[..., Any]]) -> None:
        module_name, attr = dotted.split(".")
        module = importlib.import_module(f"crawler.extraction.{module_name}")
        fn = getattr(module, attr)
        saved.append((module, attr, fn))
        setattr(module, attr, wrapper(fn, attr))

    for names in STAGES.values():
        for dotted in names:
            wrap(dotted, timers.wrap)
    for dotted in SUB:
        wrap(dotted, timers.wrap_sub)

    def restore() -> None:
        for owner, attr, fn in reversed(saved):
            setattr(owner, attr, fn)

    return restore


def _stage_of(name: str) -> str:
    for stage, names in STAGES.items():
        if any(dotted.split(".")[1] == name for dotted in names):
            return stage
    return "?"


def _q(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def stage_table(pages: list[Any], repeat: int) -> list[tuple[str, str | None]]:
    """Extract every page ``repeat`` times with timers; returns the bodies of the last pass."""
    from crawler.extraction import ArticleRecord, extract_article, preload

    timers = Timers()
    restore = install(timers)
    per_stage: dict[str, list[float]] = defaultdict(list)
    per_func: dict[str, float] = defaultdict(float)
    sub: dict[str, float] = defaultdict(float)
    totals: list[float] = []
    texts: list[tuple[str, str | None]] = []
    records = 0
    try:
        # warm up as the extraction workers do (imports, pattern files, langdetect
        # profiles, htmldate's dateparser), then a few pages
        preload()
        for page in pages[:5]:
            extract_article(page.html, "https://example.org/a/1")
        gc.collect()
        for r in range(repeat):
            for i, page in enumerate(pages):
                timers.page.clear()
                timers.sub.clear()
                started = time.thread_time()
                result = extract_article(page.html, f"https://example.org/a/{i}")
                total = time.thread_time() - started
                totals.append(total)
                stage_sums: dict[str, float] = defaultdict(float)
                for name, seconds in timers.page.items():
                    stage_sums[_stage_of(name)] += seconds
                    per_func[name] += seconds
                for name, seconds in timers.sub.items():
                    sub[name] += seconds
                stage_sums["glue"] = total - sum(stage_sums.values())
                for stage in (*STAGES, "glue"):
                    per_stage[stage].append(stage_sums.get(stage, 0.0))
                if isinstance(result, ArticleRecord):
                    if r == repeat - 1:
                        texts.append((result.text, page.language))
                    records += 1
    finally:
        restore()
    n = len(totals)
    ms = 1000.0
    print(
        f"\n== stages, CPU ms per page over {n} extractions ({records} records)  [{load_average()}]"
    )
    print(f"  {'stage':<28}{'mean':>8}{'median':>8}{'p90':>8}{'share':>8}")
    total_mean = statistics.fmean(totals)
    for stage in (*STAGES, "glue"):
        values = per_stage[stage]
        print(
            f"  {stage:<28}{ms * statistics.fmean(values):8.2f}{ms * _q(values, 0.5):8.2f}"
            f"{ms * _q(values, 0.9):8.2f}{statistics.fmean(values) / total_mean:8.1%}"
        )
    print(
        f"  {'total':<28}{ms * total_mean:8.2f}{ms * _q(totals, 0.5):8.2f}"
        f"{ms * _q(totals, 0.9):8.2f}"
    )
    print("  ours, by function (mean ms per page):")
    ours = sorted(
        ((name, s) for name, s in per_func.items() if _stage_of(name) == "ours"),
        key=lambda x: -x[1],
    )
    print("    " + ", ".join(f"{name} {ms * s / n:.2f}" for name, s in ours if ms * s / n >= 0.005))
    for name, seconds in sub.items():
        print(f"    of which {name}: {ms * seconds / n:.2f} ms per page (inside published_date)")
    traf = statistics.fmean(per_stage["trafilatura"])
    ours_lang = statistics.fmean(per_stage["ours"]) + statistics.fmean(per_stage["language"])
    per_page_ratio = [
        (o + la) / t
        for o, la, t in zip(
            per_stage["ours"], per_stage["language"], per_stage["trafilatura"], strict=True
        )
        if t > 0
    ]
    print(
        f"  metadata passes + language = {ours_lang / traf:.1%} of trafilatura's time"
        f" (ratio of means; median of per-page ratios {_q(per_page_ratio, 0.5):.1%})"
        " -- target < 25 %"
    )
    return texts


def language_agreement(texts: list[str], prefix: int, annotated: list[str | None]) -> None:
    """Detection on the full text vs on prefixes: agreement and cost."""
    from crawler.extraction import language

    module_prefix = language.PREFIX_CHARS
    variants = {
        "full": 10**9,
        f"prefix {prefix}": prefix,
        f"prefix {module_prefix} (module)": module_prefix,
    }
    found: dict[str, list[str | None]] = {}
    times: dict[str, list[float]] = {}
    try:
        for label, chars in variants.items():
            language.PREFIX_CHARS = chars
            out: list[str | None] = []
            spent: list[float] = []
            for text in texts:
                started = time.thread_time()
                lang, _ = language.detect_language(text)
                spent.append(time.thread_time() - started)
                out.append(lang)
            found[label] = out
            times[label] = spent
    finally:
        language.PREFIX_CHARS = module_prefix
    long_texts = sum(1 for t in texts if len(t) > prefix)
    print(
        f"\n== language detection on {len(texts)} bodies ({long_texts} longer than {prefix} chars;"
        f" median length {int(statistics.median(len(t) for t in texts))})  [{load_average()}]"
    )
    full = found["full"]
    for label in variants:
        agree = sum(1 for a, b in zip(found[label], full, strict=True) if a == b)
        ann = [(a, g) for a, g in zip(found[label], annotated, strict=True) if g]
        right = sum(1 for a, g in ann if a == g)
        matched = f"; matches the annotated language on {right}/{len(ann)}" if ann else ""
        print(
            f"  {label:<26} mean {1000 * statistics.fmean(times[label]):6.2f} ms,"
            f" median {1000 * statistics.median(times[label]):6.2f} ms;"
            f" agrees with full text on {agree}/{len(texts)} ({agree / len(texts):.1%}){matched}"
        )
    diffs = [
        (i, a, b)
        for i, (a, b) in enumerate(zip(found[f"prefix {prefix}"], full, strict=True))
        if a != b
    ]
    if diffs:
        print(
            f"  prefix {prefix} vs full disagreements (prefix -> full): "
            + ", ".join(f"{a}->{b}" for _, a, b in diffs[:20])
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", nargs="+", metavar="DIR", help="corpus folders")
    parser.add_argument("--limit", type=int, help="pages per corpus (default: all)")
    parser.add_argument("--repeat", type=int, default=1, help="passes over the sample")
    parser.add_argument("--prefix", type=int, default=2000, help="prefix for the agreement check")
    args = parser.parse_args(argv)
    dirs = corpus_dirs(args.corpus)
    pages = interleave(load_corpus(dirs, args.limit))
    print(
        f"bench/extract.py: {len(pages)} pages from {', '.join(str(d) for d in dirs)};"
        f" {load_average()}"
    )
    found = stage_table(pages, args.repeat)
    texts = [text for text, _ in found]
    annotated = [lang for _, lang in found]
    language_agreement(texts, args.prefix, annotated)
    return 0


if __name__ == "__main__":
    sys.exit(main())

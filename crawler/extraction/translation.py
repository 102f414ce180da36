"""Translation notes: "Übersetzt aus dem Russischen ...", "Translated from Russian", ...

Phrasings are regexes in ``patterns/<lang>.yaml`` (``translation.patterns``) with the
named groups ``lang`` (language name as printed, any declined form listed in
``translation.languages``), ``outlet`` and ``date``. The paragraph(s) holding the
note are returned so the caller can remove them from the body (the note is kept in
``ArticleRecord.translation.note``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache

from crawler.extraction.dates import parse_text_date
from crawler.extraction.patterns import available_languages, load_data
from crawler.extraction.record import TranslationNote

logger = logging.getLogger(__name__)

MAX_NOTE_CHARS = 500
"""A paragraph longer than this is article text that mentions a translation, not a note."""

_SENTENCE_START = r"(?:^|(?<=[.!?…])\s+|(?<=^\()|(?<=^\[)|(?<=^\*))"


@dataclass(frozen=True, slots=True)
class _Pattern:
    lang: str
    regex: re.Pattern[str]


@cache
def _patterns() -> tuple[_Pattern, ...]:
    out: list[_Pattern] = []
    for lang in available_languages():
        for pattern in load_data(lang).get("translation", {}).get("patterns") or ():
            regex = re.compile(_SENTENCE_START + f"(?:{pattern})", re.IGNORECASE)
            out.append(_Pattern(lang, regex))
    return tuple(out)


@cache
def _language_names() -> dict[str, dict[str, str]]:
    return {
        lang: {
            str(k).lower(): str(v)
            for k, v in (load_data(lang).get("translation", {}).get("languages") or {}).items()
        }
        for lang in available_languages()
    }


def _language_code(name: str | None, lang: str) -> str | None:
    if not name:
        return None
    key = name.lower().strip(" .,")
    tables = _language_names()
    if key in tables.get(lang, {}):
        return tables[lang][key]
    for table in tables.values():
        if key in table:
            return table[key]
    return None


_QUOTES = " \"'“”„«»‚‘’"


@dataclass(frozen=True, slots=True)
class _Hit:
    source_language: str | None
    outlet: str | None
    date_text: str | None


@cache
def _triggers() -> tuple[str, ...]:
    words: set[str] = set()
    for lang in available_languages():
        table = load_data(lang).get("translation", {})
        words.update(str(w).lower() for w in table.get("triggers") or ())
    return tuple(words)


def _scan(paragraph: str) -> _Hit | None:
    if len(paragraph) > MAX_NOTE_CHARS:
        return None
    low = paragraph.lower()
    if not any(word in low for word in _triggers()):
        return None
    found = False
    source: str | None = None
    outlet: str | None = None
    date_text: str | None = None
    for pat in _patterns():
        for match in pat.regex.finditer(paragraph):
            groups = {k: v for k, v in match.groupdict().items() if v}
            code = _language_code(groups.get("lang") or groups.get("lang2"), pat.lang)
            if ("lang" in match.re.groupindex) and code is None and "outlet" not in groups:
                continue  # "traduit de l'article" etc.: no language name, no outlet
            found = True
            source = source or code
            if groups.get("outlet") and not outlet:
                outlet = groups["outlet"].strip(_QUOTES + ".,") or None
            date_text = date_text or next(
                (v for k, v in sorted(groups.items()) if k.startswith("date")), None
            )
    if not found:
        return None
    return _Hit(source, outlet, date_text)


def find_translation(paragraphs: list[str]) -> tuple[TranslationNote, list[int]] | None:
    """Find a translation note; returns it and the indexes of the paragraphs holding it.

    Paragraphs are scanned from the end (notes usually close the article); adjacent
    paragraphs that continue the note (e.g. an "originally published" sentence after
    "Translated from Russian.") are merged into one note.
    """
    for idx in range(len(paragraphs) - 1, -1, -1):
        hit = _scan(paragraphs[idx])
        if hit is None:
            continue
        indexes = [idx]
        hits = [hit]
        for other in (idx - 1, idx + 1):
            if 0 <= other < len(paragraphs):
                extra = _scan(paragraphs[other])
                if extra is not None:
                    indexes.append(other)
                    hits.append(extra)
        indexes.sort()
        note = " ".join(paragraphs[i] for i in indexes)
        source = next((h.source_language for h in hits if h.source_language), None)
        outlet = next((h.outlet for h in hits if h.outlet), None)
        date_text = next((h.date_text for h in hits if h.date_text), None)
        parsed = parse_text_date(date_text) if date_text else None
        return (
            TranslationNote(
                note=note,
                source_language=source,
                original_outlet=outlet,
                original_published_at=parsed.value if parsed else None,
            ),
            indexes,
        )
    return None

"""Strings fit for UTF-8 and PostgreSQL: the last step of extraction.

Owns `clean_text` and `sanitize`. A page can smuggle code points that no UTF-8 encoder
and no PostgreSQL ``text`` column accepts: lone surrogates (``"\\ud800"`` in a JSON-LD
headline decodes to one) and NUL. One such string used to fail a whole batch at the
spool (``UnicodeEncodeError``) or become a ``store_error``. `sanitize` replaces them with
U+FFFD in every string of a record, nested notes and tuples included, so a record that
leaves extraction can always be encoded and stored. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, TypeVar

from crawler.extraction.text import content_hash, simhash, word_count

__all__ = ["REPLACEMENT", "clean_text", "sanitize"]

REPLACEMENT = "\ufffd"
"""What an unencodable code point becomes."""

_UNENCODABLE = re.compile("[\x00\ud800-\udfff]")
"""Lone surrogates (UTF-8 cannot encode them) and NUL (PostgreSQL ``text`` refuses it)."""

T = TypeVar("T")


def clean_text(value: str) -> str:
    """``value`` with every unencodable code point replaced by U+FFFD."""
    return _UNENCODABLE.sub(REPLACEMENT, value)


def _clean(value: Any) -> Any:
    """``value`` cleaned; the very same object when it needed no change."""
    if isinstance(value, str):
        return clean_text(value) if _UNENCODABLE.search(value) else value
    if isinstance(value, (tuple, list)):
        items = [_clean(v) for v in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return type(value)(items)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sanitize(value)
    return value


def sanitize(record: T) -> T:
    """``record`` (a dataclass) with every string field cleaned (`clean_text`).

    Walks every field, tuples and nested dataclasses (a `TranslationNote`) included;
    returns ``record`` itself when nothing changed. When a record's ``text`` changes, its
    ``content_hash``, ``simhash`` and ``word_count`` are computed again so they describe
    the stored text.
    """
    if not dataclasses.is_dataclass(record) or isinstance(record, type):
        return record
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        cleaned = _clean(value)
        if cleaned is not value:
            changes[f.name] = cleaned
    if not changes:
        return record
    text = changes.get("text")
    if isinstance(text, str) and {"content_hash", "simhash", "word_count"} <= {
        f.name for f in dataclasses.fields(record)
    }:
        changes.update(
            content_hash=content_hash(text), simhash=simhash(text), word_count=word_count(text)
        )
    return dataclasses.replace(record, **changes)

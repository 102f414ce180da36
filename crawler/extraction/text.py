"""Text normalization and fingerprints: cleaning, word count, sha256, simhash.

Everything here works on plain strings; no HTML parsing.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata

logger = logging.getLogger(__name__)

_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff\u180e]")
_WORD = re.compile(r"\w+")

_MASK64 = (1 << 64) - 1


def normalize_line(text: str) -> str:
    """NFC, soft hyphens and zero-width characters removed, whitespace collapsed, stripped.

    Quotes and punctuation are kept exactly as printed.
    """
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    return " ".join(text.split())


def split_paragraphs(text: str) -> list[str]:
    """Split extracted text into normalized, non-empty paragraphs (one per line)."""
    out = []
    for line in text.splitlines():
        norm = normalize_line(line)
        if norm:
            out.append(norm)
    return out


def join_paragraphs(paragraphs: list[str]) -> str:
    """Join paragraphs with exactly one blank line between them."""
    return "\n\n".join(p for p in paragraphs if p)


def words(text: str) -> list[str]:
    """Word tokens (``\\w+``)."""
    return _WORD.findall(text)


_UNSPACED = re.compile(
    "[\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff"  # Thai, Lao, Myanmar, Khmer
    "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"  # kana, CJK ideographs
)
UNSPACED_CHARS_PER_WORD = 2
"""In scripts written without spaces between words, this many characters count as a word
(Chinese and Japanese words average about two characters)."""


def word_count(text: str) -> int:
    """Words in ``text``: ``\\w+`` tokens, where a run of a script written without spaces
    (Chinese, Japanese, Thai ...) counts ``UNSPACED_CHARS_PER_WORD`` characters a word."""
    unspaced = len(_UNSPACED.findall(text))
    if unspaced:
        text = _UNSPACED.sub(" ", text)
    return sum(1 for _ in _WORD.finditer(text)) + unspaced // UNSPACED_CHARS_PER_WORD


def content_hash(text: str) -> str:
    """SHA-256 hex digest of the UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_BIT_TABLES = tuple(bytes((b >> bit) & 1 for b in range(256)) for bit in range(8))
"""Per bit position, a ``bytes.translate`` table mapping a byte to that bit (0 or 1)."""


def simhash(text: str) -> int:
    """64-bit simhash over lower-cased word 3-shingles, as a signed int64 (fits ``bigint``).

    Each shingle is hashed with blake2b (8 bytes, big-endian); texts under three words use
    their words as shingles. Empty text gives 0.
    """
    toks = [w.lower() for w in words(text)]
    shingles = (
        [" ".join(t) for t in zip(toks, toks[1:], toks[2:], strict=False)]
        if len(toks) >= 3
        else toks
    )
    if not shingles:
        return 0
    blake = hashlib.blake2b
    digests = b"".join([blake(sh.encode("utf-8"), digest_size=8).digest() for sh in shingles])
    # Column-wise bit counting in C: byte k of every digest is ``digests[k::8]``; mapping
    # it through a bit's table and counting ones counts that bit over all shingles.
    half = len(shingles) / 2
    value = 0
    for k in range(8):
        column = digests[k::8]
        for bit in range(7, -1, -1):
            value = value << 1 | (column.translate(_BIT_TABLES[bit]).count(1) > half)
    value &= _MASK64
    return value - (1 << 64) if value >= 1 << 63 else value


def same_line(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` are the same line but for case and surrounding spaces/dots."""
    return a.casefold().strip(" .") == b.casefold().strip(" .")

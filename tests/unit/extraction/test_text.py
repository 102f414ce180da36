"""Text cleaning helpers, hashes and simhash."""

from __future__ import annotations

from crawler.extraction.text import (
    content_hash,
    join_paragraphs,
    normalize_line,
    same_line,
    simhash,
    split_paragraphs,
    word_count,
)


def test_soft_hyphens_and_zero_width_characters_are_removed() -> None:
    assert (
        normalize_line("Fähr\u00adverbindung\u200b nach\u200d Kiel") == "Fährverbindung nach Kiel"
    )


def test_text_is_nfc_normalized() -> None:
    assert normalize_line("Fa\u0308hre") == "F\u00e4hre"


def test_whitespace_is_collapsed_but_quotes_are_kept() -> None:
    assert normalize_line("  „Genügend   Reserven“\t sagt  er ") == "„Genügend Reserven“ sagt er"


def test_paragraphs_are_separated_by_exactly_one_blank_line() -> None:
    paragraphs = split_paragraphs("Eins.\n\n\n  Zwei. \n\nDrei.")
    assert join_paragraphs(paragraphs) == "Eins.\n\nZwei.\n\nDrei."


def test_word_count_counts_word_tokens() -> None:
    assert word_count("Am 13. Februar – drei Wörter?") == 5


def test_content_hash_is_sha256_hex() -> None:
    assert content_hash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_simhash_is_a_signed_64_bit_integer() -> None:
    value = simhash("Die Lotsen streiken seit Montag im Hafen von Sankt Petersburg.")
    assert -(2**63) <= value < 2**63


def test_simhash_of_near_duplicates_differs_in_few_bits() -> None:
    base = " ".join(f"Satz {i} über den Hafen und die Lotsen im Winter." for i in range(30))
    changed = base.replace("Satz 7 über", "Satz 7 zum")
    other = " ".join(f"Ganz anderer Text {i} über Bahn und Fahrpläne." for i in range(30))
    near = bin((simhash(base) ^ simhash(changed)) & (2**64 - 1)).count("1")
    far = bin((simhash(base) ^ simhash(other)) & (2**64 - 1)).count("1")
    assert near < far
    assert near <= 10


def test_simhash_of_empty_text_is_zero() -> None:
    assert simhash("") == 0


def _reference_simhash(text: str) -> int:
    """The definition, bit by bit: majority vote per bit over blake2b-64 shingle hashes."""
    import hashlib
    import re

    toks = [w.lower() for w in re.findall(r"\w+", text)]
    shingles = [" ".join(toks[i : i + 3]) for i in range(len(toks) - 2)] if len(toks) >= 3 else toks
    hashes = [int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest()) for s in shingles]
    value = 0
    for bit in range(63, -1, -1):
        ones = sum(h >> bit & 1 for h in hashes)
        value = value << 1 | (ones > len(hashes) / 2)
    return value - (1 << 64) if value >= 1 << 63 else value


def test_simhash_equals_the_bitwise_majority_vote_definition() -> None:
    texts = [
        "Kurz.",
        "Zwei Worte",
        " ".join(
            f"Absatz {i}: Die Fähre nach Kiel fällt aus, sagt die Reederei." for i in range(40)
        ),
        "Пролив замёрз; паромы стоят. " * 25,
    ]
    for text in texts:
        assert simhash(text) == _reference_simhash(text)


def test_same_line_ignores_case_and_surrounding_spaces_and_dots() -> None:
    assert same_line(" Fähre fährt wieder. ", "FÄHRE FÄHRT WIEDER")
    assert not same_line("Fähre fährt wieder", "Fähre fährt")

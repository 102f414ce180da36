"""Bylines and author names: parsing a printed byline into persons and agency credits.

Prefixes (``Von``, ``By``, ``Par``, ``Por``, ``Автор:``), conjunctions and photo-credit
phrasings come from ``patterns/<lang>.yaml``. Agency or desk credits in parentheses
(``(dpa)``) stay in the printed byline but are never persons.

Longer than ~400 lines on purpose: prefixes, name lists, credits and the test of what a
name is are the steps of one reading of a byline and share its small helpers; split,
each part would import the others' private rules.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from crawler.extraction.patterns import available_languages, load_data
from crawler.extraction.text import normalize_line

logger = logging.getLogger(__name__)

MAX_BYLINE_CHARS = 160
MAX_NAME_CHARS = 50
MAX_CASELESS_WORD = 12
"""Longest word of a caseless script taken as part of a name (a CJK name is 2-4 characters;
longer runs are phrases)."""

_PARTICLES = frozenset(
    {
        "von",
        "van",
        "der",
        "den",
        "de",
        "la",
        "le",
        "di",
        "da",
        "del",
        "della",
        "dos",
        "das",
        "du",
        "bin",
        "ibn",
        "al",
        "el",
        "zu",
        "ten",
        "ter",
        "y",
        "e",
        "st.",
        "mc",
        "o'",
    }
)


@dataclass(frozen=True, slots=True)
class Byline:
    """A byline as printed, with the persons and credits read from it."""

    raw: str
    persons: tuple[str, ...]
    credits: tuple[str, ...]
    had_prefix: bool


@cache
def _lang_lists(key: str) -> tuple[str, ...]:
    items: set[str] = set()
    for lang in available_languages():
        items.update(str(x) for x in load_data(lang).get("byline", {}).get(key) or ())
    return tuple(sorted(items, key=len, reverse=True))


def byline_prefixes() -> tuple[str, ...]:
    """All byline prefixes of all languages (``Von``, ``By``, ``Автор:`` ...)."""
    return _lang_lists("prefixes")


def starts_with_prefix(text: str) -> bool:
    """True when ``text`` opens with a byline prefix (``Von``, ``By``, ``Par`` ...)."""
    return bool(_prefix_re().match(text))


@cache
def _prefix_re() -> re.Pattern[str]:
    alts = []
    for prefix in _lang_lists("prefixes"):
        esc = re.escape(prefix.rstrip(":").strip())
        # "Veröffentlicht vonChris Jung": text_content() may glue the prefix to the name.
        glued = r"|(?-i:(?=[A-ZÀ-ÖØ-ÞА-ЯЁ][a-zà-öø-ÿа-яё]))" if prefix[-1].isalpha() else ""
        alts.append(esc + (r"\s*:\s*" if prefix.endswith(":") else rf"(?:\s*:?\s+|\s*:?${glued})"))
    return re.compile(rf"^(?:{'|'.join(alts)})", re.IGNORECASE)


@cache
def _inner_prefix_re() -> re.Pattern[str]:
    """A single-word prefix inside a text ("Disko Von Ernst Lohoff")."""
    words = {p.rstrip(":").strip() for p in _lang_lists("prefixes")}
    singles = sorted((w for w in words if " " not in w), key=len, reverse=True)
    return re.compile(rf"\b(?:{'|'.join(map(re.escape, singles))})\s*:?\s+(?=\w)", re.IGNORECASE)


@cache
def _split_re() -> re.Pattern[str]:
    conj = "|".join(re.escape(c) for c in _lang_lists("conjunctions") if c.isalpha())
    # ", and" (the serial comma) is one separator, not a comma and a name "and X"
    # "Anna Beispiel/dpa": a slash between two words joins two credits too
    return re.compile(
        rf"\s*(?:,(?:\s*(?:{conj})\s)?|;|&|\s\+\s|\s/\s|(?<=[^\W\d_])/(?=[^\W\d_])"
        rf"|\s(?:{conj})\s)\s*",
        re.IGNORECASE,
    )


@cache
def _suffix_re() -> re.Pattern[str] | None:
    """Words printed after a name that make it a byline ("홍길동 기자", "山田太郎記者")."""
    suffixes = _lang_lists("suffixes")
    if not suffixes:
        return None
    alts = "|".join(map(re.escape, suffixes))
    return re.compile(rf"^(?P<name>.*?\S)\s*(?:{alts})$")


@cache
def _others_re() -> re.Pattern[str] | None:
    """ "And N others" after the names ("외 1명", "ほか2名"): dropped."""
    patterns = _lang_lists("others")
    return re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None


@cache
def _names_end_re(key: str) -> re.Pattern[str] | None:
    """What ends the names where it follows them after a space, from the languages'
    ``byline.<key>`` regexes: ``tails``, what a byline element prints after its names (a
    relative time, ``hace 13 horas``, ``3 hours ago``; a reading time, ``5 min read``);
    ``roles``, another contributor's role on the same line (``Text von A  Illustration
    von B``, ``By A Photos by B``: the photographer or illustrator is no author)."""
    patterns = _lang_lists(key)
    if not patterns:
        return None
    return re.compile(r"\s(?:" + "|".join(f"(?:{p})" for p in patterns) + ")", re.IGNORECASE)


@cache
def _outlet_re() -> re.Pattern[str] | None:
    markers = _lang_lists("outlet_markers")
    if not markers:
        return None
    alts = "|".join(map(re.escape, markers))
    # the marker in lower case (or "For" after a name), then a capitalised outlet
    return re.compile(rf"\s(?:{alts}|(?i:{alts}))\s+(?P<outlet>[^\W\d_].*)$")


def split_outlet(text: str) -> tuple[str, str | None]:
    """``text`` without a trailing "for <outlet>" (``Jane Doe For Dailymail.Com``), and
    the outlet (or None). The outlet must start with a capital letter or a digit-free
    word in capitals."""
    pattern = _outlet_re()
    match = pattern.search(text) if pattern else None
    if match is None or not match.group("outlet")[0].isupper():
        return text, None
    last = _split_re().split(text[: match.start()])[-1].strip(" .,;")
    if len(last.split()) < 2 or not is_person_name(last):
        return text, None  # "Department for Education": a name of its own
    return text[: match.start()].rstrip(" ,;"), match.group("outlet").strip(" .,;")


_ACRONYM = re.compile(r"^[^\W\d_]{2,5}(?:-[^\W\d_]{1,3})?$")


def _is_acronym(part: str) -> bool:
    """An organisation's initials (``CNN``, ``NPR``, the agency ``SP-X``): one word of 2-5
    capital letters, perhaps with a hyphenated tail."""
    return bool(_ACRONYM.match(part)) and part.isupper()


def _strip_suffix(part: str) -> tuple[str, bool]:
    """``part`` without a trailing byline suffix, and whether it had one."""
    found = _suffix_re()
    match = found.match(part) if found else None
    return (match.group("name"), True) if match else (part, False)


_EMAIL = re.compile(r"\S+@\S+\.\w+")


@cache
def _org_endings() -> tuple[str, ...]:
    return tuple(str(x) for x in load_data("common").get("org_endings") or ())


def _caseless(token: str) -> bool:
    """A word of a script without letter case (CJK, Hangul, Arabic, Hebrew, Thai ...)."""
    letters = [ch for ch in token if ch.isalpha()]
    return bool(letters) and all(ch.upper() == ch.lower() for ch in letters)


@cache
def _compiled(key: str) -> tuple[re.Pattern[str], ...]:
    out: list[re.Pattern[str]] = []
    for lang in available_languages():
        for pattern in load_data(lang).get(key) or ():
            out.append(re.compile(str(pattern), re.IGNORECASE))
    return tuple(out)


@cache
@cache
def _agencies() -> frozenset[str]:
    return frozenset(str(x).casefold() for x in load_data("common").get("agencies") or ())


@cache
def _desk_words() -> frozenset[str]:
    return frozenset(str(x).casefold() for x in load_data("common").get("desk_words") or ())


def is_credit(part: str) -> bool:
    """True when a byline part names an organisation: an agency, a desk (``Redaktion
    Politik``, ``Example Post Staff``, ``Example Post Staff Report``), or a name with its
    legal form (``Beispiel Verlag GmbH``)."""
    words = part.casefold().split()
    if not words:
        return False
    if len(words) >= 2 and words[-1] in _common_words("desk_tails"):
        words = words[:-1]  # "HLNF Staff Report": the desk's report
    desk = words[0] in _desk_words() or (len(words) >= 2 and words[-1] in _desk_words())
    return part.casefold() in _agencies() or desk or is_organisation(part)


@cache
def _legal_form_re() -> re.Pattern[str] | None:
    forms = [str(x) for x in load_data("common").get("legal_forms") or ()]
    if not forms:
        return None
    # the trailing dot is optional: name lists are split and stripped of dots ("e.V")
    stems = sorted({f.rstrip(".") for f in forms}, key=len, reverse=True)
    alts = "|".join(re.escape(f) + r"\.?" for f in stems)
    return re.compile(rf"(?:^(?:{alts})\s|\s(?:{alts})$)")


def is_organisation(name: str) -> bool:
    """True for a name that ends with a legal form (``e.V.``, ``GmbH``, ``Inc.``, ``S.A.``)
    or opens with one (``ООО``), as printed, or whose last word of two or more is an
    organisation's (``org_words``: ``KBS World Radio News``): an organisation, never a person."""
    words = name.casefold().split()
    if len(words) >= 2 and words[-1].strip(" ,;.") in _common_words("org_words"):
        return True
    return has_legal_form(name)


def has_legal_form(name: str) -> bool:
    """True for a name that ends with a legal form (``GmbH``) or opens with one (``ООО``)."""
    pattern = _legal_form_re()
    return bool(pattern and pattern.search(normalize_line(name).strip(" ,;")))


def _non_person_words() -> frozenset[str]:
    base = {str(x).lower() for x in load_data("common").get("non_person_authors") or ()}
    return frozenset(base)


@cache
def _common_words(key: str) -> frozenset[str]:
    """A word list of ``patterns/common.yaml``, case-folded."""
    return frozenset(str(x).casefold() for x in load_data("common").get(key) or ())


def is_role_word(token: str) -> bool:
    """True for a job title or role (``Editor``, ``Korrespondentin``) or a compound
    ending in one of six letters or more (``Online-Redakteurin``, ``Wirtschaftskorrespondent``)."""
    word = token.casefold().strip(".,;:")
    roles = _common_words("roles")
    return word in roles or any(len(r) >= 6 and word.endswith(r) for r in roles)


def _is_modifier(token: str) -> bool:
    return token.casefold().strip(".,;:") in _common_words("role_modifiers")


_CREDIT_MARKS = ("©", "(c)", "copyright")


def is_photo_credit(text: str) -> bool:
    """True for image credits (``Foto: ...``, ``Photo: ...``, ``©``)."""
    low = text.strip().lower()
    if any(mark in low for mark in _CREDIT_MARKS):
        return True
    return any(p.search(low) for p in _compiled("photo_credits"))


def is_teaser(text: str) -> bool:
    """True for 'read more' teasers (``Mehr zum Thema – ...``)."""
    low = text.strip().lower()
    return any(p.search(low) for p in _compiled("teasers"))


def is_prompt(text: str) -> bool:
    """True for a prompt or widget line printed inside the text (``Sign up for our
    newsletter``, ``Thanks for signing up!``, ``12 Kommentare``, ``Popular on Example``)."""
    low = normalize_line(text).lower().rstrip(" .!")
    return any(p.search(low) for p in (*_compiled("prompts"), *_common_patterns("prompts")))


@cache
def _common_patterns(key: str) -> tuple[re.Pattern[str], ...]:
    """Patterns of ``patterns/common.yaml`` (no language's), case-insensitive."""
    return tuple(re.compile(str(p), re.IGNORECASE) for p in load_data("common").get(key) or ())


@cache
def author_labels() -> frozenset[str]:
    """Labels saying the value beside them is the author (``Autor:``, ``Written by``;
    ``patterns/common.yaml`` ``author_labels``), case-folded."""
    return frozenset(str(x).casefold() for x in load_data("common").get("author_labels") or ())


@cache
def _social_labels() -> frozenset[str]:
    return frozenset(str(x).casefold() for x in load_data("common").get("social_labels") or ())


def _strip_roles(part: str) -> str:
    """Drop role words and social labels after a name: ``Christoph Hein Chefredakteur``,
    ``Tom Reed Senior Politics Editor`` and ``Jane Doe Twitter`` are the names alone (the
    words qualifying a role go with it)."""
    tokens = part.split()
    trailing = _social_labels() | _common_words("ui_words") | _common_words("link_labels")
    role_seen = False
    while len(tokens) > 1:
        last = tokens[-1]
        if is_role_word(last):
            role_seen = True
        elif not (last.casefold().strip(".,") in trailing or (role_seen and _is_modifier(last))):
            break
        tokens.pop()
    return " ".join(tokens)


def _is_role(part: str) -> bool:
    """True for a byline part that is a role, not a name: made of role words and their
    qualifiers (``Senior Politics Editor``), or opening with a role
    (``corrispondente da Berlino``, ``envoyé spécial à Kiev``)."""
    words = part.split()
    if not words:
        return False
    lead = 0
    while lead < len(words) - 1 and _is_modifier(words[lead]):
        lead += 1
    if is_role_word(words[lead]):
        return True
    stop = _non_person_words()
    return all(
        is_role_word(w) or _is_modifier(w) or w.casefold().strip(".,") in stop or w in _PARTICLES
        for w in words
    )


@cache
def _prefix_words() -> frozenset[str]:
    words = {p.rstrip(":").strip().lower() for p in _lang_lists("prefixes")}
    words |= {c.lower() for c in _lang_lists("conjunctions")}
    return frozenset(words)


def is_plausible_author(name: str) -> bool:
    """Lenient check for names from metadata (user names like ``tlow`` pass).

    Rejects single letters, URLs, e-mail-like strings, very long strings, digits-only
    strings, desk or agency credits (``patterns/common.yaml``) and byline prefixes alone.
    """
    name = name.strip()
    low = name.lower()
    if len(name.rstrip(".")) < 2 or len(name) > MAX_NAME_CHARS or len(name.split()) > 6:
        return False  # one letter ("S."): an initial signing, no name to credit
    if "://" in name or low.startswith("www.") or "@" in name or not any(c.isalpha() for c in name):
        return False
    if " " not in name and ("." in name or "_" in name):
        return False  # a slug or handle such as "jane.doe"
    if not name[0].isalpha() or not (_AUTHOR_CHARS.match(name) or _USER_NAME.match(name)):
        return False
    if _PLACEHOLDER_USER.match(name):
        return False  # "user4711", "admin1": an account's default name
    if low in _non_person_words() or low in _prefix_words() or _not_a_name(name):
        return False
    return not any(tok.strip(".,") in _non_person_words() for tok in low.split())


def _not_a_name(name: str) -> bool:
    """True for a weekday alone, a string with a link label in it (``Kontakt``,
    ``Afficher mon profil complet``: see `_strip_link_labels`) or an organisation's name
    with its legal form (``Beispiel-Stiftung e.V.``)."""
    if is_organisation(name):
        return True
    words = name.casefold().split()
    labels = _common_words("link_labels")
    if len(words) == 1 and words[0].strip(".,") in _common_words("weekdays"):
        return True
    return any(w.strip(".,") in labels for w in words)


def _strip_link_labels(part: str) -> str:
    """``Johanna Beispiel Alle Artikel`` -> ``Johanna Beispiel``: the labels of an author
    box's links, joined to the name from the next element, dropped from its end."""
    tokens = part.split()
    labels = _common_words("link_labels")
    while len(tokens) > 1 and tokens[-1].casefold().strip(".,") in labels:
        tokens.pop()
    return " ".join(tokens)


def _once(part: str) -> str:
    """``Jane Doe Jane Doe`` -> ``Jane Doe``: a byline element whose name is printed twice
    (an author picture's text beside the name's link, a hidden copy for screen readers)."""
    tokens = part.split()
    half = len(tokens) // 2
    if half >= 1 and len(tokens) % 2 == 0 and tokens[:half] == tokens[half:]:
        return " ".join(tokens[:half])
    return part


def is_person_name(name: str) -> bool:
    """Heuristic: 1-5 capitalised words (particles allowed), no digits, not a desk or role."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_CHARS or any(ch.isdigit() for ch in name):
        return False
    if name.lower() in _prefix_words():
        return False
    if any(ch in name for ch in '@|:/\\()[]{}<>=#*?!"“”„«»'):
        return False
    low = name.lower()
    non_person = _non_person_words()
    if low in non_person or _not_a_name(name):
        return False
    tokens = name.split()
    if len(tokens) > 5:
        return False
    if low.strip(".,") in _common_words("section_names"):
        return False
    capitals = 0
    for tok in tokens:
        tl = tok.lower().strip(".,")
        if tl in non_person or is_role_word(tok) or tl in _common_words("ui_words"):
            return False
        if tok[0].isupper():
            capitals += 1
        elif _caseless(tok):
            if len(tok) > MAX_CASELESS_WORD or tok.endswith(_org_endings()):
                return False
            capitals += 1
        elif tl not in _PARTICLES and not re.match(r"^[a-z]'\w", tok):
            return False
    return capitals >= 1


_DATE_WORD = r"(?:(?:am|on|le|el|at|um|den|vom|du|del)\s+)?"
"""A preposition printed before a date (``am 21. April``, ``on May 3``)."""
_DATE_TAIL = re.compile(rf"\s{_DATE_WORD}(?:\d{{1,2}}[./]|\d{{4}}\b)", re.IGNORECASE)


@cache
def _date_label_tail() -> re.Pattern[str]:
    """A date's label ending what is left of a byline once its date is cut
    (``Veröffentlicht``, ``Published on``, ``Mis à jour le``: the languages' date labels)."""
    labels: set[str] = set()
    for lang in available_languages():
        for kind in ("labels", "modified_labels"):
            labels.update(str(x) for x in load_data(lang).get("date", {}).get(kind) or ())
    alts = "|".join(re.escape(x) for x in sorted(labels, key=len, reverse=True))
    return re.compile(rf"(?:^|\s+)(?:{alts})\s*:?\s*$", re.IGNORECASE)


@cache
def _weekday_tail() -> re.Pattern[str]:
    """A weekday opening the date after a name in a byline element (``J. Doe Thursday,
    November 9, 2023``): the name ends before it (a weekday without a date after it may be
    a name's word: ``Plácido Domingo``)."""
    days = "|".join(re.escape(d) for d in sorted(_common_words("weekdays"), key=len, reverse=True))
    return re.compile(rf"\s(?:{days}),?\s+\S{{0,12}}\s*\d", re.IGNORECASE)


@cache
def _month_date_tail() -> re.Pattern[str]:
    """A date written with its month's name after a name in a byline element (``Por Ana
    Ruiz 22 de abril de 2022``, ``Jane Doe April 22, 2022``, ``Anna Nowak 3 maja 2021``):
    the name ends before the day or the month (a month's name without a day beside it may
    be a name's word: ``April Ryan``)."""
    names: set[str] = set()
    for lang in available_languages():
        names.update(str(m) for m in load_data(lang).get("date", {}).get("months") or ())
    months = "|".join(re.escape(m) for m in sorted(names, key=len, reverse=True))
    return re.compile(
        rf"\s{_DATE_WORD}(?:\d{{1,2}}\.?\s+(?:de\s+|of\s+)?(?:{months})\b|(?:{months})\.?\s+\d{{1,2}}\b)",
        re.IGNORECASE,
    )


_AUTHOR_CHARS = re.compile(r"^[^\W\d_][^\W\d_\s.'’-]*(?:[\s.'’-]+[^\W\d_]*)*\.?$")
_USER_NAME = re.compile(r"^(?=(?:\d*[^\W\d_]){3})[^\W\d_][^\W_]{2,29}$")
"""A user name with digits, one word of three letters or more (``freeman1984``, ``c1ph4x``)."""
_PLACEHOLDER_USER = re.compile(r"^(?:user|admin|author|guest|member|test)\d*$", re.IGNORECASE)
_PAREN = re.compile(r"\(([^()]{1,60})\)")
_CLOCK = re.compile(r"\d{1,2}\s?[:.h]\s?\d{2}(?!\d)")
"""A clock time: a parenthesised one beside a byline is the time in another zone
(``04:05 pm PT (07:05 pm ET)``) or of an update, never an agency."""
_TRAILING_CUT = re.compile(r"\s+(?:[|·•—–]|-(?:\s|$))\s*.*$")


def _full_names(persons: list[str]) -> bool:
    """True when a byline's parts so far named persons, each by two words or more."""
    return bool(persons) and all(len(p.split()) >= 2 and p[0].isupper() for p in persons)


def parse_byline(text: str, *, strict: bool = True, lenient: bool = False) -> Byline | None:
    """Parse a printed byline.

    ``strict`` (for body paragraphs): every comma/conjunction-separated part must be a
    person name, and without a prefix at least two names or a credit (parenthesised, or an
    organisation after the name: ``Max Lee, Example Radio News``) are needed. Non-strict
    (for byline elements): invalid parts are dropped.
    ``lenient`` (non-strict only; strongly marked elements such as ``itemprop=author``)
    accepts user names (:func:`is_plausible_author`) as well as personal names.
    """
    valid = is_plausible_author if lenient and not strict else is_person_name
    raw = normalize_line(text)
    if not raw or len(raw) > MAX_BYLINE_CHARS or is_photo_credit(raw) or is_teaser(raw):
        return None
    prefix = _prefix_re().match(raw)
    if prefix is None and not strict:
        inner = _inner_prefix_re().search(raw)
        if inner:
            raw = raw[inner.start() :]
            prefix = _prefix_re().match(raw)
    had_prefix = bool(prefix)
    # an author label ("Autorin:", "Author:"): a line that states its author and may say
    # after a comma who the author is
    labelled = prefix is not None and ":" in prefix.group()
    body = raw[prefix.end() :] if prefix else raw
    credits = tuple(
        c for c in (normalize_line(c) for c in _PAREN.findall(body)) if c and not _CLOCK.search(c)
    )
    body = _PAREN.sub(" ", body)
    body, outlet = split_outlet(body)
    named: list[str] = [outlet] if outlet else []  # organisations named as such
    cut = _TRAILING_CUT.search(raw)
    if cut and cut.start() > (prefix.end() if prefix else 0):
        raw = raw[: cut.start()].rstrip(" ,;")
    body = _TRAILING_CUT.sub("", body)
    body = normalize_line(_EMAIL.sub(" ", body)).strip(" ,;.")
    others = _others_re()
    if others is not None:
        body = others.sub("", body).strip(" ,;.")
    roles = _names_end_re("roles")
    if roles is not None:
        body = roles.split(body, maxsplit=1)[0]
    if not strict:
        tails = _names_end_re("tails")
        if tails is not None:
            body = tails.split(body, maxsplit=1)[0]
        body = _weekday_tail().split(body, maxsplit=1)[0]
        undated = _DATE_TAIL.split(_month_date_tail().split(body, maxsplit=1)[0], maxsplit=1)[0]
        if undated != body:  # "Veröffentlicht am 19.10.19": the date's label is no name
            unlabelled = _date_label_tail().sub("", undated)
            if unlabelled != undated and len(unlabelled.split()) < 2:
                unlabelled = ""  # one word left is the label's ("Zuletzt geändert am:")
            undated = unlabelled
        body = undated
    parts: list[tuple[str, bool]] = []  # (part, after a bare comma)
    separators = ["", *(m.group().strip() for m in _split_re().finditer(body))]
    for piece, separator in zip(_split_re().split(body), separators, strict=False):
        name, marked = _strip_suffix(piece.strip(" .,;"))
        had_prefix = had_prefix or marked  # "홍길동 기자": the suffix marks a byline
        if name.strip(" .,;"):
            parts.append((_once(_strip_roles(name.strip(" .,;"))), separator == ","))
    persons: list[str] = []
    placed: list[str] = []
    extra: list[str] = []
    for part, after_comma in parts:
        if _is_acronym(part):
            named.append(part)
        elif is_credit(part):
            extra.append(part)
        elif _is_role(part) or part.casefold() in _common_words("section_names"):
            continue  # "Senior Politics Editor", "Travel": beside a name, not one
        elif valid(part):
            if after_comma and _affiliation(part, persons):
                # "Von Max Muster, Berlin", "By Jane Doe, Acme": a place, a firm. It counts
                # in the checks below as before, so which paragraphs are bylines is kept.
                placed.append(part)
            elif part not in persons:
                persons.append(part)
        elif strict and not (had_prefix and _is_role(part)):
            if labelled and after_comma and _full_names(persons):
                break  # "Autorin: Name, Projektleiterin der …": the rest describes the author
            return None
    counted = [*persons, *placed]
    if strict and not had_prefix and len(counted) < 2 and not ((credits or extra) and counted):
        return None
    if strict and not had_prefix and any(len(p.split()) < 2 for p in counted):
        return None
    credits = (*credits, *extra)
    if not counted and not credits and not named:
        return None
    if strict and not counted and not had_prefix:
        return None
    credits = tuple(
        c
        for c in credits
        if is_credit(c) or not is_person_name(c) or c.lower() in _non_person_words()
    )
    credits = (*credits, *(n for n in named if n not in credits))
    return Byline(raw=raw, persons=tuple(persons), credits=credits, had_prefix=had_prefix)


def named_credits(values: Iterable[str]) -> tuple[str, ...]:
    """The agencies and desks named in metadata author strings (a JSON-LD person
    ``det/dpa``, ``<meta name=author content="AFP">``, ``Redaktion``): organisations
    credited where no byline credits one. A firm with its legal form there (``Example
    GmbH``) is neither a person nor credited."""
    out: list[str] = []
    for original in values:
        value = normalize_line(original)
        prefix = _prefix_re().match(value)
        if prefix:
            value = value[prefix.end() :]
        pieces = [*_PAREN.findall(value), *_split_re().split(_PAREN.sub(" ", value))]
        for piece in pieces:
            part = normalize_line(piece).strip(" .,;")
            if is_organisation(part):
                # in metadata, as often the firm that built the site or the outlet itself
                # (``FOCUS Online``) as an organisation credited for the article
                continue
            if part and is_credit(part) and part.casefold() not in {o.casefold() for o in out}:
                out.append(part)
    return tuple(out)


_DATELINE = re.compile(r"^(?:[^\W\d_][^()\n]{0,60}?\s)?\(([^()]{2,40})\)\s*[-–—:]\s")
"""A wire dateline opening the text: ``Hamburg (dpa/lno) – ``, ``WASHINGTON (Reuters) -``,
``MADRID, 5 Mar. (EUROPA PRESS) -``, ``(AFP) —``."""

_SERVICE_CODE = re.compile(r"^[a-z]{2,4}$")
"""An agency's service code after it (``lno``: dpa's regional service for the north)."""


def dateline_credits(text: str) -> tuple[str, ...]:
    """The agencies a wire dateline at the start of ``text`` credits, in order; empty
    when it has none or names anything but agencies and their service codes. Datelines
    of other forms (``(서울=연합뉴스)``, ``【ワシントン共同】``) are the languages'
    ``wire_datelines``."""
    line = normalize_line(text)
    for pattern in _compiled("wire_datelines"):  # forms of other scripts, data per language
        found = pattern.match(line)
        if found and found.group("agency"):
            return (found.group("agency"),)
    match = _DATELINE.match(line)
    if match is None:
        return ()
    parts = [p.strip() for p in re.split(r"\s*[/,;]\s*", match.group(1))]
    if not parts or parts[0].casefold() not in _agencies():
        return ()
    for part in parts[1:]:
        if part.casefold() not in _agencies() and not _SERVICE_CODE.match(part):
            return ()
    return tuple(dict.fromkeys(parts))


def _affiliation(part: str, persons: list[str]) -> bool:
    """True for one word of a cased script after a comma that follows a full name: the
    place or the employer printed beside it (``Jane Doe, Berlin``), not another person
    (persons are printed with first and last name where the first one is)."""
    return (
        len(part.split()) == 1
        and not _caseless(part)
        and bool(persons)
        and len(persons[-1].split()) > 1
    )


def _outlet_address(pieces: list[str], excluded: set[str]) -> bool:
    """True for the outlet followed by one-word places: ``Example Herald, Frankfurt,
    Germany`` in a metadata author is the outlet's address, not three authors."""
    first, *rest = (normalize_line(p).strip(" .,;") for p in pieces)
    return bool(rest) and first.lower() in excluded and all(len(p.split()) == 1 for p in rest)


def clean_names(
    values: Iterable[str], exclude: Iterable[str] = (), *, lenient: bool = False
) -> tuple[str, ...]:
    """Split and filter author strings into person names (order kept).

    ``lenient`` (metadata values) accepts any plausible author string, e.g. user names;
    otherwise names must look like personal names (:func:`is_person_name`).
    """
    check = is_plausible_author if lenient else is_person_name
    excluded = {e.strip().lower() for e in exclude if e}
    out: list[str] = []
    for original in values:
        value = normalize_line(original)
        if not value or value.startswith(("http://", "https://")):
            continue
        if value.lower() in excluded:
            continue
        prefix = _prefix_re().match(value)
        if prefix:
            value = value[prefix.end() :]
        value = _PAREN.sub(" ", value)
        value = split_outlet(value)[0]
        pieces = _split_re().split(value)
        if _outlet_address(pieces, excluded):
            continue
        for piece in pieces:
            part = _once(_strip_link_labels(normalize_line(piece).strip(" .,;")))
            if part.lower() in excluded or not check(part):
                continue
            if part not in out:
                out.append(part)
    return tuple(out)

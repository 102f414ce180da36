"""Bylines and credits: where the page prints its byline, and who the authors are.

Owns finding the printed byline (the hint's byline selector, a byline paragraph at the
head or foot of the body, a "By …" line below the headline, a date line there that ends
with full names) and the byline element, and
choosing the persons (``authors``) and the organisations credited (``credits``) among
the printed byline, JSON-LD ``author``, the author metas, the byline element and the
feed's hint. Parsing one byline's text is :mod:`crawler.extraction.byline`'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from crawler.extraction import byline as bl
from crawler.extraction import dates, signals
from crawler.extraction.body import HEAD_PARAGRAPHS, TAIL_PARAGRAPHS
from crawler.extraction.dom import Dom, select
from crawler.extraction.metadata import PageMeta, ld_people, ld_text
from crawler.extraction.record import Hints
from crawler.extraction.text import normalize_line


@dataclass(frozen=True)
class Bylines:
    """The bylines a page prints, as found before any signal is weighed."""

    printed: bl.Byline | None
    """The printed byline: the hint selector's, a body paragraph's, a prefixed line's."""
    element: bl.Byline | None
    """From the elements marked as byline/author: the first that names a person, unless a
    strongly marked one before it names only organisations (that one, then); else the
    first strongly marked one naming organisations, else the last one's parse (or None)."""
    index: int | None
    """Index of the body paragraph that is a byline (it leaves the body), or None."""

    def without_printed(self) -> Bylines:
        """The same without the printed byline (other sources contradicted its names):
        its paragraph stays in the body."""
        return replace(self, printed=None, index=None)

    @property
    def raws(self) -> set[str]:
        """The bylines' texts as printed (paragraphs equal to one leave the body)."""
        return {b.raw for b in (self.printed, self.element) if b}


def find_bylines(tree: Any, paragraphs: list[str], dom: Dom, hints: Hints) -> Bylines:
    """The printed byline and the byline element of the page whose body is ``paragraphs``."""
    printed_byline: bl.Byline | None = None
    if hints.byline_selector:
        for el in select(tree, hints.byline_selector):
            printed_byline = bl.parse_byline(el.text_content(), strict=False)
            if printed_byline:
                break
    byline_index: int | None = None
    head = range(min(HEAD_PARAGRAPHS, len(paragraphs)))
    tail = range(max(len(head), len(paragraphs) - TAIL_PARAGRAPHS), len(paragraphs))
    for i in [*head, *tail]:
        found_byline = bl.parse_byline(paragraphs[i], strict=True)
        if found_byline:
            byline_index = i
            if printed_byline is None:
                printed_byline = found_byline
            break
    if printed_byline is None:
        for text in dom.prefixed_bylines:
            printed_byline = bl.parse_byline(text, strict=True)
            if printed_byline and printed_byline.had_prefix:
                break
            printed_byline = None
    if printed_byline is None:
        for text in dom.title_dates:
            printed_byline = dated_byline(text)
            if printed_byline is not None:
                break
    element_byline: bl.Byline | None = None
    credited: bl.Byline | None = None  # a strongly marked element naming only organisations
    for text, strong in dom.byline_elements:
        element_byline = bl.parse_byline(text, strict=False, lenient=strong)
        if element_byline and element_byline.persons:
            if credited is not None and not strong:
                # The page's own author link credits an agency ("Associated Press"): a
                # weaker element's person is another text's (a related article's teaser).
                element_byline = credited
            break
        if credited is None and strong and element_byline and element_byline.credits:
            credited = element_byline
    else:
        element_byline = credited or element_byline
    return Bylines(printed_byline, element_byline, byline_index)


def dated_byline(line: str) -> bl.Byline | None:
    """A date line below the headline that ends with its author's full names
    (``11.12.2019 - Jane Doe``, ``14 March 2024 | Ana Ruiz y Tomás Vega``)."""
    rest = dates.text_after_leading_date(line)
    if rest is None:
        return None
    found = bl.parse_byline(rest, strict=False)
    if found is None or not found.persons or found.credits:
        return None
    if any(len(p.split()) < 2 for p in found.persons):
        return None
    return replace(found, raw=normalize_line(line))  # the whole line leaves the body


@dataclass(frozen=True)
class Authorship:
    """Who the page says wrote it, and whether its printed byline was believed."""

    persons: tuple[str, ...]
    """The authors (persons)."""
    credits: tuple[str, ...]
    """Organisations credited (agencies, desks, the outlet)."""
    byline: str | None
    """The byline as printed (None when none was believed)."""
    printed_believed: bool
    """False when other sources agreed on persons the printed byline does not name: it
    was a teaser's byline or a headline fragment read as names."""


def choose_authors(
    meta: PageMeta,
    printed: bl.Byline | None,
    element: bl.Byline | None,
    site_name: str | None,
    hints: Hints,
    *,
    printed_in_body: bool = False,
) -> Authorship:
    """Persons, organisations credited, and the byline as printed.

    Persons come from the first source that names any: the printed byline, JSON-LD
    ``author`` persons, ``<meta name=author>``, a byline element, the feed; then the
    sources are weighed against each other (:func:`_agreed`). Credits (agencies, desks,
    the outlet) come from the printed byline, else the byline element, else JSON-LD
    ``author`` organisations, else agencies and desks named in the metadata's author
    strings (``det/dpa``).
    """
    if not signals.on(signals.BYLINE):
        printed = None
    if not signals.on(signals.BYLINE_ELEMENT):
        element = None
    byline_text = printed.raw if printed else (element.raw if element else None)
    ld_persons: list[str] = []
    ld_orgs: list[str] = []
    if signals.on(signals.JSONLD_AUTHOR):
        # The article's node; a graph without one (Yoast on untyped posts) states the
        # author on its WebPage node.
        node = meta.article or meta.page
        ld_persons, ld_orgs = ld_people(node.get("author") or node.get("creator"), meta.ids)
    # The outlet's names are no persons; a one-person site's publisher is its author.
    publisher = (meta.article.get("publisher") if meta.article else None) or meta.page.get(
        "publisher"
    )
    author_publisher = ld_text(publisher) if _is_person(publisher) else None
    generic = [
        name
        for n in (site_name, ld_text(publisher))
        if n and n != author_publisher
        for name in (n, _DOMAIN_ENDING.sub("", n))
    ]
    meta_values = [
        v
        for v in meta.all(
            "author",
            "article:author",
            "parsely-author",
            "dc.creator",
            "dcterms.creator",
            "sailthru.author",
            "byl",
            "article:author_name",
            "author_name",
            "shareaholic:article_author_name",
        )
        if not v.startswith(("http://", "https://", "www.")) and signals.on(signals.META_AUTHOR)
    ]
    if signals.on(signals.META_AUTHOR):
        meta_values += labelled_authors(meta)
    believed = True
    if (
        printed
        and not printed.had_prefix
        and element
        and element.had_prefix
        and element.persons
        and not _shares(printed.persons, element.persons)
    ):
        # "By Jane Doe" under the headline outweighs a body line that only reads as
        # names (a recipe's name, a call to action in capitals): the line stays text.
        printed, believed = None, False
        byline_text = element.raw
    named_credits = bl.named_credits([*ld_persons, *meta_values])
    credits = _credits(printed, element, ld_orgs, named_credits)
    sources = [
        printed.persons if printed else (),
        bl.clean_names(ld_persons, exclude=generic, lenient=True),
        bl.clean_names(meta_values, exclude=generic, lenient=True),
        bl.clean_names(element.persons, exclude=generic, lenient=True)
        if element and element.persons
        else (),
    ]
    named = [names for names in sources if names]
    if not named:
        persons = tuple(bl.clean_names(hints.authors, lenient=True))
        if not persons and not credits:
            credits = _outlet_credited([*ld_persons, *meta_values], generic)
        return Authorship(persons, credits, byline_text, believed)
    if printed and printed.persons and printed_in_body and _full_names(printed.persons):
        persons = _agreed(named[0], named[1:], keep_first=True)
    else:
        persons = _agreed(named[0], named[1:])
    persons = _completed(persons, named, keep=printed.persons if printed else ())
    if printed and printed.persons and not _shares(persons, printed.persons):
        # The printed byline named others than the page's author: not this article's.
        element_agrees = element is not None and _shares(persons, element.persons)
        byline_text = element.raw if element is not None and element_agrees else None
        if not printed.credits:
            return Authorship(
                persons, _credits(None, element, ld_orgs, named_credits), byline_text, False
            )
    return Authorship(persons, credits, byline_text, believed)


_DOMAIN_ENDING = re.compile(r"\.(?:[a-z]{2}|com|net|org|info|online|news)$", re.IGNORECASE)
"""A site name written as its address (``Automobilwoche.de``): the bare name
(``Automobilwoche``) in an author field is the outlet too."""


def _outlet_credited(values: list[str], outlet_names: list[str]) -> tuple[str, ...]:
    """The outlet, as the page's author metadata names it, when that is all it names
    (``<meta name="author" content="Deutscher Tennis Bund">`` on that outlet's site): the
    outlet itself is credited. Empty when no value is one of ``outlet_names``."""
    outlets = {" ".join(n.split()).casefold() for n in outlet_names}
    for value in values:
        name = normalize_line(value)
        if name and name.casefold() in outlets:
            return (name,)
    return ()


def _is_person(node: Any) -> bool:
    """True for a JSON-LD node typed ``Person`` (a one-person site publishes as its author:
    the publisher's name is then no outlet's to exclude from the authors)."""
    if not isinstance(node, dict):
        return False
    kind = node.get("@type") or node.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    return any(str(k).casefold() == "person" for k in kinds)


TWITTER_LABELS = 4
"""How many ``twitter:labelN`` / ``twitter:dataN`` pairs are read (plugins write one or two)."""


def labelled_authors(meta: PageMeta) -> list[str]:
    """Values of ``twitter:dataN`` whose ``twitter:labelN`` says "written by" (Yoast writes
    ``Written by`` / ``Verfasst von`` / ``Écrit par`` and the author on every post)."""
    labels = bl.author_labels()
    out: list[str] = []
    for n in range(1, TWITTER_LABELS + 1):
        label = (meta.first(f"twitter:label{n}") or "").strip().rstrip(":").casefold()
        value = meta.first(f"twitter:data{n}")
        if value and label in labels:
            out.append(value)
    return out


def _same_person(a: str, b: str) -> bool:
    """True when two name strings can name one person: equal, or one's words all in the
    other's (a surname alone, a name with a role glued on)."""
    wa, wb = a.casefold().split(), b.casefold().split()
    if wa == wb:
        return True
    short, long = (wa, wb) if len(wa) < len(wb) else (wb, wa)
    return bool(short) and all(len(w) > 2 and w in long for w in short)


def _covers(names: tuple[str, ...], others: tuple[str, ...]) -> bool:
    """True when each of ``names`` is one of ``others``'s persons."""
    return all(any(_same_person(n, o) for o in others) for n in names)


def _shares(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    return any(_same_person(x, y) for x in a for y in b)


def _full_names(names: tuple[str, ...]) -> bool:
    """True when every name has at least two words (a single word may be a noun)."""
    return all(len(n.split()) > 1 for n in names)


def _agreed(
    first: tuple[str, ...], others: list[tuple[str, ...]], *, keep_first: bool = False
) -> tuple[str, ...]:
    """The persons independent sources agree on, starting from the first source's.

    The first source that names anyone (in priority order) is taken unless two other
    sources agree on persons it does not name at all (a byline from a teaser or a
    headline fragment read as names), and it is completed by a longer list of the same
    persons that a second source confirms (a printed byline that shows only the first
    of two authors). ``keep_first``: the first source is not overruled, only completed.
    """
    chosen = first
    if not keep_first and not any(_shares(first, o) for o in others):
        for i, names in enumerate(others):
            if any(_shares(names, o) for o in others[i + 1 :]):
                chosen = names
                break
    for i, names in enumerate(others):
        if (
            len(names) > len(chosen)
            and _covers(chosen, names)
            and any(_covers(names, o) for j, o in enumerate(others) if j != i)
        ):
            return names
    return chosen


MAX_COMPLETING_WORDS = 4
"""A name longer than this is a name with a role or a sentence glued on, not a full name."""


def _completed(
    persons: tuple[str, ...], sources: list[tuple[str, ...]], *, keep: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """The persons, each one-word name from the metadata (a given name, a surname, a
    login: ``Todd``) replaced by the full name another source prints for the same person
    (``Todd Bates``), when exactly one does. Names in ``keep`` (the printed byline's, as
    readers see them) stay as printed."""
    out: list[str] = []
    for person in persons:
        name = person
        if len(name.split()) == 1 and name not in keep:
            fuller = {
                other.casefold(): other
                for names in sources
                for other in names
                if 1 < len(other.split()) <= MAX_COMPLETING_WORDS and _same_person(name, other)
            }
            if len(fuller) == 1:
                name = next(iter(fuller.values()))
        if name.casefold() not in {n.casefold() for n in out}:
            out.append(name)
    return tuple(out)


def _credits(
    printed: bl.Byline | None,
    element: bl.Byline | None,
    ld_orgs: list[str],
    named: tuple[str, ...],
) -> tuple[str, ...]:
    """Organisations credited: the printed byline's, else the element's, else JSON-LD's
    organisations, else the agencies and desks the metadata's author strings name."""
    for found in (
        printed.credits if printed else (),
        element.credits if element else (),
        tuple(normalize_line(o) for o in ld_orgs),
        named,
    ):
        out: list[str] = []
        for name in found:
            if name and name.casefold() not in {x.casefold() for x in out}:
                out.append(name)
        if out:
            return tuple(out)
    return ()


def wire_credits(lead: str | None, paragraphs: list[str]) -> tuple[str, ...]:
    """The agencies a wire dateline credits (``Hamburg (dpa/lno) –``) at the start of the
    lead or of the first paragraph: wire copy whose byline, if any, credits none."""
    for text in (lead, paragraphs[0] if paragraphs else None):
        found = bl.dateline_credits(text) if text else ()
        if found:
            return found
    return ()

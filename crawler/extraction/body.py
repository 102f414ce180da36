"""The main text: which paragraphs are the article's, and the passes that move the rest out.

The paragraphs come from the site's body selector (a hint) or trafilatura; then the title
line, the byline paragraph, the translation note, "read more" teasers and photo credits
leave them (each kept in its own field by the pass that finds it, or dropped). The date
header is taken by :func:`crawler.extraction.published.take_date_header`, the lead by
:func:`crawler.extraction.lead.choose_lead`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trafilatura import bare_extraction

from crawler.extraction import byline as bl
from crawler.extraction.dom import block_paragraphs, select
from crawler.extraction.record import Hints, TranslationNote
from crawler.extraction.text import same_line, split_paragraphs, word_count
from crawler.extraction.translation import find_translation

if TYPE_CHECKING:
    from crawler.extraction.authors import Bylines

RECALL_BELOW_WORDS = 40
"""When trafilatura's main text has fewer words than this (`word_count`), it is asked
again favouring recall, and the longer text is kept: its default pass prunes ``<aside>``
as boilerplate, and an article that malformed markup left inside an unclosed sidebar
``<aside>`` was dropped whole, leaving a site tagline (a page typed as an article was then
rejected ``too_short``)."""

HEAD_PARAGRAPHS = 4
"""The body's head: where a date header or a byline paragraph is looked for first."""
TAIL_PARAGRAPHS = 3
"""The body's foot: where a date line or a byline paragraph is looked for next."""


def main_paragraphs(tree: Any, url: str, hints: Hints) -> list[str]:
    """The body's paragraphs: the hint's body selector, else trafilatura's main text."""
    paragraphs: list[str] = []
    if hints.body_selector:
        found = select(tree, hints.body_selector)
        if found:
            paragraphs = block_paragraphs(found[0])
    if not paragraphs:
        paragraphs = _trafilatura_paragraphs(tree, url)
        if word_count("\n\n".join(paragraphs)) < RECALL_BELOW_WORDS:
            recalled = _trafilatura_paragraphs(tree, url, favor_recall=True)
            if word_count("\n\n".join(recalled)) > word_count("\n\n".join(paragraphs)):
                paragraphs = recalled
    return paragraphs


def _trafilatura_paragraphs(tree: Any, url: str, *, favor_recall: bool = False) -> list[str]:
    doc = bare_extraction(
        tree,
        url=url,
        with_metadata=False,
        include_comments=False,
        include_tables=True,
        favor_recall=favor_recall,
    )
    return split_paragraphs(getattr(doc, "text", None) or "")


def drop_title(paragraphs: list[str], titles: list[str]) -> list[str]:
    """``paragraphs`` without the opening lines that repeat one of ``titles``, and the
    prompts above them (a breadcrumb trail ending in the headline)."""
    while paragraphs and (
        any(same_line(paragraphs[0], t) for t in titles) or _is_prompt(paragraphs[0])
    ):
        paragraphs = paragraphs[1:]
    return paragraphs


def drop_bylines(
    paragraphs: list[str], bylines: Bylines, header_index: int | None
) -> tuple[list[str], str | None]:
    """``paragraphs`` without the byline paragraph (and any paragraph printing a byline
    found elsewhere), and the lead its position reveals (or None).

    Header, standfirst, byline, body: the paragraph before a byline that is the body's
    second paragraph (below a top date header, or none) is the lead.
    """
    raw_bylines = bylines.raws
    byline_index = bylines.index
    kept: list[str] = []
    lead_from_position: str | None = None
    for i, para in enumerate(paragraphs):
        if i == byline_index or para in raw_bylines:
            if (
                i == byline_index
                and i == 1
                and header_index in (0, None)
                and len(kept) == 1
                and len(kept[0]) >= 40
            ):
                # header, standfirst, byline, body: the paragraph before the byline is the lead
                lead_from_position = kept.pop()
            continue
        kept.append(para)
    return kept, lead_from_position


def take_translation_note(paragraphs: list[str]) -> tuple[TranslationNote | None, list[str]]:
    """The translation note printed in the body (or None), and the paragraphs without it."""
    found = find_translation(paragraphs)
    if not found:
        return None, paragraphs
    translation, note_indexes = found
    return translation, [p for i, p in enumerate(paragraphs) if i not in note_indexes]


MAX_PROMPT_CHARS = 200
"""A paragraph longer than this is text, whatever it opens with."""


def _is_prompt(paragraph: str) -> bool:
    return len(paragraph) <= MAX_PROMPT_CHARS and bl.is_prompt(paragraph)


def drop_teasers_and_photo_credits(paragraphs: list[str]) -> list[str]:
    """``paragraphs`` without "read more" teasers, photo credits and prompts (sign-up
    boxes, share and comment calls, a list's heading: ``patterns/*.yaml`` ``prompts``)."""
    return [
        p
        for p in paragraphs
        if not (len(p) <= 300 and bl.is_teaser(p))
        and not (len(p) <= 120 and bl.is_photo_credit(p))
        and not _is_prompt(p)
    ]

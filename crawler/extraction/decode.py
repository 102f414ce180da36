"""Decoding a fetched page: its bytes to text (the charset decision), the text to one lxml tree.

Owns which charset a page is read in (byte-order mark, the HTTP header, ``<meta
charset>``, UTF-8, cp1252) and what is not an HTML document at all (``not_html``,
``parse_error``). Every later pass works on the tree parsed here.
"""

from __future__ import annotations

import codecs
import contextlib
import re
from typing import Any

import lxml.html  # type: ignore[import-untyped]
from lxml import etree

_PARSER = etree.HTMLParser(
    collect_ids=False, default_doctype=False, remove_comments=True, remove_pis=True
)
"""Same settings as trafilatura's own parser, so its body extraction sees the same tree.

Its elements are ``lxml.html.HtmlElement`` (trafilatura and htmldate call
``text_content()`` and ``drop_tree()``) chosen by lxml's C-level default lookup instead
of ``lxml.html``'s Python ``HtmlElementClassLookup``, which ran on every element proxy
created (about 5,000 per page, 5 % of the extraction's CPU): the form-specific classes
(``FormElement``, ``InputElement``...) it would pick are used by nothing here."""
_PARSER.set_element_class_lookup(
    etree.ElementDefaultClassLookup(
        element=lxml.html.HtmlElement,
        comment=lxml.html.HtmlComment,
        pi=lxml.html.HtmlProcessingInstruction,
        entity=lxml.html.HtmlEntity,
    )
)
_DOCTYPE = re.compile(r"<!DOCTYPE[^>]*>", re.I)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def decode_document(data: bytes, encoding: str | None = None) -> str:
    """Decode page bytes; never raises.

    A byte-order mark wins, then the declared charset (``encoding``, the HTTP
    ``Content-Type`` charset, before a ``<meta charset>``), then UTF-8, then cp1252.
    Declarations that cannot be right are ignored: UTF-16/32 on bytes without NULs
    (byte text; ASCII and UTF-8 are what such pages are), ``ascii`` on non-ASCII bytes,
    unknown names. UTF-8 with a few invalid bytes (declared, or mostly valid) keeps its
    text with replacement characters rather than turning into cp1252 mojibake.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace")
    head = data[:4096]
    if b"\x00" not in head and not data.isascii():
        # Non-ASCII bytes that are valid UTF-8 throughout are UTF-8 whatever a header or
        # meta says (servers often send a default "iso-8859-1"): text in a single-byte
        # charset practically never forms valid multi-byte sequences everywhere.
        with contextlib.suppress(UnicodeDecodeError):
            return data.decode("utf-8")

    def wide(codec: str) -> str:
        """Decode as UTF-16/32; the byte order from where the NULs of ASCII text fall."""
        if codec in ("utf-16", "utf-32"):
            width = 2 if codec == "utf-16" else 4
            zeros_first = head[: len(head) // width * width : width].count(0)
            zeros_last = head[width - 1 :: width].count(0)
            codec += "-be" if zeros_first > zeros_last else "-le"
        return data.decode(codec, errors="replace")

    declared = [encoding] if encoding else []
    match = _META_CHARSET.search(head)
    if match:
        declared.append(match.group(1).decode("ascii", "ignore"))
    for name in declared:
        try:
            codec = codecs.lookup(name.strip().lower()).name
        except (LookupError, ValueError):
            continue
        if codec.startswith(("utf-16", "utf-32")):
            if b"\x00" not in head:
                continue  # a wide charset declared on byte text
            return wide(codec)
        if codec == "utf-8":
            return data.decode("utf-8", errors="replace")
        if codec == "ascii":
            continue  # ASCII pages decode as UTF-8 below; non-ASCII bytes belie it
        if codec == "iso8859-1":
            codec = "cp1252"  # as browsers read it
        try:
            return data.decode(codec)
        except (LookupError, UnicodeError, ValueError):  # not a text codec, or bytes it rejects
            if codec == "cp1252":
                return data.decode("latin-1")
    zeros = head.count(0)
    if zeros * 4 > len(head):  # undeclared UTF-16/32 without a BOM: ASCII text has NULs
        return wide("utf-32" if zeros * 3 > 2 * len(head) else "utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="replace")
    invalid = text.count("\ufffd")
    valid = sum(1 for ch in text if ch > "\x7f") - invalid
    if valid > invalid:
        return text  # mostly UTF-8: a few broken bytes, not a legacy charset
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def parse_document(html: str | bytes, *, encoding: str | None = None) -> tuple[Any, str | None]:
    """Decode and parse ``html`` once; returns ``(tree, None)`` or ``(None, reason)``.

    ``encoding`` is the charset the server declared for bytes (see :func:`decode_document`).
    """
    source = decode_document(html, encoding) if isinstance(html, bytes) else html
    if "<" not in source[:100_000]:
        return None, "not_html"
    bad = len(_BAD_CHARS.findall(source[:20_000]))
    if bad > 0.05 * min(len(source), 20_000):
        return None, "not_html"
    source = _BAD_CHARS.sub("", _XML_DECL.sub("", source, count=1))
    if "doctype" in source[:50].lower():
        first, sep, rest = source.partition("\n")
        source = _DOCTYPE.sub("", first, count=1) + sep + rest
    try:
        tree = lxml.html.document_fromstring(source, parser=_PARSER)
    except (etree.ParserError, ValueError):
        return None, "parse_error"
    if tree is None or tree.find("body") is None:
        return None, "not_html"
    return tree, None

"""Hardened XML intake for discovery documents: caps, gunzip, encodings, repairs, no entities.

Owns the only place discovery parses XML, and what a document goes through first
(`prepare_xml`). Guarantees, whatever the input:

* at most ``max_size`` bytes are read or inflated (gzip bombs stop at the cap);
* entities are never expanded and nothing is ever loaded: the parser resolves no entity,
  loads no DTD and touches neither the network nor the file system. A DOCTYPE declaring
  entities that could expand (one that refers to other entities: billion laughs) or that
  name a file or URL to read (``SYSTEM``: XXE) gets the document refused; other entity
  declarations (one internal entity, the XHTML entity sets by ``PUBLIC`` name) are
  dropped with the DOCTYPE and their references are left unexpanded as text;
* the document is read as UTF-8: a byte-order mark, the XML declaration or, for an
  undeclared document that is not UTF-8, the caller's fallback charset (the HTTP one)
  names its encoding, ``iso-8859-1`` and ``us-ascii`` are read as windows-1252 (as
  browsers do) and an undeclared, unlabelled document that is not UTF-8 as windows-1252;
* junk before the document (a PHP warning, blank lines, a byte-order mark and
  whitespace) is skipped up to the XML declaration or a feed or sitemap root element;
* a document that is not well-formed is parsed again with its stray ``&`` escaped, HTML
  entity names (``&eacute;``) turned into their characters and control characters
  removed (`repair_xml`), and only then leniently (lxml recovery, same hardened options),
  cut after its last complete item when the end of the document is missing;
* missing or wrong namespaces are tolerated (callers match on local names via `local_name`).

Longer than ~400 lines on purpose: the stages a document passes before it is parsed, in
their order; the guarantees above hold only for the whole sequence.
"""

from __future__ import annotations

import codecs
import html.entities
import logging
import re
import zlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from lxml import etree  # type: ignore[import-untyped]

from crawler.discovery.errors import DiscoveryError, NotXMLError

__all__ = [
    "DEFAULT_MAX_SIZE",
    "FEED_ROOTS",
    "SITEMAP_ROOTS",
    "child_text",
    "children",
    "element_text",
    "first_child",
    "iter_records",
    "local_name",
    "maybe_gunzip",
    "parse_leniently",
    "parse_prepared_xml",
    "parse_xml",
    "prepare_xml",
    "repair_xml",
    "root_name",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_MAX_SIZE = 50 * 1024 * 1024
"""Default cap on a discovery document, after decompression (the sitemap protocol limit)."""

FEED_ROOTS = frozenset({"rss", "feed", "rdf"})
"""Local names (lower-case) of the root elements of RSS, Atom and RDF feeds."""
SITEMAP_ROOTS = frozenset({"urlset", "sitemapindex"})
"""Local names (lower-case) of the root elements of sitemaps."""

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 64 * 1024
_JUNK_WINDOW = 64 * 1024
_PULL_CHUNK = 256 * 1024

_UTF32_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"))
_UTF16_BOMS = ((codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_NUL_PREFIXES = (
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
)
_EBCDIC_XML_DECL = b"\x4c\x6f\xa7\x94"  # "<?xm" in EBCDIC
_ENCODING_DECL = re.compile(rb"<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})[\"']")
_MARKUP_PROBE = "<!DOCTYPE ENTITY SYSTEM PUBLIC [] % & ; \" ' >"
_AS_WINDOWS_1252 = frozenset({"iso8859-1", "ascii", "cp1252"})
_CP1252_UNDEFINED = {0xDC00 + b: b for b in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}
_SPACE_OR_BOM = re.compile(rb"(?:\s|\xef\xbb\xbf)+")

_KNOWN_ROOT = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?(?:rss|feed|RDF|rdf|urlset|sitemapindex)[\s/>]", re.ASCII
)
_PROLOG = re.compile(rb"(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)
_DOCTYPE_HEAD = re.compile(
    rb"""<!DOCTYPE\s+[^\s\[>]+(?:\s+(?:SYSTEM\s+(?:"[^"]*"|'[^']*')"""
    rb"""|PUBLIC\s+(?:"[^"]*"|'[^']*')(?:\s+(?:"[^"]*"|'[^']*'))?))?\s*(\[)?""",
    re.IGNORECASE,
)
_SUBSET_TOKEN = re.compile(
    rb"""\s+|<!--.*?-->|<\?.*?\?>|%[^\s;%&<>]+;|<!(?:[^"'>]|"[^"]*"|'[^']*')*>""", re.DOTALL
)
_DOCTYPE_END = re.compile(rb"\]\s*>")
_ENTITY_DECL = re.compile(
    rb"""<!ENTITY\s+(%\s+)?([^\s"'>]+)\s+(?:("[^"]*"|'[^']*')"""
    rb"""|(SYSTEM|PUBLIC)\s+("[^"]*"|'[^']*')(?:\s+("[^"]*"|'[^']*'))?"""
    rb"""(?:\s+NDATA\s+[^\s>]+)?)\s*>""",
    re.IGNORECASE,
)
_ENTITY_WORD = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)
_DOCTYPE = re.compile(rb"<!\s*DOCTYPE", re.IGNORECASE)
_CHAR_REF = re.compile(rb"&#(?:[0-9]{1,8}|x[0-9a-fA-F]{1,8});")
_ROOT_START = re.compile(rb"<([A-Za-z_][\w.:-]*)", re.ASCII)

_STRAY_AMPERSAND = re.compile(
    rb"&(?!(?:#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|[A-Za-z][A-Za-z0-9]{0,31});)"
)
_NAMED_REFERENCE = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos);)([A-Za-z][A-Za-z0-9]{0,31});")
_NUMERIC_REFERENCE = re.compile(rb"&#([0-9]{1,8}|[xX][0-9a-fA-F]{1,8});")
_CONTROL_CHARS = bytes(c for c in range(32) if c not in (9, 10, 13))
_RECORD_END = re.compile(rb"</(?:[\w.-]+:)?(?:url|sitemap|item|entry)\s*>", re.ASCII)
_ROOT_END = re.compile(rb"</(?:[\w.-]+:)?(?:urlset|sitemapindex|rss|feed|RDF|rdf)\s*>", re.ASCII)


def maybe_gunzip(body: bytes, max_size: int) -> bytes:
    """Return ``body`` inflated when it starts with the gzip magic bytes, else unchanged.

    Inflates in bounded chunks and raises `DiscoveryError` as soon as the output
    would exceed ``max_size`` bytes, so a gzip bomb never allocates past the cap.
    Concatenated gzip members are supported. Corrupt gzip raises `DiscoveryError`.
    """
    if not body.startswith(_GZIP_MAGIC):
        if len(body) > max_size:
            raise DiscoveryError(f"document is {len(body)} bytes, over the {max_size} byte cap")
        return body
    out = bytearray()
    data = body
    while True:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            while True:
                room = max_size - len(out)
                chunk = inflater.decompress(data, min(_CHUNK, room + 1))
                out += chunk
                if len(out) > max_size:
                    raise DiscoveryError(f"gzip body inflates past {max_size} bytes")
                data = inflater.unconsumed_tail
                if inflater.eof:
                    break
                if not data and not chunk:
                    raise DiscoveryError("gzip body is truncated")
        except zlib.error as exc:
            raise DiscoveryError(f"gzip body is corrupt: {exc}") from None
        data = inflater.unused_data
        if not data.startswith(_GZIP_MAGIC):
            break  # no further member; trailing garbage is ignored, like gzip(1)
    return bytes(out)


# --------------------------------------------------------------------------- encodings


def _codec(name: str | None) -> str | None:
    """Python's name of the codec called ``name``; None when unknown or not given."""
    if not name:
        return None
    try:
        return codecs.lookup(name.strip()).name
    except (LookupError, ValueError):
        return None


def _ascii_compatible(encoding: str) -> bool:
    """True when ``encoding`` writes XML markup characters as plain ASCII bytes.

    Unknown names count as compatible: libxml2 either rejects them or falls back
    to UTF-8, and the post-parse entity check still applies.
    """
    try:
        codec = codecs.lookup(encoding)
    except LookupError:
        return True
    if codec.name == "utf-7":
        return False  # '<' may be written as '+ADw-'
    try:
        return _MARKUP_PROBE.encode(encoding) == _MARKUP_PROBE.encode("ascii")
    except (LookupError, UnicodeError, TypeError, ValueError):
        return False


def _is_utf8(body: bytes) -> bool:
    """True when ``body`` is valid UTF-8 (checked in chunks: no copy of a large body)."""
    if body.isascii():
        return True
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for start in range(0, len(body), 1 << 20):
            decoder.decode(body[start : start + (1 << 20)])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _decode(body: bytes, codec: str) -> str:
    if codec in _AS_WINDOWS_1252:
        # windows-1252 as browsers read it: its five unassigned bytes are C1 controls
        return body.decode("cp1252", errors="surrogateescape").translate(_CP1252_UNDEFINED)
    return body.decode(codec, errors="replace")


def _declare_utf8(body: bytes) -> bytes:
    """``body`` with the encoding named by its XML declaration replaced by UTF-8."""
    declared = _ENCODING_DECL.match(body)
    if declared is None:
        return body
    return body[: declared.start(1)] + b"UTF-8" + body[declared.end(1) :]


def _transcode(body: bytes, codec: str) -> bytes:
    return _declare_utf8(_decode(body, codec).encode("utf-8"))


def _unicode_family(body: bytes) -> bytes | None:
    """``body`` as UTF-8 when a byte-order mark or NUL bytes show UTF-16/32, else None."""
    for boms in (_UTF32_BOMS, _UTF16_BOMS):
        for bom, codec in boms:
            if body.startswith(bom):
                return _transcode(body, codec)  # the codec drops the mark
    for prefix, codec in _NUL_PREFIXES:
        if body.startswith(prefix):
            return _transcode(body, codec)
    return None


def _to_utf8(body: bytes, fallback: str | None) -> bytes:
    """The document read with the encoding its declaration names, else UTF-8 when it is
    valid UTF-8, else ``fallback``, else windows-1252; returned as UTF-8 bytes."""
    declared = _ENCODING_DECL.match(body)
    if declared is not None:
        name = declared.group(1).decode("ascii")
        if not _ascii_compatible(name):
            raise DiscoveryError(f"document encoding {name!r} is not supported; refused")
        codec = _codec(name)
        if codec is None:
            return body  # unknown to Python: libxml2 reads it or says why not
        if codec == "utf-8":
            return body
        return _transcode(body, codec)
    if _is_utf8(body):
        return body
    codec = _codec(fallback)
    if codec is None or codec == "utf-8" or not _ascii_compatible(codec):
        codec = "cp1252"
    return _transcode(body, codec)


# --------------------------------------------------------------------------- preparing


def _skip_junk(body: bytes) -> bytes:
    """``body`` from its XML declaration or feed/sitemap root when junk comes before it."""
    space = _SPACE_OR_BOM.match(body)
    if space is not None:
        body = body[space.end() :]
    if body.startswith((b"<?xml", b"<!")) or _KNOWN_ROOT.match(body):
        return body
    head = body[:_JUNK_WINDOW]
    starts = [p for p in (head.find(b"<?xml"),) if p > 0]
    root = _KNOWN_ROOT.search(head)
    if root is not None:
        starts.append(root.start())
    if not starts:
        return body
    start = min(starts)
    logger.debug("skipped %d bytes of junk before the XML document", start)
    return body[start:]


def _entity_danger(declaration: bytes) -> str | None:
    """Why an ``<!ENTITY ...>`` declaration gets the document refused; None when benign."""
    match = _ENTITY_DECL.fullmatch(declaration)
    if match is None:
        return "an entity declaration that cannot be read"
    parameter, name, value, kind, first, _second = match.groups()
    label = name.decode("ascii", "replace")[:40]
    if value is not None:
        inner = _CHAR_REF.sub(b"", value[1:-1])
        if b"&" in inner or b"%" in inner:
            return f"entity {label!r} refers to other entities"
        return None
    if parameter is None:
        return f"entity {label!r} is external ({kind.decode().upper()})"
    if kind.upper() == b"SYSTEM":
        target = first[1:-1].decode("utf-8", "replace")[:80]
        return f"parameter entity {label!r} names a resource to load ({target!r})"
    return None  # a PUBLIC entity set (e.g. XHTML's), never loaded


def _handle_doctype(body: bytes) -> bytes:
    """Refuse a DOCTYPE whose entities could expand or load; drop one whose entities cannot.

    The entities of a dropped DOCTYPE stay unexpanded: `repair_xml` turns references to
    HTML's entity names into characters and leaves the others as text.
    """
    prolog_end = _PROLOG.match(body).end()  # type: ignore[union-attr]
    head = _DOCTYPE_HEAD.match(body, prolog_end)
    if head is None:
        # no DOCTYPE where one belongs; one elsewhere that declares entities is refused
        # before libxml2 sees it, as it always was
        doctype = _DOCTYPE.search(body)
        if doctype is not None and _ENTITY_WORD.search(body, doctype.start()):
            raise DiscoveryError("document declares XML entities in its DOCTYPE; refused")
        return body
    if head.group(1) is None:
        return body  # no internal subset: nothing declared here, nothing will be loaded
    pos = head.end()
    entities: list[bytes] = []
    while True:
        end = _DOCTYPE_END.match(body, pos)
        if end is not None:
            break
        token = _SUBSET_TOKEN.match(body, pos)
        if token is None or token.end() == pos:
            subset = body[head.end() : head.end() + _JUNK_WINDOW]
            if _ENTITY_WORD.search(subset):
                raise DiscoveryError("document declares XML entities in its DOCTYPE; refused")
            return body  # libxml2 reports the broken DOCTYPE
        if token.group().startswith(b"<!") and _ENTITY_WORD.match(token.group()):
            entities.append(token.group())
        pos = token.end()
    if not entities:
        return body
    for declaration in entities:
        danger = _entity_danger(declaration)
        if danger is not None:
            raise DiscoveryError(
                f"document declares XML entities in its DOCTYPE ({danger}); refused"
            )
    logger.debug("dropped a DOCTYPE declaring %d entities; they stay unexpanded", len(entities))
    return body[: head.start()] + body[end.end() :]


def prepare_xml(
    body: bytes, *, max_size: int = DEFAULT_MAX_SIZE, encoding: str | None = None
) -> bytes:
    """``body`` made ready for parsing: inflated, UTF-8, junk skipped, DOCTYPE checked.

    ``encoding`` is the charset the document came with (HTTP ``Content-Type``), used
    only when the document declares none and is not UTF-8. Raises `DiscoveryError` for
    empty, oversized, EBCDIC, UTF-7 or entity-declaring input (see the module docstring).
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise DiscoveryError(f"document must be bytes, got {type(body).__name__}")
    body = maybe_gunzip(bytes(body), max_size)
    transcoded = _unicode_family(body)
    if transcoded is not None:
        body = transcoded
    elif body.startswith(_EBCDIC_XML_DECL):
        raise DiscoveryError("document is EBCDIC-encoded; refused")
    body = _skip_junk(body)
    if not body:
        raise DiscoveryError("document is empty")
    if transcoded is None:
        body = _to_utf8(body, encoding)
    return _handle_doctype(body)


def root_name(prepared: bytes) -> str | None:
    """Local name (lower-case) of the first element of a prepared document, if any."""
    pos = _PROLOG.match(prepared).end()  # type: ignore[union-attr]
    doctype = _DOCTYPE_HEAD.match(prepared, pos)
    if doctype is not None:
        if doctype.group(1) is None:
            closing = prepared.find(b">", doctype.end())
        else:
            end = _DOCTYPE_END.search(prepared, doctype.end())
            closing = -1 if end is None else end.end() - 1
        if closing < 0:
            return None
        pos = _PROLOG.match(prepared, closing + 1).end()  # type: ignore[union-attr]
    start = _ROOT_START.match(prepared, pos)
    if start is None:
        return None
    return start.group(1).decode("ascii").rsplit(":", 1)[-1].lower()


# --------------------------------------------------------------------------- repairs


def _named_reference(match: re.Match[bytes]) -> bytes:
    """An HTML entity name as character references; any other name escaped as text."""
    name = match.group(1)
    chars = html.entities.html5.get(name.decode("ascii") + ";")
    if chars is None:
        return b"&amp;" + name + b";"  # an unknown entity stays as written
    return b"".join(b"&#%d;" % ord(c) for c in chars)


def _numeric_reference(match: re.Match[bytes]) -> bytes:
    """A character reference kept when XML allows the character, else dropped."""
    digits = match.group(1)
    number = int(digits[1:], 16) if digits[:1] in b"xX" else int(digits)
    if number in (9, 10, 13) or 0x20 <= number <= 0xD7FF:
        return match.group()
    if 0xE000 <= number <= 0xFFFD or 0x10000 <= number <= 0x10FFFF:
        return match.group()
    return b""


def _repair_text(text: bytes) -> bytes:
    """`repair_xml` for text outside CDATA sections and comments (the bulk runs in C)."""
    text = text.translate(None, _CONTROL_CHARS)
    if b"&" not in text:
        return text
    text = _STRAY_AMPERSAND.sub(b"&amp;", text)
    text = _NAMED_REFERENCE.sub(_named_reference, text)
    return _NUMERIC_REFERENCE.sub(_numeric_reference, text)


def _text_pieces(text: bytes) -> Iterator[bytes]:
    """``text`` in pieces of about `_CHUNK` bytes, never cut inside an ``&...;`` reference
    (keeps what the regular expressions of `_repair_text` hold at once small)."""
    pos = 0
    while len(text) - pos > _CHUNK:
        cut = pos + _CHUNK
        ampersand = text.rfind(b"&", cut - 40, cut)
        if ampersand > pos:
            cut = ampersand
        yield text[pos:cut]
        pos = cut
    yield text[pos:]


def repair_xml(prepared: bytes, *, max_size: int | None = None) -> bytes | None:
    """Fix what makes most real-world feeds and sitemaps not well-formed.

    Escapes stray ``&`` (``?x=1&y=2`` keeps its ``&y=2``), turns HTML entity names
    (``&eacute;``, ``&nbsp;``) into character references, leaves other unknown entity
    references as text, drops control characters and invalid character references.
    CDATA sections and comments are left alone. Linear in the document's size; None
    when the repaired document would grow past ``max_size`` bytes (a document of
    ampersands grows fivefold).
    """
    out: list[bytes] = []
    size = 0
    pos = 0
    openers = {b"<![CDATA[": b"]]>", b"<!--": b"-->"}
    while True:
        match = None
        if openers:
            pattern = re.compile(b"|".join(re.escape(o) for o in openers))
            match = pattern.search(prepared, pos)
        section = b""
        if match is not None:
            closer = openers[match.group()]
            end = prepared.find(closer, match.end())
            if end < 0:
                # no closer after this opener, hence none after any later one of its kind
                del openers[match.group()]
                continue  # read as text; lenient parsing deals with it
            end += len(closer)
            section = prepared[match.start() : end].translate(None, _CONTROL_CHARS)
        text_end = len(prepared) if match is None else match.start()
        for piece in _text_pieces(prepared[pos:text_end]):
            repaired = _repair_text(piece)
            size += len(repaired)
            if max_size is not None and size > max_size:
                return None
            out.append(repaired)
        out.append(section)
        if match is None:
            return b"".join(out)
        pos = end


def _trim_truncated(prepared: bytes) -> bytes:
    """A document whose end is missing, cut after its last complete item or URL entry.

    Lenient parsing would otherwise close the element the cut interrupted and keep it
    (a ``<loc>`` of ``.../page_`` for ``.../page_17``).
    """
    tail_start = max(0, len(prepared) - _CHUNK)
    if _ROOT_END.search(prepared, tail_start):
        return prepared
    end = len(prepared)
    while True:
        pos = prepared.rfind(b"</", 0, end)
        if pos < 0:
            return prepared
        record = _RECORD_END.match(prepared, pos)
        if record is not None:
            logger.debug("document is truncated: cut after byte %d", record.end())
            return prepared[: record.end()]
        end = pos


def parse_leniently(prepared: bytes, parse: Callable[[bytes, bool], T]) -> T:
    """``parse(prepared, False)``; when that raises `NotXMLError`, the same on the
    repaired document, then ``parse(..., True)`` (lxml recovery) on the repaired document
    cut after its last complete item when it is truncated. A document that repairs
    would more than double is refused with `NotXMLError`.
    """
    try:
        return parse(prepared, False)
    except NotXMLError as exc:
        first_error = exc
    repaired = repair_xml(prepared, max_size=2 * len(prepared) + _CHUNK)
    if repaired is None:
        # mostly ampersands or undefined entities: lenient parsing would build a node
        # for each (hundreds of MB); no feed or sitemap looks like that
        raise NotXMLError(f"{first_error} (and too broken to repair)")
    if repaired != prepared:
        try:
            result = parse(repaired, False)
        except NotXMLError:
            pass
        else:
            logger.debug("repaired malformed XML: %s", first_error)
            return result
    try:
        result = parse(_trim_truncated(repaired), True)
    except NotXMLError:
        raise first_error from None
    logger.debug("recovered from malformed XML: %s", first_error)
    return result


# --------------------------------------------------------------------------- parsing


class _DenyResolver(etree.Resolver):  # type: ignore[misc]
    """Resolves every external reference (DTD, entity, XInclude) to nothing.

    Defence in depth: the parser options already forbid loading, this makes sure
    no file or URL is ever read even if an option misbehaves.
    """

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:
        logger.debug("refused to load external XML resource %r", system_url)
        return self.resolve_empty(context)


_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "huge_tree": False,
    "load_dtd": False,
    "dtd_validation": False,
    "attribute_defaults": False,
    "remove_comments": True,
    "remove_pis": True,
    # NB: do not pass collect_ids=False: with lxml 6 / libxml2 2.14 it makes the
    # parser load an external DTD subset from the file system (SYSTEM "file:...").
}


def _parser(*, recover: bool) -> Any:
    parser = etree.XMLParser(recover=recover, **_OPTIONS)
    parser.resolvers.add(_DenyResolver())
    return parser


def _check_no_entities(root: Any) -> None:
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise DiscoveryError("document declares XML entities in its DOCTYPE; refused")


def parse_prepared_xml(prepared: bytes, recover: bool) -> Any:
    """Parse a `prepare_xml` result into a tree and return its root element.

    Raises `NotXMLError` when it cannot be parsed (with ``recover``: not even leniently).
    """
    try:
        root = etree.fromstring(prepared, _parser(recover=recover))
    except (etree.LxmlError, ValueError) as exc:
        raise NotXMLError(str(exc) or "not well-formed") from None
    if root is None:
        raise NotXMLError("no root element")
    _check_no_entities(root)
    return root


def iter_records(prepared: bytes, recover: bool, names: tuple[str, ...]) -> Iterator[Any]:
    """Parse a prepared document incrementally and yield each child of its root element
    whose local name is one of ``names`` (case-sensitive), once complete.

    A record is cleared and removed from the tree when the consumer asks for the next
    one, so memory stays bounded by one record whatever the document's size; lxml builds
    no Python object for the other elements. Raises `NotXMLError` when the document is
    not well-formed (without ``recover``) or has no root element.
    """
    parser = etree.XMLPullParser(
        events=("end",), tag=tuple(f"{{*}}{name}" for name in names), recover=recover, **_OPTIONS
    )
    parser.resolvers.add(_DenyResolver())
    checked = False
    try:
        for start in range(0, len(prepared) + _PULL_CHUNK, _PULL_CHUNK):
            if start < len(prepared):
                parser.feed(prepared[start : start + _PULL_CHUNK])
            else:
                root = parser.close()
                if root is None:
                    raise NotXMLError("no root element")
                _check_no_entities(root)
            for _, element in parser.read_events():
                parent = element.getparent()
                if parent is None or parent.getparent() is not None:
                    continue  # not a child of the root element
                if not checked:
                    _check_no_entities(parent)
                    checked = True
                yield element
                element.clear()
                parent.remove(element)
    except etree.XMLSyntaxError as exc:
        raise NotXMLError(str(exc) or "not well-formed") from None


def parse_xml(
    body: bytes,
    *,
    max_size: int = DEFAULT_MAX_SIZE,
    recover: bool = False,
    encoding: str | None = None,
) -> Any:
    """Prepare and parse ``body`` (possibly gzipped) safely and return its root element.

    With ``recover`` a document that is not well-formed is repaired, then parsed
    leniently (see `parse_leniently`). Raises `NotXMLError` (a `DiscoveryError`) when
    the body cannot be parsed as XML, and `DiscoveryError` for empty, oversized or
    entity-declaring input.
    """
    prepared = prepare_xml(body, max_size=max_size, encoding=encoding)
    if not recover:
        return parse_prepared_xml(prepared, False)
    return parse_leniently(prepared, parse_prepared_xml)


# --------------------------------------------------------------------------- elements


def local_name(element: Any) -> str:
    """Local name of ``element`` without namespace, lower-cased; '' for comments/entities."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag[tag.rfind("}") + 1 :].lower()


def children(element: Any, name: str) -> Iterator[Any]:
    """Direct child elements of ``element`` whose local name is ``name`` (lower-case)."""
    for child in element:
        if local_name(child) == name:
            yield child


def first_child(element: Any, name: str) -> Any | None:
    """The first direct child named ``name`` (local name, lower-case), or None."""
    return next(children(element, name), None)


def child_text(element: Any, name: str, *, max_length: int = 2048) -> str | None:
    """Whitespace-trimmed text content of the first child named ``name``; None if empty."""
    child = first_child(element, name)
    return element_text(child, max_length=max_length) if child is not None else None


def element_text(element: Any, *, max_length: int = 2048) -> str | None:
    """All text inside ``element`` (incl. CDATA and descendants), trimmed and truncated."""
    if len(element) == 0:
        text = element.text
        if not text:
            return None
    else:
        try:
            text = "".join(element.itertext())
        except (ValueError, TypeError):
            return None
    text = " ".join(text.split())
    if not text:
        return None
    return text[:max_length]

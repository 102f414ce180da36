"""Hardened XML intake for discovery documents: size caps, gunzip, no entities.

Owns the only place discovery parses XML. Guarantees, whatever the input:

* at most ``max_size`` bytes are read or inflated (gzip bombs stop at the cap);
* documents whose DOCTYPE declares entities (billion laughs, XXE) are refused
  before parsing; the parser itself never resolves entities, never loads a DTD,
  never touches the network or the file system;
* a byte-order mark, leading whitespace and missing or wrong namespaces are
  tolerated (callers match on local names via `local_name`).
"""

from __future__ import annotations

import codecs
import logging
import re
import zlib
from collections.abc import Iterator
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from crawler.discovery.errors import DiscoveryError, NotXMLError

__all__ = [
    "DEFAULT_MAX_SIZE",
    "child_text",
    "children",
    "element_text",
    "first_child",
    "local_name",
    "maybe_gunzip",
    "parse_xml",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_SIZE = 50 * 1024 * 1024
"""Default cap on a discovery document, after decompression (the sitemap protocol limit)."""

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 64 * 1024

_ENTITY_DECL = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)
_DOCTYPE = re.compile(rb"<!\s*DOCTYPE", re.IGNORECASE)
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_UTF32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
_NUL_PREFIXES = (
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
)
_EBCDIC_XML_DECL = b"\x4c\x6f\xa7\x94"  # "<?xm" in EBCDIC
_ENCODING_DECL = re.compile(rb"<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})[\"']")
_MARKUP_PROBE = "<!DOCTYPE ENTITY SYSTEM PUBLIC [] % & ; \" ' >"


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


def _prolog_text(body: bytes) -> bytes:
    """``body`` in an ASCII-compatible form, so markup like ``<!ENTITY`` can be found.

    UTF-16/32 (by BOM or by a leading ``<`` with NUL bytes) are transcoded to UTF-8.
    Encodings in which that markup is not plain ASCII (UTF-7, EBCDIC) are refused:
    a byte scan could not see entity declarations in them.
    """
    for bom in _UTF32_BOMS:
        if body.startswith(bom):
            return body.decode("utf-32", errors="replace").encode("utf-8", errors="replace")
    for bom in _UTF16_BOMS:
        if body.startswith(bom):
            return body.decode("utf-16", errors="replace").encode("utf-8", errors="replace")
    for prefix, encoding in _NUL_PREFIXES:
        if body.startswith(prefix):
            return body.decode(encoding, errors="replace").encode("utf-8", errors="replace")
    if body.startswith(_EBCDIC_XML_DECL):
        raise DiscoveryError("document is EBCDIC-encoded; refused")
    declared = _ENCODING_DECL.match(body)
    if declared is not None:
        name = declared.group(1).decode("ascii")
        if not _ascii_compatible(name):
            raise DiscoveryError(f"document encoding {name!r} is not supported; refused")
    return body


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


def _check_no_entities(body: bytes) -> None:
    text = _prolog_text(body)
    doctype = _DOCTYPE.search(text)
    if doctype is not None and _ENTITY_DECL.search(text, doctype.start()):
        raise DiscoveryError("document declares XML entities in its DOCTYPE; refused")


def _strip_bom_and_space(body: bytes) -> bytes:
    if body.startswith(codecs.BOM_UTF8):
        body = body[len(codecs.BOM_UTF8) :]
    if body[:1].isspace() and b"\x00" not in body[:8]:  # never misalign UTF-16/32
        body = body.lstrip()
    return body


class _DenyResolver(etree.Resolver):  # type: ignore[misc]
    """Resolves every external reference (DTD, entity, XInclude) to nothing.

    Defence in depth: the parser options already forbid loading, this makes sure
    no file or URL is ever read even if an option misbehaves.
    """

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:
        logger.debug("refused to load external XML resource %r", system_url)
        return self.resolve_empty(context)


def _parser(*, recover: bool) -> Any:
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        remove_comments=True,
        remove_pis=True,
        recover=recover,
        # NB: do not pass collect_ids=False: with lxml 6 / libxml2 2.14 it makes the
        # parser load an external DTD subset from the file system (SYSTEM "file:...").
    )
    parser.resolvers.add(_DenyResolver())
    return parser


def parse_xml(body: bytes, *, max_size: int = DEFAULT_MAX_SIZE, recover: bool = False) -> Any:
    """Parse ``body`` (possibly gzipped) safely and return its root element.

    With ``recover`` a document that is not well-formed is parsed leniently (lxml
    recovery); recovery runs with the same hardened options, so it is as safe as a
    strict parse. Raises `NotXMLError` (a `DiscoveryError`) when the body cannot be
    parsed as XML, and `DiscoveryError` for empty, oversized or entity-declaring input.
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise DiscoveryError(f"document must be bytes, got {type(body).__name__}")
    body = maybe_gunzip(bytes(body), max_size)
    body = _strip_bom_and_space(body)
    if not body:
        raise DiscoveryError("document is empty")
    _check_no_entities(body)
    try:
        root = etree.fromstring(body, _parser(recover=False))
    except etree.XMLSyntaxError as exc:
        if not recover:
            raise NotXMLError(str(exc)) from None
        first_error = str(exc)
        try:
            root = etree.fromstring(body, _parser(recover=True))
        except (etree.LxmlError, ValueError) as exc2:
            raise NotXMLError(first_error or str(exc2)) from None
        if root is None:
            raise NotXMLError(first_error) from None
        logger.debug("recovered from malformed XML: %s", first_error)
    except (etree.LxmlError, ValueError) as exc:
        raise NotXMLError(str(exc)) from None
    if root is None:
        raise NotXMLError("no root element")
    docinfo = root.getroottree().docinfo
    dtd = docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise DiscoveryError("document declares XML entities in its DOCTYPE; refused")
    return root


def local_name(element: Any) -> str:
    """Local name of ``element`` without namespace, lower-cased; '' for comments/entities."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


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
    try:
        text = "".join(element.itertext())
    except (ValueError, TypeError):
        return None
    text = " ".join(text.split())
    if not text:
        return None
    return text[:max_length]

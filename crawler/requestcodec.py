"""Requests in the shared Redis queue as data: JSON, never pickle.

scrapy-redis pickles queued requests by default, so anyone who can write to the Redis of
a distributed crawl would run code in every worker (which holds the database
credentials). This module is its ``SCHEDULER_SERIALIZER`` (``dumps``/``loads``) and
``SCHEDULER_QUEUE_CLASS`` (`SafePriorityQueue`):

- ``dumps`` writes the fields of ``Request.to_dict`` as JSON; values JSON has no type for
  are tagged objects of one key: ``{"$b": base64}`` (bytes), ``{"$t": [...]}`` (tuple),
  ``{"$dt": iso}`` (aware datetime), ``{"$hints": {...}}`` (`Hints`), ``{"$map": [[k, v],
  ...]}`` (a mapping whose keys are not all strings, e.g. headers). Anything else is a
  `TypeError`: it is not queued.
- ``loads`` accepts only that: a JSON object whose keys are ``Request`` attributes, an
  http(s) URL, a plain ``scrapy.Request`` (no ``_class``), and callbacks the news spider
  exposes for requests (`CALLBACKS`). Everything else raises `RequestFormatError`;
  `SafePriorityQueue` logs and counts such an entry (``newsingest/distributed/
  rejected_requests``) and drops it instead of stopping the worker.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import logging
from datetime import datetime
from typing import Any

from scrapy_redis.queue import PriorityQueue  # type: ignore[import-untyped]

from crawler import stats as stat
from crawler.extraction.record import Hints

logger = logging.getLogger(__name__)

CALLBACKS = frozenset(
    {
        "parse_robots",
        "parse_sitemap",
        "parse_feed",
        "parse_listing",
        "parse_article",
        "article_failed",
        "discovery_failed",
    }
)
"""Spider methods a queued request may name as callback or errback."""

_ATTRIBUTES = frozenset(
    {
        "url",
        "headers",
        "body",
        "cookies",
        "meta",
        "encoding",
        "flags",
        "cb_kwargs",
        "callback",
        "dont_filter",
        "errback",
        "method",
        "priority",
    }
)
_TAGS = frozenset({"$b", "$t", "$dt", "$hints", "$map"})
_HINT_FIELDS = {f.name for f in dataclasses.fields(Hints)}
_MAX_DEPTH = 32


class RequestFormatError(ValueError):
    """A queued entry that is not a request this project wrote."""


def _encode(value: Any, depth: int = 0) -> Any:
    if depth > _MAX_DEPTH:
        raise TypeError("request data nested too deeply")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, bytes):
        return {"$b": base64.b64encode(value).decode("ascii")}
    if isinstance(value, tuple):
        return {"$t": [_encode(v, depth + 1) for v in value]}
    if isinstance(value, list):
        return [_encode(v, depth + 1) for v in value]
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError("naive datetime in request data")
        return {"$dt": value.isoformat()}
    if isinstance(value, Hints):
        return {"$hints": {f: _encode(getattr(value, f), depth + 1) for f in _HINT_FIELDS}}
    if isinstance(value, dict):
        keys = list(value)
        if all(isinstance(k, str) for k in keys) and not (len(keys) == 1 and keys[0] in _TAGS):
            return {k: _encode(v, depth + 1) for k, v in value.items()}
        return {"$map": [[_encode(k, depth + 1), _encode(v, depth + 1)] for k, v in value.items()]}
    raise TypeError(f"{type(value).__name__} cannot be queued as data")


def _decode(value: Any, depth: int = 0) -> Any:
    if depth > _MAX_DEPTH:
        raise RequestFormatError("nested too deeply")
    if isinstance(value, list):
        return [_decode(v, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((tag, inner),) = value.items()
        if tag == "$b":
            if not isinstance(inner, str):
                raise RequestFormatError("$b: expected base64 text")
            try:
                return base64.b64decode(inner, validate=True)
            except binascii.Error as exc:
                raise RequestFormatError(f"$b: {exc}") from exc
        if tag == "$t":
            if not isinstance(inner, list):
                raise RequestFormatError("$t: expected a list")
            return tuple(_decode(v, depth + 1) for v in inner)
        if tag == "$dt":
            try:
                parsed = datetime.fromisoformat(inner)
            except (TypeError, ValueError) as exc:
                raise RequestFormatError(f"$dt: {exc}") from exc
            if parsed.tzinfo is None:
                raise RequestFormatError("$dt: a date-time without a time zone")
            return parsed
        if tag == "$hints":
            return _hints(inner, depth)
        if tag == "$map":
            if not isinstance(inner, list) or not all(
                isinstance(p, list) and len(p) == 2 for p in inner
            ):
                raise RequestFormatError("$map: expected [key, value] pairs")
            out: dict[Any, Any] = {}
            for k, v in inner:
                key = _decode(k, depth + 1)
                if not isinstance(key, (str, bytes, int)):
                    raise RequestFormatError("$map: keys must be text, bytes or integers")
                out[key] = _decode(v, depth + 1)
            return out
    return {k: _decode(v, depth + 1) for k, v in value.items()}


def _hints(data: Any, depth: int) -> Hints:
    if not isinstance(data, dict) or not set(data) <= _HINT_FIELDS:
        raise RequestFormatError("$hints: unknown fields")
    values = {k: _decode(v, depth + 1) for k, v in data.items()}
    for name, value in values.items():
        if name == "authors":
            if not isinstance(value, tuple) or not all(isinstance(a, str) for a in value):
                raise RequestFormatError("$hints.authors: expected strings")
        elif name == "published_at":
            if value is not None and not isinstance(value, datetime):
                raise RequestFormatError("$hints.published_at: expected a date-time")
        elif value is not None and not isinstance(value, str):
            raise RequestFormatError(f"$hints.{name}: expected text")
    return Hints(**values)


def dumps(request: dict[str, Any]) -> bytes:
    """``Request.to_dict`` output as JSON bytes; TypeError for a value it cannot carry."""
    if "_class" in request:
        raise TypeError(f"only scrapy.Request is queued, not {request['_class']}")
    return json.dumps(_encode(request), separators=(",", ":")).encode("utf-8")


def loads(data: bytes | str) -> dict[str, Any]:
    """The request dict of a queued entry; `RequestFormatError` unless it is one."""
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestFormatError(f"not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise RequestFormatError("not a JSON object")
    unknown = set(raw) - _ATTRIBUTES
    if unknown:  # "_class" among them: no class is loaded by name
        raise RequestFormatError(f"unknown request fields {sorted(unknown)}")
    request = _decode(raw)
    url = request.get("url")
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise RequestFormatError("url: expected an http(s) URL")
    for name in ("callback", "errback"):
        value = request.get(name)
        if value is not None and value not in CALLBACKS:
            raise RequestFormatError(f"{name}: {value!r} is not a spider callback")
    if not isinstance(request.get("meta", {}), dict):
        raise RequestFormatError("meta: expected an object")
    return dict(request)


class SafePriorityQueue(PriorityQueue):  # type: ignore[misc]
    """scrapy-redis' priority queue that drops (logs, counts) entries it cannot read."""

    def push(self, request: Any) -> None:
        try:
            super().push(request)
        except TypeError as exc:
            logger.error("cannot queue %s as data (%s); it is not crawled", request.url, exc)
            self._count(stat.DISTRIBUTED_UNQUEUEABLE_REQUESTS)

    def _decode_request(self, encoded_request: Any) -> Any:
        try:
            return super()._decode_request(encoded_request)
        except (RequestFormatError, ValueError, TypeError) as exc:
            logger.error(
                "dropped an entry of the Redis queue %s that is not a request of this "
                "project (%s); whoever can write to this Redis can only queue data",
                self.key,
                exc,
            )
            self._count(stat.DISTRIBUTED_REJECTED_REQUESTS)
            return None

    def _count(self, key: str) -> None:
        stats = getattr(getattr(self.spider, "crawler", None), "stats", None)
        if stats is not None:
            stats.inc_value(key)

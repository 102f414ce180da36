"""The Redis request codec reads only what it writes."""

from __future__ import annotations

import json

import pytest

from crawler import requestcodec


def _valid() -> dict[str, object]:
    return {"url": "http://127.0.0.1/a", "callback": "parse_article", "meta": {"k": 1}}


@pytest.mark.parametrize(
    "change",
    [
        {"_class": "os.system"},
        {"callback": "close"},
        {"errback": "__init__"},
        {"url": "file:///etc/passwd"},
        {"meta": {"newsingest_hints": {"$hints": {"evil": 1}}}},
        {"body": {"$b": "not base64!"}},
    ],
)
def test_entries_this_project_did_not_write_are_refused(change: dict[str, object]) -> None:
    with pytest.raises(requestcodec.RequestFormatError):
        requestcodec.loads(json.dumps({**_valid(), **change}))


def test_non_json_is_refused() -> None:
    with pytest.raises(requestcodec.RequestFormatError):
        requestcodec.loads(b"\x80\x04\x95 a pickle")


def test_values_json_cannot_carry_are_not_queued() -> None:
    with pytest.raises(TypeError):
        requestcodec.dumps({"url": "http://127.0.0.1/", "meta": {"x": object()}})

"""JSON log lines."""

from __future__ import annotations

import json
import logging

from crawler.logs import JsonFormatter


def test_json_formatter_writes_one_object_with_level_logger_and_message() -> None:
    record = logging.LogRecord("crawler.x", logging.WARNING, __file__, 1, "got %d", (3,), None)
    payload = json.loads(JsonFormatter().format(record))
    assert payload["level"] == "WARNING"
    assert payload["logger"] == "crawler.x"
    assert payload["message"] == "got 3"
    assert payload["time"].endswith("+00:00")

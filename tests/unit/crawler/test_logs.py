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


def test_an_expected_network_failure_of_scrapys_robots_middleware_loses_its_traceback() -> None:
    import logging
    import sys

    from crawler.logs import ExpectedNetworkFailure

    try:
        raise ConnectionRefusedError(111, "Connection refused")
    except OSError:
        info = sys.exc_info()
    record = logging.LogRecord(
        "scrapy.downloadermiddlewares.robotstxt", logging.ERROR, "x", 1, "Error", (), info
    )
    assert ExpectedNetworkFailure().filter(record)
    assert record.exc_info is None and record.levelname == "INFO"
    other = logging.LogRecord("crawler.pipelines.store", logging.ERROR, "x", 1, "Error", (), info)
    ExpectedNetworkFailure().filter(other)
    assert other.exc_info is info and other.levelname == "ERROR"


def test_an_expected_network_failure_is_not_shown_at_the_default_level() -> None:
    import sys

    from crawler.logs import ExpectedNetworkFailure

    try:
        raise ConnectionRefusedError(111, "Connection refused")
    except OSError:
        info = sys.exc_info()
    quiet = ExpectedNetworkFailure(logging.WARNING)
    robots = logging.LogRecord(
        "scrapy.downloadermiddlewares.robotstxt", logging.ERROR, "x", 1, "Error", (), info
    )
    assert not quiet.filter(robots)
    bug = logging.LogRecord("crawler.pipelines.store", logging.ERROR, "x", 1, "Error", (), info)
    assert quiet.filter(bug)
    assert ExpectedNetworkFailure(logging.INFO).filter(
        logging.LogRecord(
            "scrapy.downloadermiddlewares.robotstxt", logging.ERROR, "x", 1, "E", (), info
        )
    )

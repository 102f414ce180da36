"""Validation of the crawl's settings at start: types and ranges, one rule per setting.

`check_settings` reads the values a crawl will run with (the project's settings module
under ``-s NAME=VALUE`` overrides, whatever their source) and raises `SettingsError`
naming every setting at fault at once. `check_override_names` refuses an override of a
``NEWSINGEST_*`` name the project does not have (a typo would otherwise be ignored).
Pure: no Scrapy import; anything with ``get(name)`` will do.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol


class SettingsError(ValueError):
    """One or more settings have a value of the wrong type or out of range; the message
    names each setting, its value and what it takes."""


class Readable(Protocol):
    def get(self, name: str, default: Any = None) -> Any: ...


@dataclass(frozen=True, slots=True)
class Rule:
    """What one setting takes."""

    kind: type
    """int, float or bool."""

    minimum: float | None = None
    """Smallest value allowed (None: no lower bound)."""

    above: bool = False
    """True: the value must be strictly greater than ``minimum``."""

    def describe(self) -> str:
        noun = {int: "a whole number", float: "a number", bool: "true or false"}[self.kind]
        if self.minimum is None:
            return noun
        minimum = int(self.minimum) if float(self.minimum).is_integer() else self.minimum
        return f"{noun} {'above' if self.above else 'of at least'} {minimum}"


RULES: dict[str, Rule] = {
    "NEWSINGEST_EXTRACT_WORKERS": Rule(int, 0),
    "NEWSINGEST_EXTRACT_TIMEOUT": Rule(float, 0, above=True),
    "NEWSINGEST_EXTRACT_MAX_BYTES": Rule(int, 1),
    "NEWSINGEST_STORE_BATCH_SIZE": Rule(int, 1),
    "NEWSINGEST_STORE_FLUSH_SECONDS": Rule(float, 0, above=True),
    "NEWSINGEST_SEARCH_MERGE_ARTICLES": Rule(int, 0),
    "NEWSINGEST_LOCK_CHECK_SECONDS": Rule(float, 0, above=True),
    "NEWSINGEST_MAX_ARTICLES": Rule(int, 0),
    "NEWSINGEST_WARC_IN_FLIGHT": Rule(int, 1),
    "NEWSINGEST_PAGE_WARC_MAX_BYTES": Rule(int, 1),
    "NEWSINGEST_WARC_MAX_RECORDS": Rule(int, 0),
    "NEWSINGEST_WARC_CHECKPOINT_SECONDS": Rule(float, 0, above=True),
    "NEWSINGEST_STORED_CHECK_BATCH": Rule(int, 1),
    "NEWSINGEST_RETRY_BACKOFF": Rule(float, 0),
    "NEWSINGEST_RETRY_MAX_DELAY": Rule(float, 0),
    "NEWSINGEST_PROGRESS_SECONDS": Rule(float, 0, above=True),
    "NEWSINGEST_WORKER_IDLE_SECONDS": Rule(float, 0),
    "NEWSINGEST_HEALTH_FIELD_DROP": Rule(float, 0, above=True),
    "NEWSINGEST_HEALTH_REJECTION_RISE": Rule(float, 0, above=True),
    "NEWSINGEST_HEALTH_WORDS_RATIO": Rule(float, 0, above=True),
    "NEWSINGEST_HEALTH_MIN_RECORDS": Rule(int, 1),
    "NEWSINGEST_HEALTH_BASELINE_DAYS": Rule(int, 2),
    "NEWSINGEST_METRICS_PORT": Rule(int, 0),
    "NEWSINGEST_REFRESH": Rule(bool),
    "NEWSINGEST_PROGRESS": Rule(bool),
    "NEWSINGEST_CONDITIONAL_REQUESTS": Rule(bool),
    "NEWSINGEST_DISK_FRONTIER": Rule(bool),
    "NEWSINGEST_AUTO_MIGRATE": Rule(bool),
    "NEWSINGEST_STORE_ENABLED": Rule(bool),
    "NEWSINGEST_LEDGER_ENABLED": Rule(bool),
    "CONCURRENT_REQUESTS": Rule(int, 1),
    "CONCURRENT_REQUESTS_PER_DOMAIN": Rule(int, 1),
    "CONCURRENT_ITEMS": Rule(int, 1),
    "DOWNLOAD_TIMEOUT": Rule(float, 0, above=True),
    "DOWNLOAD_MAXSIZE": Rule(int, 0),
    "DOWNLOAD_DELAY": Rule(float, 0),
    "RETRY_TIMES": Rule(int, 0),
    "REDIRECT_MAX_TIMES": Rule(int, 0),
    "AUTOTHROTTLE_START_DELAY": Rule(float, 0),
    "AUTOTHROTTLE_MAX_DELAY": Rule(float, 0),
    "AUTOTHROTTLE_TARGET_CONCURRENCY": Rule(float, 0, above=True),
    "ROBOTSTXT_OBEY": Rule(bool),
    "AUTOTHROTTLE_ENABLED": Rule(bool),
}
"""Every setting checked at start, and what it takes."""

CHOICES: dict[str, tuple[str, ...]] = {
    "NEWSINGEST_PAGE_STORE": ("database", "warc"),
}
"""Settings that take one of a few words (`storage.pagestore.PAGE_STORES`)."""

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _convert(value: Any, kind: type) -> Any:
    """``value`` as ``kind`` (strings from ``-s`` parsed as Scrapy does), else ValueError."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError(value)
    if isinstance(value, bool):
        raise ValueError(value)
    if kind is int:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        return int(value)
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def problems(settings: Readable) -> list[str]:
    """One phrase per setting of `RULES` whose value ``settings`` has wrong."""
    out: list[str] = []
    for name, rule in RULES.items():
        value = settings.get(name)
        if value is None:
            continue
        try:
            number = _convert(value, rule.kind)
        except (TypeError, ValueError):
            out.append(f"{name}={value!r} is not {rule.describe()}")
            continue
        if rule.minimum is None or rule.kind is bool:
            continue
        if number < rule.minimum or (rule.above and number == rule.minimum):
            out.append(f"{name}={value!r} must be {rule.describe()}")
    for name, words in CHOICES.items():
        value = settings.get(name)
        if value is not None and str(value).strip().lower() not in words:
            out.append(f"{name}={value!r} must be one of {', '.join(words)}")
    return out


def check_settings(settings: Readable) -> None:
    """Raise SettingsError naming every setting of `RULES` with a wrong value."""
    found = problems(settings)
    if found:
        raise SettingsError("invalid setting(s): " + "; ".join(found))


def check_override_names(names: Iterable[str], known: Iterable[str]) -> None:
    """Raise SettingsError for a ``NEWSINGEST_*`` name that is not a setting in ``known``."""
    known = sorted(set(known))
    unknown = []
    for name in names:
        if name.startswith("NEWSINGEST_") and name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            unknown.append(f"{name}" + (f" (did you mean {close[0]}?)" if close else ""))
    if unknown:
        raise SettingsError("unknown setting(s): " + ", ".join(unknown))

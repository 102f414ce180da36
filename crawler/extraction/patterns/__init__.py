"""Per-language phrasings and lookup tables as data files (YAML), loaded once.

A new phrasing is a line in one of the ``*.yaml`` files next to this module, not code.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Any

import yaml

logger = logging.getLogger(__name__)

PATTERN_DIR = Path(__file__).parent

LANGUAGES: tuple[str, ...] = (
    "de",
    "en",
    "fr",
    "es",
    "ru",
    "it",
    "pt",
    "nl",
    "sv",
    "da",
    "no",
    "tr",
    "hu",
    "pl",
    "ja",
    "ko",
    "zh",
    "cs",
    "sk",
    "uk",
    "bg",
    "sr",
    "hr",
    "sl",
    "el",
    "ro",
    "fi",
    "id",
    "ms",
    "ca",
    "lt",
    "lv",
    "et",
    "ar",
    "he",
    "hi",
    "th",
)
"""Languages with phrasing files under ``patterns/<lang>.yaml``."""


@cache
def load_data(name: str) -> dict[str, Any]:
    """Load ``patterns/<name>.yaml`` as a mapping (empty when missing)."""
    path = PATTERN_DIR / f"{name}.yaml"
    if not path.exists():
        logger.debug("no pattern file %s", path)
        return {}
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    return data if isinstance(data, dict) else {}


def available_languages() -> tuple[str, ...]:
    """Language codes for which a phrasing file exists."""
    return tuple(lang for lang in LANGUAGES if (PATTERN_DIR / f"{lang}.yaml").exists())

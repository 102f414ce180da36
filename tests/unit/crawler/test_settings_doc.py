"""The README documents every NEWSINGEST_* setting `crawler/settings.py` declares, with
its default; components read them without a default of their own."""

from __future__ import annotations

import os
import re
from typing import Any

import crawler.settings as project_settings
from tests.unit.crawler.sourcescan import ROOT

ENVIRONMENT = {  # declared from the environment (crawler.config): the variables' table
    "NEWSINGEST_DATABASE_URL",
    "NEWSINGEST_DATA_DIR",
    "NEWSINGEST_SOURCES",
    "NEWSINGEST_CONTACT",
    "NEWSINGEST_REDIS_URL",
    "NEWSINGEST_PAGE_STORE",
    "NEWSINGEST_PAGE_WARC_DIR",
}


def _table(header: str) -> dict[str, str]:
    """Name -> default of the README table whose header row starts with ``header``."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header} |"))
    rows: dict[str, str] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        names = re.findall(r"`(NEWSINGEST_[A-Z_]+)`", cells[0])
        if len(names) == 1 and cells[0] == f"`{names[0]}`":
            assert names[0] not in rows, f"{names[0]} documented twice"
            rows[names[0]] = cells[1]
    return rows


def _declared() -> dict[str, Any]:
    names = [n for n in dir(project_settings) if n.startswith("NEWSINGEST_")]
    return {n: getattr(project_settings, n) for n in names}


def _value(text: str) -> Any:
    """A documented default as a value: True, 30, 2.0, "", None, 4 MB, CPU cores, scrapy."""
    text = text.strip("`")
    words = {"True": True, "False": False, "None": None, '""': "", "CPU cores": os.cpu_count() or 1}
    if text in words:
        return words[text]
    if m := re.fullmatch(r"(\d+) MB", text):
        return int(m.group(1)) * 1024 * 1024
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    return text


def test_every_declared_setting_is_documented_and_nothing_else() -> None:
    documented = set(_table("setting")) | set(_table("variable"))
    assert documented == set(_declared())
    assert set(_table("variable")) == ENVIRONMENT


def test_the_documented_defaults_are_the_declared_ones() -> None:
    declared = _declared()
    for name, text in _table("setting").items():
        value, expected = _value(text), declared[name]
        if isinstance(expected, bool) or expected is None or isinstance(expected, str):
            assert value == expected and type(value) is type(expected), (name, text)
        else:
            assert float(value) == float(expected), (name, text)


def test_no_component_repeats_a_default() -> None:
    """``settings.getint("NEWSINGEST_X", 5)`` would hide the declared default."""
    pattern = re.compile(r"""\.get(int|float|bool|list|dict)?\(\s*["']NEWSINGEST_\w+["']\s*,""")
    found = [
        f"{path.relative_to(ROOT)}: {m.group(0)}"
        for package in ("crawler", "storage")
        for path in sorted((ROOT / package).rglob("*.py"))
        for m in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_no_component_repeats_a_setting_default_in_its_constructor() -> None:
    """A number a component's ``__init__`` defaults to would be a second declaration of
    a ``NEWSINGEST_*`` default (30.0 beside NEWSINGEST_EXTRACT_TIMEOUT = 30.0): the
    settings' values reach components through ``from_crawler`` only."""
    import inspect

    from scrapy.utils.misc import load_object

    import crawler.settings as project

    paths = [
        path
        for table in (
            project.ITEM_PIPELINES,
            project.EXTENSIONS,
            project.DOWNLOADER_MIDDLEWARES,
            project.SPIDER_MIDDLEWARES,
        )
        for path in table
        if path.startswith("crawler.")
    ]
    paths += [project.SCHEDULER, project.DUPEFILTER_CLASS, project.DOWNLOADER]
    numbers = []
    for path in paths:
        params = inspect.signature(load_object(path).__init__).parameters.values()
        numbers += [
            f"{path}({p.name}={p.default!r})"
            for p in params
            if isinstance(p.default, int | float) and not isinstance(p.default, bool)
        ]
    assert numbers == []


def test_the_architecture_map_names_every_component_under_its_setting() -> None:
    """docs/architecture.md's table of Scrapy settings lists each project component the
    settings wire in, in the row of its setting (fails when a component is added, moved
    or renamed without the map)."""
    import crawler.settings as project

    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip().strip("`"): line.split("|")[2]
        for line in doc.splitlines()
        if line.startswith("| `") and line.count("|") >= 3
    }
    wired: dict[str, list[str]] = {
        "SCHEDULER": [project.SCHEDULER],
        "DUPEFILTER_CLASS": [project.DUPEFILTER_CLASS],
        "DOWNLOADER": [project.DOWNLOADER],
        "DOWNLOAD_HANDLERS": list(project.DOWNLOAD_HANDLERS.values()),
    }
    for name in ("SPIDER_MIDDLEWARES", "DOWNLOADER_MIDDLEWARES", "ITEM_PIPELINES", "EXTENSIONS"):
        wired[name] = [path for path, order in getattr(project, name).items() if order is not None]
    missing = [
        f"{setting}: {path}"
        for setting, paths in wired.items()
        for path in paths
        if path.startswith("crawler.") and f"`{path}`" not in rows.get(setting, "")
    ]
    assert missing == []

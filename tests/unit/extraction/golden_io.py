"""Golden cases: loading ``golden/<case>/`` folders, serializing records, field diffs.

Each case folder holds ``page.html``, ``case.json`` (``fetch_url`` and optional
``hints``) and ``expected.json``: either ``{"record": {...every ArticleRecord field...}}``
or ``{"rejection": {"reason": ..., "url": ...}}``. Datetimes are ISO 8601 with offset.

Regenerate one case after reviewing the change (prints the diff first)::

    python -m tests.unit.extraction.golden_io CASE_NAME [--write]
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import logging
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from crawler.extraction import ArticleRecord, Hints, Rejection, extract_article

logger = logging.getLogger(__name__)

GOLDEN_DIR = Path(__file__).parent / "golden"

CONFIDENCE_TOLERANCE = 0.01
"""langdetect probabilities are compared with this tolerance (seeded, but float sums)."""


@dataclass(frozen=True)
class GoldenCase:
    """One golden case folder."""

    name: str
    html: bytes
    fetch_url: str
    hints: Hints | None
    expected: dict[str, Any]


def case_names() -> list[str]:
    """Names of all case folders (sorted)."""
    return sorted(p.name for p in GOLDEN_DIR.iterdir() if (p / "page.html").exists())


def load_case(name: str) -> GoldenCase:
    """Read a case folder; ``expected`` is empty when ``expected.json`` is missing."""
    folder = GOLDEN_DIR / name
    case = json.loads((folder / "case.json").read_text(encoding="utf-8"))
    hints = None
    if case.get("hints"):
        raw = dict(case["hints"])
        if raw.get("published_at"):
            raw["published_at"] = datetime.fromisoformat(raw["published_at"])
        raw["authors"] = tuple(raw.get("authors", ()))
        hints = Hints(**raw)
    expected_path = folder / "expected.json"
    expected = (
        json.loads(expected_path.read_text(encoding="utf-8")) if expected_path.exists() else {}
    )
    return GoldenCase(
        name=name,
        html=(folder / "page.html").read_bytes(),
        fetch_url=str(case["fetch_url"]),
        hints=hints,
        expected=expected,
    )


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def to_json(result: ArticleRecord | Rejection) -> dict[str, Any]:
    """Serialize a result the way ``expected.json`` stores it."""
    if isinstance(result, Rejection):
        return {"rejection": {"reason": result.reason, "url": result.url}}
    fields = {f.name: _plain(getattr(result, f.name)) for f in dataclasses.fields(result)}
    if result.translation is not None:
        fields["translation"] = {
            f.name: _plain(getattr(result.translation, f.name))
            for f in dataclasses.fields(result.translation)
        }
    return {"record": fields}


def run_case(case: GoldenCase) -> dict[str, Any]:
    """Extract the case page and serialize the result."""
    return to_json(extract_article(case.html, case.fetch_url, hints=case.hints))


def _same(field: str, expected: Any, actual: Any) -> bool:
    if field == "language_confidence" and isinstance(expected, float | int):
        return isinstance(actual, float | int) and abs(expected - actual) <= CONFIDENCE_TOLERANCE
    return bool(expected == actual)


def diff(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Human-readable differences, one entry per field (unified diff for long text)."""
    problems: list[str] = []
    kind_e = next(iter(expected), None)
    kind_a = next(iter(actual), None)
    if kind_e != kind_a:
        return [f"expected a {kind_e}, got a {kind_a}: {json.dumps(actual, ensure_ascii=False)}"]
    exp = expected[str(kind_e)]
    act = actual[str(kind_a)]
    for field in sorted(set(exp) | set(act)):
        if field not in exp:
            problems.append(f"{field}: not in expected.json (actual {act[field]!r})")
            continue
        if field not in act:
            problems.append(f"{field}: missing from the result")
            continue
        e, a = exp[field], act[field]
        if _same(field, e, a):
            continue
        if isinstance(e, str) and isinstance(a, str) and (len(e) > 80 or "\n" in e):
            lines = difflib.unified_diff(
                e.split("\n"), a.split("\n"), "expected", "actual", lineterm="", n=1
            )
            problems.append(f"{field}:\n" + "\n".join(lines))
        else:
            problems.append(f"{field}: expected {e!r}, got {a!r}")
    return problems


def main(argv: list[str]) -> int:
    """Print the diff for a case and, with ``--write``, store the current result."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    write = "--write" in argv
    for name in [a for a in argv if not a.startswith("--")]:
        case = load_case(name)
        actual = run_case(case)
        for line in diff(case.expected, actual) if case.expected else ["(no expected.json)"]:
            logger.info("%s: %s", name, line)
        if write:
            path = GOLDEN_DIR / name / "expected.json"
            path.write_text(json.dumps(actual, ensure_ascii=False, indent=2) + "\n", "utf-8")
            logger.info("wrote %s", path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

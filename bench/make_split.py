"""Write ``bench/corpus_split.json``: each visible corpus's publishers, split in two halves.

Usage::

    python bench/make_split.py CORPORA_DIR

The split is by publisher (a site's pages all fall in one half), fixed by a hash of the
publisher's name, so it does not depend on the order or the number of pages. Tuning uses
the ``dev`` half only; ``held_out`` tells whether a change generalizes. The file is
committed: rerunning this script must reproduce it (it is here to show how it was made).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

SPLIT_FILE = Path(__file__).resolve().parent / "corpus_split.json"
_HOST_IN_ID = re.compile(r"^((?:[a-z0-9-]+\.)+[a-z]{2,})(?:[-.]|$)", re.I)


def publisher(row: dict[str, Any]) -> str:
    """The page's publisher: the manifest's, else the host in its URL or page id."""
    if row.get("publisher"):
        return str(row["publisher"]).lower()
    url = row.get("url") or ""
    if "://" in url:
        return url.split("://", 1)[1].split("/", 1)[0].lower()
    found = _HOST_IN_ID.match(str(row["id"]))
    return found.group(1).lower() if found else str(row["id"]).lower()


def half(name: str) -> str:
    """``dev`` or ``held_out`` by the first byte of the name's SHA-256."""
    return "dev" if hashlib.sha256(name.encode()).digest()[0] % 2 == 0 else "held_out"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpora", type=Path, help="folder holding trafilatura/ and scrapinghub/")
    args = parser.parse_args(argv)
    out: dict[str, dict[str, list[str]]] = {}
    for corpus in ("trafilatura", "scrapinghub"):
        manifest = args.corpora / corpus / "manifest.jsonl"
        names = {publisher(json.loads(line)) for line in manifest.open(encoding="utf-8")}
        out[corpus] = {h: sorted(n for n in names if half(n) == h) for h in ("dev", "held_out")}
        sizes = {h: len(v) for h, v in out[corpus].items()}
        sys.stdout.write(f"{corpus}: {sizes}\n")
    SPLIT_FILE.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The local spool: batches the database refused, kept as append-only JSON lines.

When a batch cannot be written (database down, connection cut), `StorePipeline` writes
it here, fsynced, under ``<data_dir>/spool/``, so no extracted record is lost. Each line
is one article or failure with the error that sent it here.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import os
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from crawler.items import ExtractedArticle, FetchFailed, Rejected

logger = logging.getLogger(__name__)


def spool_dir(data_dir: Path) -> Path:
    """Where spooled batches are written."""
    return data_dir / "spool"


def _default(value: object) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"cannot spool {type(value).__name__}")


def write_batch(
    data_dir: Path,
    articles: Sequence[ExtractedArticle],
    failures: Sequence[FetchFailed | Rejected],
    run_id: int | None,
    error: str,
) -> Path:
    """Append a batch to this process's spool file (fsynced) and return its path."""
    folder = spool_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{os.getpid()}.jsonl"
    with path.open("a", encoding="utf-8") as fh:
        for item in [*articles, *failures]:
            line = {
                "kind": type(item).__name__,
                "run_id": run_id,
                "error": error[:500],
                "item": dataclasses.asdict(item),
            }
            fh.write(json.dumps(line, default=_default, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return path


def pending(data_dir: Path) -> list[Path]:
    """Spool files not yet replayed."""
    folder = spool_dir(data_dir)
    return sorted(folder.glob("*.jsonl")) if folder.exists() else []

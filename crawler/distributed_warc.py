"""Distributed archive ingests on Redis: files claimed whole with leases.

A distributed archive ingest (``newsingest warc --distributed``) has an id, as a
distributed crawl has (`crawler.distributed`). Its files wait in a list; a worker claims
one whole file at a time with a lease it renews while it ingests the file; a file whose
lease ran out (its worker was killed) is claimed again by the next worker that asks.
Redis holds plain strings and JSON only:

- ``newsingest:warc-ingests``: hash ingest id -> JSON ``{"source": key or null,
  "match_sources": bool, "since": iso or null, "until": iso or null, "lease_seconds":
  n, "files": n, "queued_at": iso}`` of the ingests workers may work on;
- ``newsingest:warc:<id>:files``: list of the file locations not yet claimed;
- ``newsingest:warc:<id>:leases``: sorted set location -> lease deadline (Redis server
  time, unix seconds: the machines' clocks do not matter);
- ``newsingest:warc:<id>:owners``: hash location -> the worker holding its lease;
- ``newsingest:warc:<id>:done`` / ``:failed``: sets of the files finished.

The claims, renewals and completions are Lua scripts, so each is atomic. Whether a
file was ingested, and where a resumed file goes on, is the database's ``warc_files``
checkpoints, as for ``newsingest warc`` on one machine; Redis only says who works on
what. The last file completed ends the ingest (its keys are deleted).
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis

from crawler.distributed import text_of

logger = logging.getLogger(__name__)

WARC_REGISTRY = "newsingest:warc-ingests"
LEASE_SECONDS = 60.0
"""A claimed file's lease: its worker renews it every
`crawler.distributed.HEARTBEAT_SECONDS`."""


def warc_key(ingest_id: str, part: str) -> str:
    return f"newsingest:warc:{ingest_id}:{part}"


def _warc_keys(ingest_id: str) -> list[str]:
    return [warc_key(ingest_id, p) for p in ("files", "leases", "owners", "done", "failed")]


@dataclass(frozen=True, slots=True)
class WarcIngest:
    """A distributed archive ingest workers can work on."""

    ingest_id: str
    source_key: str | None
    match_sources: bool
    since: str | None
    until: str | None
    lease_seconds: float
    files: int
    queued_at: str

    def spider_args(self) -> dict[str, str]:
        """The ``warc`` spider's arguments (files aside)."""
        args = {"source": self.source_key} if self.source_key else {"match_sources": "1"}
        if self.since:
            args["since"] = self.since
        if self.until:
            args["until"] = self.until
        return args

    @classmethod
    def parse(cls, ingest_id: str, raw: Any) -> WarcIngest:
        """From its registry entry; ValueError when it is not what `queue_files` writes
        (Redis data are checked, never evaluated)."""
        info = json.loads(raw)
        if not isinstance(info, dict):
            raise ValueError("not a JSON object")

        def text(name: str) -> str | None:
            value = info.get(name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name} is not a string")
            return value

        for name in ("since", "until"):
            if text(name):
                datetime.fromisoformat(str(info[name]))
        lease = info.get("lease_seconds", LEASE_SECONDS)
        files = info.get("files", 0)
        if not isinstance(lease, (int, float)) or lease <= 0 or not isinstance(files, int):
            raise ValueError("lease_seconds or files is not a positive number")
        source, match = text("source"), info.get("match_sources") is True
        if bool(source) == match:
            raise ValueError("needs one of source or match_sources")
        return cls(
            ingest_id, source, match, text("since"), text("until"), float(lease), files,
            text("queued_at") or "",
        )  # fmt: skip


def queue_files(
    client: redis.Redis,
    locations: list[str],
    *,
    source_key: str | None,
    since: str | None = None,
    until: str | None = None,
    lease_seconds: float = LEASE_SECONDS,
) -> WarcIngest:
    """A new distributed ingest of ``locations`` (each once, in order)."""
    files = list(dict.fromkeys(locations))
    ingest = WarcIngest(
        uuid.uuid4().hex[:16],
        source_key,
        source_key is None,
        since,
        until,
        lease_seconds,
        len(files),
        datetime.now(UTC).isoformat(timespec="seconds"),
    )
    info = {
        "source": ingest.source_key,
        "match_sources": ingest.match_sources,
        "since": since,
        "until": until,
        "lease_seconds": lease_seconds,
        "files": ingest.files,
        "queued_at": ingest.queued_at,
    }
    pipe = client.pipeline(transaction=True)
    if files:
        pipe.rpush(warc_key(ingest.ingest_id, "files"), *files)
    pipe.hset(WARC_REGISTRY, ingest.ingest_id, json.dumps(info))
    pipe.execute()
    return ingest


def warc_ingests(client: redis.Redis) -> dict[str, WarcIngest]:
    """Ingests workers may work on, by id (an entry that does not parse is logged and
    left alone)."""
    out: dict[str, WarcIngest] = {}
    raw: dict[Any, Any] = client.hgetall(WARC_REGISTRY)
    for key, value in raw.items():
        ingest_id = text_of(key)
        try:
            out[ingest_id] = WarcIngest.parse(ingest_id, value)
        except (ValueError, TypeError) as exc:
            logger.warning("ignoring archive ingest %s in Redis: %s", ingest_id, exc)
    return out


_CLAIM = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1e6
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', t, 'LIMIT', 0, 1)
local file = expired[1]
local again = 1
if not file then
  file = redis.call('LPOP', KEYS[1])
  again = 0
end
if not file then return false end
redis.call('ZADD', KEYS[2], t + tonumber(ARGV[2]), file)
redis.call('HSET', KEYS[3], file, ARGV[1])
return {file, again}
"""

_RENEW = """
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return 0 end
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1e6
redis.call('ZADD', KEYS[2], 'XX', t + tonumber(ARGV[3]), ARGV[1])
return 1
"""

_COMPLETE = """
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return -1 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if ARGV[3] == 'release' then
  redis.call('RPUSH', KEYS[1], ARGV[1])
  return 0
end
redis.call('SADD', ARGV[3] == 'done' and KEYS[4] or KEYS[5], ARGV[1])
if redis.call('LLEN', KEYS[1]) == 0 and redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('HDEL', KEYS[6], ARGV[4])
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
  return 1
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Claim:
    """A file a worker holds the lease of."""

    ingest: WarcIngest
    location: str
    worker_id: str
    reclaimed: bool
    """Its lease had run out: a worker claimed it before and was gone."""


def claim_file(client: redis.Redis, ingest: WarcIngest, worker_id: str) -> Claim | None:
    """The next file of ``ingest`` for ``worker_id``: one whose lease ran out first, else
    the next unclaimed one (None: nothing to claim)."""
    keys = _warc_keys(ingest.ingest_id)
    got: Any = client.eval(_CLAIM, 3, *keys[:3], worker_id, str(ingest.lease_seconds))
    if not got:
        return None
    return Claim(ingest, text_of(got[0]), worker_id, bool(int(got[1])))


def renew(client: redis.Redis, claim: Claim) -> bool:
    """Extend a claim's lease; False when it is not this worker's any more."""
    keys = _warc_keys(claim.ingest.ingest_id)
    args = (claim.location, claim.worker_id, str(claim.ingest.lease_seconds))
    return bool(client.eval(_RENEW, 3, *keys[:3], *args))


def complete(client: redis.Redis, claim: Claim, outcome: str) -> bool | None:
    """A claimed file is ``done``, ``failed`` (not tried again) or ``release``d (queued
    again, at the end). True when this was the ingest's last file (the ingest is ended),
    None when the lease was not this worker's any more."""
    if outcome not in ("done", "failed", "release"):
        raise ValueError(outcome)
    keys = [*_warc_keys(claim.ingest.ingest_id), WARC_REGISTRY]
    args = (claim.location, claim.worker_id, outcome, claim.ingest.ingest_id)
    result = int(client.eval(_COMPLETE, 6, *keys, *args))
    return None if result < 0 else result == 1


@dataclass(frozen=True, slots=True)
class WarcProgress:
    """Where a distributed ingest's files stand in Redis."""

    queued: int
    claimed: dict[str, str]
    """Location -> the worker holding its lease."""
    done: int
    failed: int


def warc_progress(client: redis.Redis, ingest_id: str) -> WarcProgress:
    files, _, owners, done, failed = _warc_keys(ingest_id)
    raw: dict[Any, Any] = client.hgetall(owners)
    return WarcProgress(
        queued=int(client.llen(files)),
        claimed={text_of(k): text_of(v) for k, v in raw.items()},
        done=int(client.scard(done)),
        failed=int(client.scard(failed)),
    )

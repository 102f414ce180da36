"""Network faults from a local fault server: each one becomes a fetch_failures row with a
clear reason, and the crawl finishes."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Article, CrawlRun, FetchFailure
from tests.integration.conftest import Cli, write_sources
from tests.integration.faults import FaultServer

# DOWNLOAD_TIMEOUT is what /stall.html waits for; it is far above how long any other
# fault takes on a busy machine (2 s turned a slow reset or truncation into a timeout
# under load, and 10 s once did with a load average of 7 on 2 cores), and no retries:
# each fault is met once, its reason is what counts.
SETTINGS = [
    "-s", "DOWNLOAD_TIMEOUT=25",
    "-s", "RETRY_TIMES=0",
    "-s", "AUTOTHROTTLE_ENABLED=False",
    "-s", "TWISTED_DNS_RESOLVER=tests.integration.faults.LoopbackOnlyResolver",
]  # fmt: skip


def test_every_network_fault_is_recorded_with_a_clear_reason_and_the_crawl_finishes(
    cli: Cli, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    with FaultServer() as faults:
        sources = write_sources(
            tmp_path / "sources.yaml", faults.base_url, listings="[/]", listing_depth=0
        )
        result = cli.run("crawl", "site", "--sources", str(sources), *SETTINGS, timeout=120)
        base = faults.base_url
        assert "<tls>" in faults.requests, result.stderr[-3000:]
    assert result.returncode == 0, result.stdout + result.stderr
    with sessions() as session:
        (run,) = session.execute(select(CrawlRun)).scalars()
        failures = {f.url: f for f in session.execute(select(FetchFailure)).scalars()}
        articles = session.execute(select(Article.url)).scalars().all()
    reasons = {url.replace(base, "").replace(str(faults.port), "PORT"): f.reason
               for url, f in failures.items()}  # fmt: skip
    assert run.status == "succeeded"
    assert articles == [base + "/ok.html"]
    assert reasons == {
        "/reset.html": "connection_reset",
        "/robots.txt": "http_404",
        "/empty.html": "connection_closed",
        "/truncated.html": "truncated",
        "/stall.html": "timeout",
        "/garbage.html": "bad_response",
        "/loop-1.html": "redirect_loop",
        "https://127.0.0.1:PORT/tls.html": "tls_error",
        "http://bad.127.0.0.1:PORT/invalid.html": "invalid_url",
    }
    robots = failures.pop(base + "/robots.txt")
    assert robots.stage == "discovery"
    assert all(f.stage == "fetch" and f.run_id == run.id for f in failures.values())
    assert all(f.detail for f in failures.values())


def test_a_host_that_does_not_resolve_is_a_dns_error_and_the_crawl_finishes(
    cli: Cli, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    with FaultServer() as faults:
        sources = write_sources(
            tmp_path / "sources.yaml", f"http://dns-fail.localhost:{faults.port}", listings="[/]"
        )
        result = cli.run("crawl", "site", "--sources", str(sources), *SETTINGS, timeout=120)
        assert faults.requests == []  # nothing reached the server
    assert "loopback-only resolver: refusing to resolve dns-fail.localhost" in result.stderr
    assert result.stdout.startswith("site: failed"), result.stdout + result.stderr
    with sessions() as session:
        reasons = {(f.stage, f.reason) for f in session.execute(select(FetchFailure)).scalars()}
    assert ("discovery", "dns_error") in reasons


def test_a_network_error_is_retried_after_the_backoff_doubling_per_attempt(
    cli: Cli, tmp_path: Path
) -> None:
    with FaultServer() as faults:
        sources = write_sources(
            tmp_path / "sources.yaml", faults.base_url, listings="[/reset.html]"
        )
        retry = ["-s", "RETRY_TIMES=2", "-s", "NEWSINGEST_RETRY_BACKOFF=1.5"]
        result = cli.run("crawl", "site", "--sources", str(sources), *SETTINGS, *retry)
        tries = [t for t, path in faults.arrivals if path == "/reset.html"]
    assert result.stdout.startswith("site: failed") and "connection_reset" in result.stdout
    assert len(tries) == 3, faults.arrivals
    assert tries[1] - tries[0] >= 1.5  # backoff, then doubled
    assert tries[2] - tries[1] >= 3.0

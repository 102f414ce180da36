"""Parse rates and peak memory of the feed and sitemap parsers on synthetic documents.

Usage::

    python bench/discovery.py [--seconds 2] [--code DIR] [--only NAME ...]

Generates, with a fixed seed and without any network or corpus, a news RSS 2.0 feed and
an Atom feed of 50 entries each, a Google News sitemap of 5,000 URLs, a plain sitemap of
50,000 URLs with ``lastmod`` and a Google News sitemap of 50,000 URLs (~26 MB, near the
protocol's 50 MB cap), then measures for each, in a fresh interpreter:

* rate: ``parse_feed`` / ``parse_sitemap`` called on the same bytes for about
  ``--seconds`` of CPU time (after one warm-up call): documents/s and URLs/s, over CPU
  time of the process (``time.process_time``) and over wall-clock time;
* memory: in another fresh interpreter, once the body is read and the module imported,
  the peak resident set size over one parse (``VmHWM`` of ``/proc/self/status``, reset
  through ``/proc/self/clear_refs`` before the parse) minus the resident size before it:
  what the parse adds at its peak, lxml's C allocations and the result included (which
  tracemalloc would not see). Linux only; elsewhere ``ru_maxrss`` growth is printed.

``--code DIR`` imports ``crawler.discovery`` from DIR instead of this checkout, e.g. an
export of main's version (``git archive main crawler | tar -x -C /tmp/before``), so before
and after run on the same bytes. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import REPO_ROOT, load_average

_WORDS = [
    "Regierung",
    "Hafen",
    "Streik",
    "Wahl",
    "Bahn",
    "Klima",
    "Gericht",
    "Stadt",
    "Schule",
    "Markt",
    "Energie",
    "Polizei",
    "government",
    "harbour",
    "strike",
    "election",
    "railway",
    "climate",
    "court",
    "city",
    "school",
    "market",
    "energy",
    "gouvernement",
    "port",
    "grève",
    "élection",
    "tribunal",
    "ville",
    "école",
    "marché",
    "énergie",
    "police",
]
_START = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)


def _title(rng: random.Random) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(5, 10))).capitalize()


def _path(rng: random.Random, i: int) -> str:
    section = rng.choice(("politik", "wirtschaft", "kultur", "sport", "panorama"))
    slug = "-".join(rng.choice(_WORDS).lower() for _ in range(4))
    return f"/{section}/2025/06/{slug}-{i:06d}.html"


def _rss(n: int) -> bytes:
    rng = random.Random(1)
    items = []
    for i in range(n):
        when = (_START - timedelta(minutes=17 * i)).strftime("%a, %d %b %Y %H:%M:%S +0200")
        items.append(
            f"<item><title>{_title(rng)}</title>"
            f"<link>https://www.example-news.de{_path(rng, i)}?utm_source=rss&amp;x=1</link>"
            f"<description>&lt;p&gt;{_title(rng)} {_title(rng)} {_title(rng)}&lt;/p&gt;"
            f"</description><dc:creator>Anna Beispiel, Jens Muster</dc:creator>"
            f"<category>Politik</category><pubDate>{when}</pubDate>"
            f'<guid isPermaLink="false">urn:example:{i}</guid></item>\n'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Beispiel</title>'
        "<link>https://www.example-news.de/</link><language>de-DE</language>\n"
        + "".join(items)
        + "</channel></rss>\n"
    ).encode()


def _atom(n: int) -> bytes:
    rng = random.Random(2)
    entries = []
    for i in range(n):
        when = (_START - timedelta(minutes=17 * i)).isoformat()
        entries.append(
            f'<entry><title type="html">{_title(rng)}</title>'
            f'<link rel="alternate" type="text/html" href="https://www.example-news.fr'
            f'{_path(rng, i)}"/><id>tag:example-news.fr,2025:{i}</id>'
            f"<published>{when}</published><updated>{when}</updated>"
            f"<author><name>Marie Exemple</name></author>"
            f'<summary type="html">{_title(rng)} {_title(rng)}</summary></entry>\n'
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
        'xml:lang="fr"><title>Exemple</title><id>tag:example-news.fr,2025:feed</id>\n'
        + "".join(entries)
        + "</feed>\n"
    ).encode()


def _news_sitemap(n: int) -> bytes:
    rng = random.Random(3)
    urls = []
    for i in range(n):
        when = (_START - timedelta(minutes=3 * i)).isoformat()
        urls.append(
            f"<url><loc>https://www.example-news.de{_path(rng, i)}</loc>"
            f"<lastmod>{when}</lastmod><news:news><news:publication>"
            f"<news:name>Beispiel Zeitung</news:name><news:language>de</news:language>"
            f"</news:publication><news:publication_date>{when}</news:publication_date>"
            f"<news:title>{_title(rng)}</news:title></news:news></url>\n"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n'
        + "".join(urls)
        + "</urlset>\n"
    ).encode()


def _plain_sitemap(n: int) -> bytes:
    rng = random.Random(4)
    urls = []
    for i in range(n):
        when = (_START - timedelta(hours=i)).strftime("%Y-%m-%d")
        urls.append(
            f"<url><loc>https://www.example-news.de{_path(rng, i)}</loc>"
            f"<lastmod>{when}</lastmod><changefreq>never</changefreq>"
            f"<priority>0.5</priority></url>\n"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        + "".join(urls)
        + "</urlset>\n"
    ).encode()


DOCUMENTS: dict[str, tuple[str, Callable[[], bytes]]] = {
    "rss-50": ("feed", lambda: _rss(50)),
    "atom-50": ("feed", lambda: _atom(50)),
    "news-sitemap-5000": ("sitemap", lambda: _news_sitemap(5_000)),
    "sitemap-50000": ("sitemap", lambda: _plain_sitemap(50_000)),
    "news-sitemap-50000": ("sitemap", lambda: _news_sitemap(50_000)),
}
"""Name → (parser, generator) of the synthetic inputs."""


# --------------------------------------------------------------------------- worker


def _parser(kind: str, code: str) -> Callable[[bytes], int]:
    sys.path.insert(0, code)
    from crawler.discovery import parse_feed, parse_sitemap

    base = "https://www.example-news.de/discovery.xml"
    cap = 60 * 1024 * 1024
    if kind == "feed":
        return lambda body: len(parse_feed(body, base, max_size=cap).entries)
    return lambda body: len(parse_sitemap(body, base, max_size=cap).entries)


def _status_kib(field: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def _worker(mode: str, kind: str, path: str, code: str, seconds: float) -> dict[str, Any]:
    parse = _parser(kind, code)
    body = Path(path).read_bytes()
    if mode == "memory":
        gc.collect()
        try:
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to VmRSS
            before = _status_kib("VmRSS")
            urls = parse(body)
            return {"urls": urls, "peak_kib": _status_kib("VmHWM") - before}
        except OSError:
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            urls = parse(body)
            after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            return {"urls": urls, "peak_kib": after - before}
    urls = parse(body)  # warm-up
    calls = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while True:
        parse(body)
        calls += 1
        cpu = time.process_time() - cpu0
        if cpu >= seconds:
            break
    wall = time.perf_counter() - wall0
    return {"urls": urls, "calls": calls, "cpu": cpu, "wall": wall}


def _run_worker(args: list[str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="CPU seconds per rate")
    parser.add_argument("--code", default=str(REPO_ROOT), help="import crawler.discovery here")
    parser.add_argument("--only", nargs="*", choices=sorted(DOCUMENTS), help="documents to run")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        mode, kind, path, code = args.worker
        print(json.dumps(_worker(mode, kind, path, code, args.seconds)))
        return
    code = str(Path(args.code).resolve())
    print(f"bench/discovery.py: crawler.discovery from {code}; {load_average()}")
    print(
        f"  {'document':20} {'size':>8} {'URLs':>7} {'docs/s cpu':>11} {'URLs/s cpu':>11} "
        f"{'URLs/s wall':>11} {'ms/doc':>8} {'peak mem +':>11}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-discovery-") as tmp:
        for name, (kind, generate) in DOCUMENTS.items():
            if args.only and name not in args.only:
                continue
            path = Path(tmp) / f"{name}.xml"
            body = generate()
            path.write_bytes(body)
            del body
            seconds = str(args.seconds)
            rate = _run_worker(["rate", kind, str(path), code, "--seconds", seconds])
            memory = _run_worker(["memory", kind, str(path), code])
            docs_cpu = rate["calls"] / rate["cpu"]
            print(
                f"  {name:20} {path.stat().st_size / 2**20:6.2f}MB {rate['urls']:7,} "
                f"{docs_cpu:11,.1f} {docs_cpu * rate['urls']:11,.0f} "
                f"{rate['calls'] * rate['urls'] / rate['wall']:11,.0f} "
                f"{rate['cpu'] / rate['calls'] * 1000:8.1f} "
                f"{memory['peak_kib'] / 1024:9.1f}MB",
                flush=True,
            )


if __name__ == "__main__":
    main()

"""A generated hostile news site, served by `SiteServer` from a temporary folder.

`build` writes it: sitemaps and feeds with billion-laughs and external-entity XML, a gzip
bomb sitemap, article pages that are 50 MB, nested 100,000 levels deep, full of NUL bytes,
invalid UTF-8, with lying or contradicting charsets, JavaScript-only, 10,000 links, URLs
with credentials and non-HTTP schemes, a ``Content-Encoding: gzip`` bomb, an off-site
redirect, and one good article (so a crawl can be seen to store what is fine).
Big bodies are generated on the fly (routes with ``body_bytes``) or streamed to disk, so
nothing large is kept in the repository.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

BOMB_INFLATED = 200 * 1024 * 1024
"""Bytes a gzip bomb inflates to (its file is ~200 KB)."""

PARAS = "".join(
    f"<p>Paragraph {i}: the dock workers of pier {i} ended their strike on Monday after "
    f"the port authority agreed to contract number {i * 17} with higher wages, shorter "
    f"shifts and {i + 3} more days of leave for everyone working the night cranes.</p>"
    for i in range(10)
)

LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
        for i in range(1, 10)
    )
    + "]>\n"
)

ARTICLES: dict[str, str] = {
    "/a/good.html": "stored",
    "/a/nul.html": "stored",
    "/a/invalid-utf8.html": "stored",
    "/a/charset-mismatch.html": "stored",
    "/a/bad-urls.html": "stored",
    "/a/wrong-charset.html": "stored",  # a utf-16 declaration on UTF-8 bytes is ignored
    "/a/nested.html": "empty",
    "/a/js-only.html": "empty",
    "/a/huge.html": "too_large",
    "/a/big-text.html": "too_large",
    "/a/gzip-bomb.html": "too_large",
    "/a/offsite-redirect.html": "offsite_redirect",
}
"""Article paths in the good sitemap, and the expected outcome (stored, or a reason)."""


def _article(title: str, body: str, head: str = "") -> str:
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"{head}</head><body><article><h1>{title}</h1>{body}</article></body></html>"
    )


def _gzip_bomb(path: Path, prefix: bytes, suffix: bytes) -> None:
    """``prefix`` + BOMB_INFLATED spaces + ``suffix``, gzip-compressed, streamed to ``path``."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip container
    chunk = b" " * (1024 * 1024)
    with path.open("wb") as fh:
        fh.write(comp.compress(prefix))
        for _ in range(BOMB_INFLATED // len(chunk)):
            fh.write(comp.compress(chunk))
        fh.write(comp.compress(suffix))
        fh.write(comp.flush())


def build(root: Path) -> Path:
    """Write the hostile site under ``root``; returns ``root``."""
    (root / "a").mkdir(parents=True)
    urlset = "http://www.sitemaps.org/schemas/sitemap/0.9"
    locs = "".join(
        f"<url><loc>__BASE__{p}</loc><lastmod>__TODAY__</lastmod></url>" for p in ARTICLES
    )
    (root / "sitemap.xml").write_text(
        f'<?xml version="1.0"?><urlset xmlns="{urlset}">{locs}</urlset>', encoding="utf-8"
    )
    (root / "sitemap-laughs.xml").write_text(
        LAUGHS + f'<urlset xmlns="{urlset}"><url><loc>__BASE__/a/&lol9;</loc></url></urlset>',
        encoding="utf-8",
    )
    (root / "sitemap-xxe.xml").write_text(
        '<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>'
        f'<urlset xmlns="{urlset}"><url><loc>__BASE__/a/&xxe;.html</loc></url></urlset>',
        encoding="utf-8",
    )
    (root / "feed-laughs.rss").write_text(
        LAUGHS + "<rss version='2.0'><channel><title>&lol9;</title><item>"
        "<link>__BASE__/a/laughs.html</link></item></channel></rss>",
        encoding="utf-8",
    )
    (root / "feed-xxe.rss").write_text(
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "http://127.0.0.2:9/x">]>'
        "<rss version='2.0'><channel><title>&xxe;</title><item>"
        "<link>__BASE__/a/&xxe;.html</link></item></channel></rss>",
        encoding="utf-8",
    )
    _gzip_bomb(
        root / "sitemap-bomb.xml.gz",
        f'<?xml version="1.0"?><urlset xmlns="{urlset}">'.encode(),
        b"<url><loc>http://127.0.0.1/a/bomb.html</loc></url></urlset>",
    )
    _gzip_bomb(root / "bomb.bin", b"<!DOCTYPE html><html><body><p>", b"</p></body></html>")

    hostile_links = [
        "file:///etc/passwd",
        "javascript:alert(document.cookie)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "http://user:secret@127.0.0.1:__PORT__/a/credentials.html",
        "ftp://127.0.0.1:__PORT__/a/ftp.html",
        "mailto:news@example.org",
        "//127.0.0.2:__PORT__/a/protocol-relative-offsite.html",
    ]
    links = "".join(f"<a href='{u}'>hostile {i}</a>\n" for i, u in enumerate(hostile_links))
    links += "".join(f"<a href='/x/link-{i}.html'>Link number {i}</a>\n" for i in range(10_000))
    (root / "links.html").write_text(
        f"<!DOCTYPE html><html><body>{links}</body></html>", encoding="utf-8"
    )

    a = root / "a"
    (a / "good.html").write_text(_article("Harbour strike ends", PARAS), encoding="utf-8")
    (a / "nul.bin").write_bytes(
        _article("Nul\x00bytes", PARAS.replace("strike", "str\x00ike")).encode() + b"\x00" * 64
    )
    (a / "invalid-utf8.bin").write_bytes(
        _article("Bad bytes", PARAS).encode().replace(b"Paragraph 3", b"Par\xff\xfe\xc3\x28 3")
    )
    (a / "charset-mismatch.html").write_text(
        _article("Grüße aus Köln", PARAS + "<p>Grüße aus Köln, schöne Straße.</p>"),
        encoding="utf-8",
    )
    (a / "wrong-charset.bin").write_bytes(
        _article("Grüße", PARAS)
        .replace("<meta charset='utf-8'>", "<meta charset='utf-16'>")
        .encode("utf-8")
    )
    (a / "bad-urls.html").write_text(
        _article(
            "Odd URLs",
            PARAS,
            head="<link rel='canonical' href='javascript:alert(1)'>"
            "<meta property='og:url' content='file:///etc/passwd'>"
            "<meta property='og:image' content='data:image/png;base64,AAAA'>",
        ),
        encoding="utf-8",
    )
    (a / "nested.html").write_text(
        "<!DOCTYPE html><html><body>" + "<div>" * 100_000 + PARAS + "</div>" * 100_000
        + "</body></html>",
        encoding="utf-8",
    )  # fmt: skip
    (a / "js-only.html").write_text(
        "<!DOCTYPE html><html><head><title>App</title></head><body><div id='root'></div>"
        "<script>document.getElementById('root').innerHTML = '<p>news</p>'</script>"
        "</body></html>",
        encoding="utf-8",
    )
    sentence = "The council met again on Tuesday and talked for many hours about the harbour. "
    (a / "big-text.html").write_text(
        _article("Very long", "".join(f"<p>{i}: {sentence * 20}</p>" for i in range(3000))),
        encoding="utf-8",
    )

    html = "text/html; charset=utf-8"
    routes: dict[str, Any] = {
        "/a/nul.html": {"file": "a/nul.bin", "content_type": html},
        "/a/invalid-utf8.html": {"file": "a/invalid-utf8.bin", "content_type": html},
        "/a/wrong-charset.html": {"file": "a/wrong-charset.bin", "content_type": html},
        "/a/charset-mismatch.html": {
            "file": "a/charset-mismatch.html",
            "content_type": "text/html; charset=iso-8859-1",
        },
        "/a/huge.html": {
            "body_bytes": 50 * 1024 * 1024,
            "body_prefix": "<!DOCTYPE html><html><body><p>",
            "content_type": html,
        },
        "/a/gzip-bomb.html": {
            "file": "bomb.bin",
            "content_type": html,
            "headers": {"Content-Encoding": "gzip"},
        },
        "/a/offsite-redirect.html": {"redirect": "http://127.0.0.2:__PORT__/a/elsewhere.html"},
    }
    (root / "_routes.json").write_text(json.dumps(routes), encoding="utf-8")
    return root

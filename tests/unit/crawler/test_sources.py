"""The sources registry: validation messages, defaults, URL policy, the bundled file."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crawler.extraction.record import Hints
from crawler.sources import (
    ExtractionHints,
    Source,
    SourcesError,
    load_sources,
    page_hints,
    parse_interval,
    parse_sources,
)

REPO_ROOT = Path(__file__).resolve().parents[3]


def _one(**overrides: Any) -> dict[str, Any]:
    source: dict[str, Any] = {"key": "rt-de", "url": "https://de.rt.com/"}
    source.update(overrides)
    return source


def _parse(*sources: dict[str, Any]) -> list[Source]:
    return parse_sources({"sources": list(sources)})


def _error(*sources: dict[str, Any]) -> str:
    with pytest.raises(SourcesError) as info:
        _parse(*sources)
    return str(info.value)


# ---------------------------------------------------------------- defaults


def test_minimal_source_gets_documented_defaults() -> None:
    (source,) = _parse(_one())
    assert source == Source(
        key="rt-de",
        name="rt-de",
        url="https://de.rt.com/",
        language=None,
        country=None,
        sitemaps=(),
        feeds=(),
        listings=(),
        listing_depth=1,
        follow_pagination=True,
        allow=(),
        deny=(),
        max_age_days=7,
        interval=timedelta(hours=1),
        enabled=True,
        extraction=ExtractionHints(),
    )


def test_full_source_is_parsed_and_normalized() -> None:
    (source,) = _parse(
        _one(
            name="RT DE",
            language="DE",
            country="ru",
            sitemaps=["/sitemap.xml", "https://de.rt.com/news-sitemap.xml"],
            feeds="/feeds/news/",
            listings=["/inland/"],
            listing_depth=2,
            follow_pagination=False,
            article_urls={"allow": [r"/\d+-"], "deny": ["/tag/"]},
            max_age_days=3,
            interval="30m",
            enabled=False,
            extraction={"byline_selector": ".author", "body_selector": "article"},
        )
    )
    assert (source.name, source.language, source.country) == ("RT DE", "de", "RU")
    assert source.feeds == ("/feeds/news/",)
    assert source.sitemap_urls == (
        "https://de.rt.com/sitemap.xml",
        "https://de.rt.com/news-sitemap.xml",
    )
    assert source.feed_urls == ("https://de.rt.com/feeds/news/",)
    assert source.listing_urls == ("https://de.rt.com/inland/",)
    assert source.discovery_urls == source.sitemap_urls + source.feed_urls + source.listing_urls
    assert source.robots_url == "https://de.rt.com/robots.txt"
    assert (source.listing_depth, source.follow_pagination, source.enabled) == (2, False, False)
    assert (source.allow, source.deny) == ((r"/\d+-",), ("/tag/",))
    assert (source.max_age_days, source.interval) == (3, timedelta(minutes=30))
    assert source.extraction == ExtractionHints(byline_selector=".author", body_selector="article")


def test_source_is_frozen_and_slotted() -> None:
    (source,) = _parse(_one())
    with pytest.raises(AttributeError):
        source.key = "other"  # type: ignore[misc]
    assert not hasattr(source, "__dict__")


# ---------------------------------------------------------------- messages


def test_error_names_file_source_index_key_and_field() -> None:
    message = _error(
        _one(key="a", url="https://a.example.com"),
        _one(key="b", url="https://b.example.com"),
        _one(key="le-monde", url="https://www.lemonde.fr/", max_age_days="seven"),
    )
    assert message == (
        "sources.yaml: source #3 (le-monde): 'max_age_days' must be a positive integer, got 'seven'"
    )


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"max_age_days": 0}, "'max_age_days' must be a positive integer, got 0"),
        ({"max_age_days": True}, "'max_age_days' must be a positive integer, got True"),
        ({"listing_depth": -1}, "'listing_depth' must be an integer >= 0, got -1"),
        ({"listing_depth": 500}, "'listing_depth' must be at most 50"),
        ({"enabled": "yes please"}, "'enabled' must be true or false"),
        ({"follow_pagination": 1}, "'follow_pagination' must be true or false"),
        ({"language": "deu"}, "'language' must be an ISO 639-1 code"),
        ({"country": "Germany"}, "'country' must be an ISO 3166-1 alpha-2 code"),
        ({"name": ""}, "'name' must be a non-empty string"),
        ({"interval": "often"}, "'interval' is invalid"),
        ({"interval": 3600}, "'interval' is invalid"),
        ({"feeds": {"a": 1}}, "'feeds' must be a list of strings"),
        ({"feeds": ["/ok", 3]}, "'feeds' entry 2 must be a non-empty string"),
        ({"sitemaps": ["ftp://de.rt.com/s.xml"]}, "'sitemaps' entry 'ftp://de.rt.com/s.xml'"),
        ({"listings": ["javascript:x"]}, "'listings' entry 'javascript:x'"),
        ({"article_urls": ["/news/"]}, "'article_urls' must be a mapping"),
        ({"article_urls": {"alow": ["x"]}}, "unknown key 'article_urls.alow'"),
        ({"extraction": {"byline": ".a"}}, "unknown key 'extraction.byline'"),
        ({"extraction": {"body_selector": 5}}, "'extraction.body_selector' must be"),
        ({"extraction": {"date_selector": "div["}}, "'extraction.date_selector' is not a valid"),
    ],
)
def test_invalid_values_name_source_and_key(overrides: dict[str, Any], fragment: str) -> None:
    message = _error(_one(**overrides))
    assert message.startswith("sources.yaml: source #1 (rt-de): ")
    assert fragment in message


def test_unknown_key_is_an_error_with_a_suggestion() -> None:
    message = _error(_one(max_age_day=3))
    assert "source #1 (rt-de): unknown key 'max_age_day' (did you mean 'max_age_days'?)" in message


def test_duplicate_keys_are_an_error_naming_both_sources() -> None:
    message = _error(_one(), _one(url="https://rt.com/"))
    assert message == (
        "sources.yaml: source #2 (rt-de): duplicate 'key' 'rt-de' (already used by source #1)"
    )


def test_invalid_regex_is_an_error_naming_the_pattern() -> None:
    message = _error(_one(article_urls={"deny": ["/ok/", "/news/(unclosed"]}))
    assert "source #1 (rt-de): 'article_urls.deny' has an invalid regex '/news/(unclosed'" in (
        message
    )


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ({"url": "https://de.rt.com/"}, "source #1: missing required key 'key'"),
        ({"key": "rt-de"}, "source #1 (rt-de): missing required key 'url'"),
        ({"key": "RT DE", "url": "https://de.rt.com/"}, "source #1 (RT DE): 'key' must be a slug"),
        ({"key": "-x", "url": "https://de.rt.com/"}, "'key' must be a slug"),
        ({"key": 5, "url": "https://de.rt.com/"}, "source #1: 'key' must be a slug"),
        ({"key": "x", "url": "de.rt.com"}, "'url' must be an absolute http(s) URL"),
        ({"key": "x", "url": "ftp://de.rt.com/"}, "'url' must be an absolute http(s) URL"),
        ({"key": "x", "url": "https://u:p@de.rt.com/"}, "without credentials"),
    ],
)
def test_required_keys_and_url_are_checked(source: dict[str, Any], fragment: str) -> None:
    assert fragment in _error(source)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (None, "expected a mapping with a 'sources' list"),
        ([], "expected a mapping with a 'sources' list"),
        ({"source": []}, "unknown top-level key 'source'"),
        ({"sources": None}, "'sources' must be a list"),
        ({"sources": ["rt-de"]}, "source #1: must be a mapping"),
    ],
)
def test_file_shape_errors_name_the_file(data: object, fragment: str) -> None:
    with pytest.raises(SourcesError, match=r"^custom\.yaml: ") as info:
        parse_sources(data, origin="custom.yaml")
    assert fragment in str(info.value)


def test_sources_error_is_a_value_error() -> None:
    assert issubclass(SourcesError, ValueError)


# ---------------------------------------------------------------- interval


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("1h", timedelta(hours=1)),
        ("6h", timedelta(hours=6)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
        ("90s", timedelta(seconds=90)),
        ("1h30m", timedelta(minutes=90)),
        (" 2H ", timedelta(hours=2)),
    ],
)
def test_intervals_parse(text: str, expected: timedelta) -> None:
    assert parse_interval(text) == expected


@pytest.mark.parametrize("text", ["", "1", "h", "1x", "1h1h", "-1h", "10s", "0m", "400d", "1.5h"])
def test_invalid_intervals_raise_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_interval(text)


# ---------------------------------------------------------------- URL policy


def _source(url: str = "https://www.example.com/", **overrides: Any) -> Source:
    (source,) = _parse({"key": "ex", "url": url, **overrides})
    return source


def test_domain_is_lower_case_host_without_www() -> None:
    assert _source("https://WWW.Example.COM:443/news/").domain == "example.com"
    assert _source("https://de.rt.com/").domain == "de.rt.com"
    assert _source("https://www.com/").domain == "www.com"


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://example.com/a", True),
        ("https://www.example.com/a", True),
        ("http://www.example.com/a", True),
        ("https://news.example.com/a", True),
        ("https://a.b.example.com/a", True),
        ("https://EXAMPLE.com./a", True),
        ("https://example.com:443/a", True),
        ("https://example.com:8443/a", False),
        ("https://notexample.com/a", False),
        ("https://example.com.evil.org/a", False),
        ("https://evil.org/?u=https://example.com/", False),
        ("https://user:pw@example.com/a", False),
        ("https://user@example.com/a", False),
        ("https://evil.org\\@example.com/a", False),
        ("ftp://example.com/a", False),
        ("javascript://example.com/%0aalert(1)", False),
        ("file:///etc/passwd", False),
        ("//example.com/a", False),
        ("/relative", False),
        ("https://exa mple.com/", False),
        ("", False),
    ],
)
def test_allows_domain(url: str, allowed: bool) -> None:
    assert _source().allows_domain(url) is allowed


def test_loopback_source_with_port_allows_its_own_port() -> None:
    source = _source("http://127.0.0.1:8123/")
    assert source.domain == "127.0.0.1"
    assert source.allows_domain("http://127.0.0.1:8123/news/a.html")
    assert not source.allows_domain("http://127.0.0.1:22/")
    assert not source.allows_domain("http://127.0.0.2:8123/")
    assert not source.allows_domain("http://127.0.0.1/news/a.html")  # port 80 is another site
    assert not source.allows_domain("http://127.0.0.1:80/news/a.html")


def test_subdomain_source_does_not_allow_parent_or_sibling() -> None:
    source = _source("https://de.rt.com/")
    assert source.allows_domain("https://de.rt.com/inland/1-x/")
    assert source.allows_domain("https://www.de.rt.com/inland/1-x/")
    assert not source.allows_domain("https://rt.com/")
    assert not source.allows_domain("https://russian.rt.com/")


def test_any_on_site_page_is_an_article_without_patterns() -> None:
    source = _source()
    assert source.is_article_url("https://www.example.com/anything")
    assert not source.is_article_url("https://other.org/anything")


def test_article_url_must_match_an_allow_and_no_deny() -> None:
    source = _source(article_urls={"allow": [r"/\d{4}/\d{2}/", r"-a-\d+$"], "deny": ["/video/"]})
    assert source.is_article_url("https://www.example.com/2024/03/story")
    assert source.is_article_url("https://example.com/politik/story-a-123")
    assert not source.is_article_url("https://www.example.com/video/2024/03/story")
    assert not source.is_article_url("https://www.example.com/politik/")
    assert not source.is_article_url("https://evil.org/2024/03/story")


def test_deny_only_patterns_allow_everything_else() -> None:
    source = _source(article_urls={"deny": ["/tag/"]})
    assert source.is_article_url("https://www.example.com/a")
    assert not source.is_article_url("https://www.example.com/tag/a")


# ---------------------------------------------------------------- files


def test_load_sources_reads_yaml(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - key: ex\n    url: https://example.com/\n", encoding="utf-8")
    assert [s.key for s in load_sources(path)] == ["ex"]
    assert [s.key for s in load_sources(str(path))] == ["ex"]


def test_missing_file_is_a_sources_error(tmp_path: Path) -> None:
    with pytest.raises(SourcesError, match="file not found"):
        load_sources(tmp_path / "nope.yaml")


def test_directory_is_a_sources_error(tmp_path: Path) -> None:
    with pytest.raises(SourcesError, match="cannot read"):
        load_sources(tmp_path)


def test_invalid_yaml_is_a_sources_error(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("sources: [\n  - key: : :\n", encoding="utf-8")
    with pytest.raises(SourcesError, match="not valid YAML"):
        load_sources(path)


def test_non_safe_yaml_tags_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("sources: !!python/object/apply:os.system ['true']\n", encoding="utf-8")
    with pytest.raises(SourcesError, match="not valid YAML"):
        load_sources(path)


def test_repeated_yaml_key_within_a_source_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n  - key: ex\n    url: https://example.com/\n    url: https://other.org/\n",
        encoding="utf-8",
    )
    with pytest.raises(SourcesError, match="duplicate key 'url'"):
        load_sources(path)


def test_file_errors_name_the_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("sources:\n  - key: ex\n", encoding="utf-8")
    with pytest.raises(SourcesError) as info:
        load_sources(path)
    assert str(info.value) == f"{path}: source #1 (ex): missing required key 'url'"


def test_bundled_sources_file_loads_with_enough_outlets_and_languages() -> None:
    sources = load_sources(REPO_ROOT / "sources.yaml")
    enabled = [s for s in sources if s.enabled]
    assert len(enabled) >= 12
    assert {"de", "en", "fr", "es", "ru"} <= {s.language for s in enabled}
    by_key = {s.key: s for s in sources}
    rt = by_key["rt-de"]
    assert rt.domain == "de.rt.com"
    assert rt.language == "de"
    for source in enabled:
        assert source.language and source.country, source.key
        assert source.sitemaps or source.feeds, source.key
        assert source.allow, source.key


def test_bundled_sources_file_says_it_is_unverified() -> None:
    head = (REPO_ROOT / "sources.yaml").read_text(encoding="utf-8")[:600]
    assert "UNVERIFIED" in head


def test_bundled_rt_de_patterns_classify_urls() -> None:
    rt = {s.key: s for s in load_sources(REPO_ROOT / "sources.yaml")}["rt-de"]
    assert rt.is_article_url("https://de.rt.com/international/123456-ein-titel/")
    assert not rt.is_article_url("https://de.rt.com/international/")
    assert not rt.is_article_url("https://de.rt.com/tag/123456-x/")
    assert not rt.is_article_url("https://rt.com/international/123456-ein-titel/")


@pytest.mark.parametrize(
    ("key", "url", "is_article"),
    [
        ("tagesschau", "https://www.tagesschau.de/inland/haushalt-bundestag-100.html", True),
        ("tagesschau", "https://www.tagesschau.de/multimedia/video/video-1234.html", False),
        (
            "spiegel",
            "https://www.spiegel.de/politik/x-a-5f1c3e2d-1234-4abc-8def-0123456789ab",
            True,
        ),
        ("zeit", "https://www.zeit.de/politik/deutschland/2024-03/haushalt-bundestag", True),
        ("dw-de", "https://www.dw.com/de/ein-titel/a-68512345", True),
        ("dw-de", "https://www.dw.com/en/a-title/a-68512345", False),
        ("bbc-news", "https://www.bbc.com/news/articles/c4ngk17zzkpo?at_medium=RSS", True),
        ("bbc-news", "https://www.bbc.com/news/world-europe-68512345", True),
        ("bbc-news", "https://www.bbc.co.uk/news/live/world-68512345", False),
        ("guardian", "https://www.theguardian.com/world/2024/mar/05/a-story", True),
        ("guardian", "https://www.theguardian.com/world/live/2024/mar/05/a-story", False),
        (
            "le-monde",
            "https://www.lemonde.fr/international/article/2024/03/05/t_6220123_3210.html",
            True,
        ),
        ("france24-fr", "https://www.france24.com/fr/europe/20240305-un-titre", True),
        ("el-pais", "https://elpais.com/internacional/2024-03-05/un-titulo.html", True),
        (
            "el-mundo",
            "https://www.elmundo.es/espana/2024/03/05/65e6f1a2fc6c83d2128b4578.html",
            True,
        ),
        ("ria", "https://ria.ru/20240305/slug-1931234567.html", True),
        ("tass", "https://tass.ru/politika/20123456", True),
        ("lenta", "https://lenta.ru/news/2024/03/05/slug/", True),
        ("meduza", "https://meduza.io/news/2024/03/05/slug", True),
        ("interfax", "https://www.interfax.ru/world/950123", True),
        ("interfax", "https://www.interfax.ru/world/", False),
    ],
)
def test_bundled_patterns_classify_typical_urls(key: str, url: str, is_article: bool) -> None:
    source = {s.key: s for s in load_sources(REPO_ROOT / "sources.yaml")}[key]
    assert source.is_article_url(url) is is_article


def test_a_backtracking_pattern_cannot_freeze_the_crawler_on_a_hostile_url() -> None:
    # Python's re takes ~90 s on 30 characters here, doubling with each one more: a
    # subprocess with a generous guard (not a timing assertion) proves it returns at all.
    code = (
        "from crawler.sources import parse_sources\n"
        "src, = parse_sources({'sources': [{'key': 'k', 'url': 'http://127.0.0.1/',"
        " 'article_urls': {'allow': [r'/(\\w+-?)+\\.html$']}}]})\n"
        "print(src.is_article_url('http://127.0.0.1/' + 'a' * 40 + '!'),"
        " src.is_article_url('http://127.0.0.1/news-item.html'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split() == ["False", "True"]


def test_patterns_re2_cannot_run_keep_python_syntax() -> None:
    source = _source(
        "https://de.rt.com/", article_urls={"allow": [r"/news/(?!video/)"], "deny": [r"/(\w+)/\1/"]}
    )
    assert source.is_article_url("https://de.rt.com/news/politik/1.html")
    assert not source.is_article_url("https://de.rt.com/news/video/1.html")
    assert not source.is_article_url("https://de.rt.com/news/x/x/1.html")


def test_an_unchanged_sources_file_is_parsed_once_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import crawler.sources as sources_module

    calls: list[str] = []
    real = sources_module._read_sources

    def counting(origin: str) -> list[Source]:
        calls.append(origin)
        return real(origin)

    monkeypatch.setattr(sources_module, "_read_sources", counting)
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - key: a\n    url: https://a.example/\n", encoding="utf-8")
    assert load_sources(path) == load_sources(path)
    assert len(calls) == 1
    path.write_text("sources:\n  - key: b\n    url: https://b.example/\n", encoding="utf-8")
    assert [s.key for s in load_sources(path)] == ["b"]
    assert len(calls) == 2


def test_invalid_yaml_names_the_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "sources:\n  - key: a\n    url: https://a.example/\n    feeds: [/x\n  - key: b\n",
        encoding="utf-8",
    )
    with pytest.raises(SourcesError) as info:
        load_sources(path)
    message = str(info.value)
    assert message.startswith(f"{path}:5:")
    assert "not valid YAML" in message and "started at line 4" in message


def test_every_invalid_source_of_a_file_is_reported_at_once() -> None:
    data = {
        "sources": [
            {"key": "a", "url": "https://a.example/", "max_age_days": "seven"},
            {"key": "b"},
            {"key": "a", "url": "https://c.example/"},
            {"key": "ok", "url": "https://ok.example/"},
            {"key": "d", "url": "https://d.example/", "langauge": "de"},
        ]
    }
    with pytest.raises(SourcesError) as info:
        parse_sources(data, origin="s.yaml")
    errors = info.value.errors
    assert len(errors) == 4
    assert str(info.value).startswith("s.yaml: 4 problems in 4 sources:")
    assert [e.split(":")[1].strip() for e in errors] == [
        "source #1 (a)", "source #2 (b)", "source #3 (a)", "source #5 (d)",
    ]  # fmt: skip
    assert "max_age_days" in errors[0] and "missing required key 'url'" in errors[1]
    assert "duplicate 'key' 'a'" in errors[2] and "did you mean 'language'" in errors[3]


def test_every_problem_of_one_source_is_reported_at_once() -> None:
    data = {
        "sources": [
            {
                "key": "Bad Key",
                "url": "https://a.example/",
                "langauge": "de",
                "max_age_days": 0,
                "feeds": ["ftp://a.example/feed"],
                "article_urls": {"allow": ["(unclosed"], "dney": ["x"]},
                "extraction": {"byline_selector": "div[["},
                "interval": "soon",
            },
            {"key": "ok", "url": "https://ok.example/"},
        ]
    }
    with pytest.raises(SourcesError) as info:
        parse_sources(data, origin="s.yaml")
    errors = info.value.errors
    assert str(info.value).startswith("s.yaml: 8 problems in 1 source:")
    assert all(e.startswith("s.yaml: source #1 (Bad Key): ") for e in errors)
    for fragment in (
        "unknown key 'langauge' (did you mean 'language'?)",
        "'key' must be a slug",
        "'max_age_days' must be a positive integer",
        "'feeds' entry 'ftp://a.example/feed'",
        "'article_urls.allow' has an invalid regex",
        "unknown key 'article_urls.dney' (did you mean 'deny'?)",
        "'extraction.byline_selector' is not a valid CSS selector",
        "'interval' is invalid",
    ):
        assert sum(fragment in e for e in errors) == 1, fragment
    assert len(errors) == 8


def test_a_source_without_a_valid_url_reports_its_other_problems_but_not_its_paths() -> None:
    data = {"sources": [{"key": "a", "feeds": ["/feed.xml"], "enabled": "yes"}]}
    with pytest.raises(SourcesError) as info:
        parse_sources(data, origin="s.yaml")
    errors = info.value.errors
    assert len(errors) == 2
    assert "missing required key 'url'" in errors[0]
    assert "'enabled' must be true or false" in errors[1]


def test_page_hints_carry_the_source_selectors_and_language_under_what_the_page_says() -> None:
    (source,) = _parse(
        _one(
            language="de",
            extraction={"byline_selector": ".autor", "date_selector": "p.datum",
                        "body_selector": "div.text"},
        )
    )  # fmt: skip
    when = datetime(2025, 2, 14, 7, 30, tzinfo=UTC)
    assert page_hints(source, title="T", authors=("A",), published_at=when) == Hints(
        title="T",
        authors=("A",),
        published_at=when,
        language="de",
        byline_selector=".autor",
        date_selector="p.datum",
        body_selector="div.text",
    )
    assert page_hints(source, language="fr").language == "fr"  # a sitemap entry's language
    # a stored article whose source left sources.yaml: what the article knows, no selectors
    assert page_hints(None, title="T") == Hints(title="T")

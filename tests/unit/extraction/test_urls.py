"""URL canonicalization and the choice of the canonical URL."""

from __future__ import annotations

import pytest

from crawler.extraction.urls import canonicalize_url, choose_canonical, same_site


def test_scheme_and_host_are_lower_cased_and_default_port_dropped() -> None:
    assert (
        canonicalize_url("HTTPS://WWW.Example.ORG:443/Path/X") == "https://www.example.org/Path/X"
    )


def test_non_default_port_is_kept() -> None:
    assert canonicalize_url("http://example.org:8080/a") == "http://example.org:8080/a"


def test_fragment_and_tracking_parameters_are_removed_other_parameters_keep_order() -> None:
    url = "https://example.org/a?b=2&utm_source=x&a=1&fbclid=y&gclid=z&mc_cid=q&at_medium=s#top"
    assert canonicalize_url(url) == "https://example.org/a?b=2&a=1"


def test_empty_path_becomes_slash() -> None:
    assert canonicalize_url("https://example.org") == "https://example.org/"


def test_unparseable_input_is_returned_stripped() -> None:
    assert canonicalize_url("  not a url  ") == "not a url"


def test_subdomains_of_the_same_base_are_the_same_site() -> None:
    assert same_site("https://de.example.net/a", "https://www.example.net/b")
    assert same_site("https://news.example.co.uk/a", "https://example.co.uk/b")
    assert not same_site("https://example.net/a", "https://example.org/a")


def test_canonical_on_another_site_is_ignored() -> None:
    fetched = "https://www.example.org/story?utm_source=x"
    assert (
        choose_canonical(fetched, ["https://mirror.other.example/story"])
        == "https://www.example.org/story"
    )


def test_relative_canonical_is_resolved_against_the_fetched_url() -> None:
    assert (
        choose_canonical("https://example.org/a/b?x=1", ["/a/canonical"])
        == "https://example.org/a/canonical"
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://a.github.io/x", "https://b.github.io/x"),  # PSL private section
        ("http://x.blogspot.com/", "http://y.blogspot.com/"),
        ("http://127.9.0.1/a", "http://127.0.0.1/a"),  # IP addresses: the whole address
        ("http://127.0.0.1:8001/a", "http://127.0.0.1:8002/a"),  # another port
        ("http://example.net/a", "https://example.net/a"),  # another scheme
    ],
)
def test_hosts_sharing_only_a_public_suffix_or_another_port_are_other_sites(a: str, b: str) -> None:
    assert not same_site(a, b)
    assert choose_canonical(b, [a]) == canonicalize_url(b)


def test_an_explicit_default_port_is_the_same_site() -> None:
    assert same_site("http://127.0.0.1:80/a", "http://127.0.0.1/b")
    assert same_site("https://news.example.co.uk:443/a", "https://example.co.uk/b")

"""Settings validation at start: every wrong value named at once, the defaults pass."""

from __future__ import annotations

import pytest
from scrapy.settings import Settings

from crawler.validation import RULES, SettingsError, check_override_names, check_settings


def project_settings(**overrides: object) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.setdict(overrides, priority="cmdline")
    return settings


def test_the_project_defaults_pass() -> None:
    check_settings(project_settings())


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("NEWSINGEST_EXTRACT_WORKERS", "abc", "is not a whole number"),
        ("NEWSINGEST_EXTRACT_TIMEOUT", "0", "must be a number above 0"),
        ("NEWSINGEST_EXTRACT_TIMEOUT", "-5", "must be a number above 0"),
        ("NEWSINGEST_EXTRACT_MAX_BYTES", "-1", "must be a whole number of at least 1"),
        ("NEWSINGEST_MAX_ARTICLES", "-1", "must be a whole number of at least 0"),
        ("NEWSINGEST_STORE_FLUSH_SECONDS", "0", "must be a number above 0"),
        ("NEWSINGEST_STORE_BATCH_SIZE", "2.5", "is not a whole number"),
        ("NEWSINGEST_RETRY_BACKOFF", "nan", "is not a number"),
        ("NEWSINGEST_REFRESH", "maybe", "is not true or false"),
        ("CONCURRENT_REQUESTS", "-1", "must be a whole number of at least 1"),
        ("DOWNLOAD_TIMEOUT", "0", "must be a number above 0"),
    ],
)
def test_a_wrong_value_is_named_with_what_the_setting_takes(
    name: str, value: str, expected: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        check_settings(project_settings(**{name: value}))
    assert f"{name}={value!r}" in str(caught.value)
    assert expected in str(caught.value)


def test_every_wrong_setting_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        check_settings(project_settings(NEWSINGEST_EXTRACT_TIMEOUT="0", CONCURRENT_REQUESTS="x"))
    assert "NEWSINGEST_EXTRACT_TIMEOUT" in str(caught.value)
    assert "CONCURRENT_REQUESTS" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NEWSINGEST_EXTRACT_WORKERS", "0"),
        ("NEWSINGEST_EXTRACT_TIMEOUT", "0.5"),
        ("NEWSINGEST_REFRESH", "True"),
        ("NEWSINGEST_REFRESH", "0"),
        ("NEWSINGEST_MAX_ARTICLES", 10),
        ("DOWNLOAD_MAXSIZE", "0"),
    ],
)
def test_values_scrapy_accepts_pass(name: str, value: object) -> None:
    check_settings(project_settings(**{name: value}))


def test_every_rule_names_a_setting_the_project_or_scrapy_declares() -> None:
    settings = project_settings()
    undeclared = [n for n in RULES if settings.get(n) is None]
    assert set(undeclared) <= {
        "NEWSINGEST_PROGRESS_SECONDS",
        "NEWSINGEST_WORKER_IDLE_SECONDS",
        "NEWSINGEST_STORE_ENABLED",
        "NEWSINGEST_LEDGER_ENABLED",
    }


def test_a_misspelt_project_setting_is_refused_with_a_suggestion() -> None:
    known = ["NEWSINGEST_EXTRACT_TIMEOUT", "NEWSINGEST_REFRESH"]
    with pytest.raises(SettingsError, match="did you mean NEWSINGEST_EXTRACT_TIMEOUT"):
        check_override_names(["NEWSINGEST_EXTRACT_TIMEOUTS"], known)
    check_override_names(["NEWSINGEST_REFRESH", "SOME_SCRAPY_SETTING"], known)

"""Failure reasons: one enum with its transient flag; every reason the crawl produces is
a member, the transient ones are those Scrapy retries, and the validator logic uses the
flag."""

from __future__ import annotations

import ast
import re
from typing import Any, get_args

import pytest
from scrapy.exceptions import IgnoreRequest
from scrapy.settings import default_settings
from scrapy.utils.misc import load_object
from twisted.internet import error as twisted_error
from twisted.python.failure import Failure

from crawler import settings as project_settings
from crawler.exceptions import DeniedRedirect, OffsiteRedirect, RedirectLoop
from crawler.extraction import RejectionReason
from crawler.failures import FailureReason, http_reason, is_transient_reason
from crawler.middlewares.conditional import ConditionalRequests
from crawler.spiders.news import failure_reason
from tests.unit.crawler.sourcescan import ROOT


def _exception(cls: type[BaseException]) -> BaseException:
    try:
        return cls()
    except TypeError:
        return cls("x")


def _reason(exc: BaseException) -> str:
    failure = Failure(exc)  # type: ignore[no-untyped-call]
    return failure_reason(failure)[0]


def _retried_exceptions() -> list[type[BaseException]]:
    retried: list[Any] = default_settings.RETRY_EXCEPTIONS
    return [load_object(e) if isinstance(e, str) else e for e in retried]


@pytest.mark.parametrize("cls", _retried_exceptions(), ids=lambda c: c.__name__)
def test_what_scrapy_retries_is_transient(cls: type[BaseException]) -> None:
    reason = _reason(_exception(cls))
    if reason in set(FailureReason):
        assert FailureReason(reason).transient, f"Scrapy retries {cls.__name__}: {reason}"
    else:  # Scrapy's generic ones, kept under their class name
        assert reason in ("ConnectError", "OSError", "TunnelError")


def test_connection_closed_is_produced_and_transient() -> None:
    reason = _reason(twisted_error.ConnectionDone())
    assert reason == FailureReason.CONNECTION_CLOSED
    assert FailureReason.CONNECTION_CLOSED.transient


def test_retried_http_statuses_are_transient() -> None:
    for code in project_settings.RETRY_HTTP_CODES:
        assert is_transient_reason(http_reason(code))
    assert not is_transient_reason(http_reason(404))
    assert not is_transient_reason("ConnectError")


@pytest.mark.parametrize(
    "exc",
    [
        RedirectLoop("loop"),
        OffsiteRedirect("off"),
        DeniedRedirect("denied"),
        IgnoreRequest("Forbidden by robots.txt"),
        IgnoreRequest("Filtered offsite request"),
        IgnoreRequest("whatever"),
        IgnoreRequest("Cancelling download: body exceeded maxsize"),
        *(_exception(cls) for cls in _retried_exceptions()[:6]),
    ],
    ids=repr,
)
def test_classified_failures_are_members(exc: BaseException) -> None:
    reason = _reason(exc)
    assert isinstance(reason, FailureReason)


def test_extraction_rejections_are_members() -> None:
    assert set(get_args(RejectionReason)) <= set(FailureReason)


def _spelled_reasons(tree: ast.AST) -> list[tuple[int, str]]:
    """Reasons given as a string to ``reason=`` or to the spider's ``_bad_discovery``;
    `Rejection` takes a `RejectionReason` (a Literal type mypy checks)."""
    found = []
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        args = [kw.value for kw in call.keywords if kw.arg == "reason" and name != "Rejection"]
        if name == "_bad_discovery" and len(call.args) > 1:
            args.append(call.args[1])
        found += [
            (a.lineno, a.value)
            for a in args
            if isinstance(a, ast.Constant) and isinstance(a.value, str)
        ]
    return found


def test_no_reason_is_spelled_as_a_string_where_failures_are_made() -> None:
    """Failures are made with `FailureReason` members, so none escapes the enum."""
    found = [
        (str(path.relative_to(ROOT)), *hit)
        for package in ("crawler", "storage")
        for path in sorted((ROOT / package).rglob("*.py"))
        for hit in _spelled_reasons(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert found == []


def test_validators_are_kept_only_after_no_transient_failure() -> None:
    """The status logic (`ConditionalRequests.complete`) follows the flag."""
    for reason in FailureReason:
        stats: dict[str, object] = {f"newsingest/fetch/failed/{reason}": 1}
        assert ConditionalRequests.complete(stats) is not reason.transient, reason


def test_the_documented_reasons_are_the_members() -> None:
    """docs/schema.md lists every stored reason with its transient flag: the values in
    the database never change."""
    text = (ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    section = text.split("## Failure reasons", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| (yes|no) \|", section, flags=re.MULTILINE)
    assert rows == [(m.value, "yes" if m.transient else "no") for m in FailureReason]

"""Browser tests: Playwright driving Debian's Chromium against Django's live server.

The browser is never downloaded (``playwright install`` is blocked): Playwright launches the
executable at ``CHROMIUM_PATH`` (default ``/usr/bin/chromium``). When it is missing, every
browser test is skipped with the reason, except under ``CI=true``, where each one fails:
CI runs every browser test.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from tests import factories

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BROWSER_DIR = os.path.dirname(os.path.abspath(__file__))

# Playwright waits this long (ms) for a page or an expectation; pages here render in well
# under a second, so a slow step fails fast instead of hanging the suite.
TIMEOUT_MS = 10_000


def chromium_executable() -> str | None:
    """The Chromium to drive, or None when it is not installed."""
    path = CHROMIUM if os.path.isabs(CHROMIUM) else shutil.which(CHROMIUM)
    if path and os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    return None


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _is_browser_test(item: pytest.Item) -> bool:
    return os.path.abspath(str(item.path)).startswith(BROWSER_DIR + os.sep) or (
        item.get_closest_marker("browser") is not None
    )


def _failing_stand_in(item: pytest.Item, reason: str) -> pytest.Item:
    """A test with the same name that needs no fixture (no browser, no live server) and
    fails with ``reason``: a missing browser under CI is a failure, not a skip or a setup
    error hidden among fixture tracebacks."""

    def browser_missing() -> None:
        pytest.fail(reason, pytrace=False)

    # Same module, so the same markers (browser, django_db) and the same test id.
    return pytest.Function.from_parent(
        item.parent, name=item.name, callobj=browser_missing, originalname=item.originalname
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if chromium_executable() is not None:
        return
    if _in_ci():
        reason = (
            f"Chromium is missing at {CHROMIUM} (set CHROMIUM_PATH or run `make chromium`); "
            "CI=true runs every browser test, so this one fails."
        )
        items[:] = [_failing_stand_in(i, reason) if _is_browser_test(i) else i for i in items]
        return
    skip = pytest.mark.skip(
        reason=f"Chromium is missing at {CHROMIUM} (set CHROMIUM_PATH or run `make chromium`); "
        "browser tests are skipped outside CI."
    )
    for item in items:
        if _is_browser_test(item):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Rate limits (login attempts per IP, reset mails per address) and used TOTP codes live
    in the cache, which outlives a test: each browser test starts with none."""
    cache.clear()


@pytest.fixture(autouse=True)
def _playwright_timeouts(request: pytest.FixtureRequest) -> None:
    expect.set_options(timeout=TIMEOUT_MS)
    if "page" in request.fixturenames:
        request.getfixturevalue("page").set_default_timeout(TIMEOUT_MS)


# --- Data ------------------------------------------------------------------------------


@dataclass
class Portal:
    """A portal user who is a contact of exactly one customer."""

    user: Any
    customer: Any


@pytest.fixture
def portal_user(transactional_db: None) -> Portal:
    customer = factories.make_customer("Gamma Logistics Sdn Bhd")
    user = factories.make_user("gina@example.org", full_name="Gina Portal")
    factories.make_contact(customer, "owner", user=user)
    return Portal(user=user, customer=customer)


@dataclass
class StaffMember:
    """A staff member with an enrolled authenticator (sign in with ``pages.sign_in_staff``)."""

    user: Any
    email: str
    totp_secret: str


@pytest.fixture
def staff_support(transactional_db: None) -> StaffMember:
    user = factories.make_staff("support", email="sam@staff.example", with_mfa=False)
    return StaffMember(user=user, email=user.email, totp_secret=factories.enrol_totp(user))

"""Browser tests: Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

Never a downloaded browser: the tests launch /usr/bin/chromium. Without it the e2e tests are
skipped on a developer machine, and fail when the CI environment variable is set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
E2E_DIR = Path(__file__).resolve().parent
SCREENSHOT_DIR = Path(os.environ.get("E2E_SCREENSHOT_DIR", "/tmp/e2e-shots"))

# The cookies a visitor gets without consenting to anything (the cookie registry's "necessary").
NECESSARY_COOKIES = {"ed_session", "ed_csrftoken", "ed_visitor"}

# Generous waits for a loaded CI machine; a passing test never waits this long.
TIMEOUT_MS = 15_000
expect.set_options(timeout=TIMEOUT_MS)


class _Chromium:
    """One Playwright driver and one Chromium for the run, stopped after the last browser test.

    Playwright's sync API keeps an asyncio event loop marked as running in the main thread while
    it is alive, so Django refuses ORM calls (factories, assertions, the database flush between
    tests) unless DJANGO_ALLOW_ASYNC_UNSAFE is set. It is set only while the browser runs and
    restored afterwards: tests that run later (pytest-django runs tests without a database last)
    and the subprocesses they start, such as `manage.py check --deploy`, must not inherit it.
    """

    def __init__(self) -> None:
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._saved_env: str | None = None

    def browser(self) -> Browser:
        if self._browser is None:
            self._saved_env = os.environ.get(ASYNC_UNSAFE)
            os.environ[ASYNC_UNSAFE] = "true"
            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
            )
        return self._browser

    def stop(self) -> None:
        if self._playwright is None:
            return
        try:
            if self._browser is not None:
                self._browser.close()
            self._playwright.stop()
        finally:
            self._playwright = None
            self._browser = None
            if self._saved_env is None:
                os.environ.pop(ASYNC_UNSAFE, None)
            else:
                os.environ[ASYNC_UNSAFE] = self._saved_env


_chromium = _Chromium()


def _is_e2e(item: pytest.Item) -> bool:
    return Path(str(item.path)).resolve().is_relative_to(E2E_DIR)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After the last browser test of the run, stop Chromium and restore the environment.

    A hook of this directory's conftest: it runs for the browser tests only, after their
    fixtures (contexts, database flush) are torn down.
    """
    try:
        return (yield)
    finally:
        items = item.session.items
        later = items[items.index(item) + 1 :] if item in items else []
        if not any(_is_e2e(other) for other in later):
            _chromium.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = (
            f"{CHROMIUM} not found: install Debian's chromium package (apt-get install chromium)"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{message}; browser tests cannot be skipped in CI", pytrace=False)
        pytest.skip(f"{message}; browser tests skipped on this machine")
    yield _chromium.browser()
    _chromium.stop()


@pytest.fixture
def new_context(browser: Browser, live_server) -> Iterator[Callable[..., BrowserContext]]:
    """Make fresh browser contexts (no cookies, English browser) on the live server."""
    contexts: list[BrowserContext] = []

    def make(**kwargs: object) -> BrowserContext:
        options: dict[str, object] = {
            "base_url": live_server.url,
            "locale": "en-GB",
            "viewport": {"width": 1280, "height": 900},
            **kwargs,
        }
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        # Chromium asks for /favicon.ico after each page; answer it without the live server.
        context.route("**/favicon.ico", lambda route: route.fulfill(status=204, body=""))
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def context(new_context: Callable[..., BrowserContext]) -> BrowserContext:
    return new_context()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR


# --- helpers shared by the test modules -----------------------------------------------------


def cookie_names(context: BrowserContext) -> set[str]:
    return {cookie["name"] for cookie in context.cookies()}


def reject_cookies(page: Page) -> None:
    """Answer the cookie banner as a privacy-minded visitor would, so it no longer covers the page."""
    banner = page.locator("#cookie-banner")
    banner.get_by_role("button", name="Reject all").click()
    expect(banner).to_have_count(0)


def sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    main = page.locator("main")
    main.get_by_label("E-mail address").fill(email)
    main.get_by_label("Password").fill(password)
    main.get_by_role("button", name="Sign in").click()


def choose_language(page: Page, *, value: str | None = None, label: str | None = None) -> None:
    """Pick a language in the header select, which submits itself (site.js), and wait for the
    page it leads to. The select is found by id: its label is translated too."""
    # site.js is deferred: before the page's load event the select has no listener yet.
    page.wait_for_load_state("load")
    with page.expect_navigation():
        if label is not None:
            page.locator("#language-select").select_option(label=label)
        else:
            page.locator("#language-select").select_option(value=value)


def path_of(url: str) -> str:
    """The path and query of a URL, e.g. '/accounts/login/?next=/mypage/'."""
    return re.sub(r"^[a-z]+://[^/]+", "", url)


OTP_LABEL = "6-digit code from your authenticator app"


def customer_page(context: BrowserContext, email: str, password: str) -> Page:
    """A new tab of `context`, signed in as a customer, on My Page."""
    page = context.new_page()
    page.goto("/")
    reject_cookies(page)
    sign_in(page, email, password)
    expect(page).to_have_url(re.compile(r"/mypage/$"))
    return page


def staff_page(context: BrowserContext, email: str, password: str, otp: Callable[[], str]) -> Page:
    """A new tab of `context`, signed in as staff: password, then the authenticator code
    (`otp` is called only once the second-factor page is showing, so the code is fresh)."""
    page = context.new_page()
    page.goto("/")
    reject_cookies(page)
    sign_in(page, email, password)
    expect(page.get_by_role("heading", name="Second factor")).to_be_visible()
    page.get_by_label(OTP_LABEL).fill(otp())
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/backoffice/$"))
    return page

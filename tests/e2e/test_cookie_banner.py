"""The cookie banner: equal choices, only necessary cookies after refusal, and changing one's mind."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Response, expect

from tests.e2e.conftest import NECESSARY_COOKIES, choose_language, cookie_names

pytestmark = [pytest.mark.e2e]

SAVED = "Your cookie choices have been saved."


def test_banner_offers_accept_and_reject_equally(page: Page, screenshot_dir: Path):
    page.goto("/")

    banner = page.locator("#cookie-banner")
    expect(banner).to_be_visible()
    accept = banner.get_by_role("button", name="Accept all")
    reject = banner.get_by_role("button", name="Reject all")
    expect(accept).to_be_visible()
    expect(reject).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "home-cookie-banner.png"))

    accept_box = accept.bounding_box()
    reject_box = reject.bounding_box()
    assert accept_box is not None and reject_box is not None
    assert abs(accept_box["width"] - reject_box["width"]) <= 2, (accept_box, reject_box)
    assert abs(accept_box["height"] - reject_box["height"]) <= 2, (accept_box, reject_box)
    # Side by side on one line: neither is pushed away from the other.
    assert abs(accept_box["y"] - reject_box["y"]) <= 2, (accept_box, reject_box)


def test_reject_all_keeps_only_necessary_cookies(page: Page, context: BrowserContext):
    page.goto("/")
    page.locator("#cookie-banner").get_by_role("button", name="Reject all").click()

    expect(page.locator("#cookie-banner")).to_have_count(0)
    expect(page.get_by_text(SAVED)).to_be_visible()
    assert cookie_names(context) <= NECESSARY_COOKIES, context.cookies()

    # The language still changes (it is kept in the session) but no functional cookie is set.
    choose_language(page, value="ja")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    assert "ed_language" not in cookie_names(context)
    assert cookie_names(context) <= NECESSARY_COOKIES, context.cookies()

    page.goto("/privacy/policy/")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("#cookie-banner")).to_have_count(0)
    assert cookie_names(context) <= NECESSARY_COOKIES, context.cookies()


def test_after_reject_all_the_browser_never_receives_an_undeclared_cookie(page: Page):
    """Every cookie the browser is given must be in the cookie policy; after "Reject all" that
    means the necessary ones only, not even for one redirect.

    Catches, for example, flash messages kept in Django's default `messages` cookie, which the
    cookie registry does not declare.
    """
    received: list[str] = []

    def record(response: Response) -> None:
        for header in response.headers_array():
            if header["name"].lower() != "set-cookie":
                continue
            for line in header["value"].split("\n"):
                name, _, rest = line.partition("=")
                deletion = re.search(r"max-age=0\b|expires=thu, 01 jan 1970", rest, re.I)
                if not deletion:
                    received.append(name.strip())

    page.on("response", record)
    page.goto("/")
    page.locator("#cookie-banner").get_by_role("button", name="Reject all").click()
    expect(page.get_by_text(SAVED)).to_be_visible()
    choose_language(page, value="es")
    expect(page.locator("html")).to_have_attribute("lang", "es")

    assert set(received) <= NECESSARY_COOKIES, received


def test_accept_all_lets_the_language_cookie_be_set(page: Page, context: BrowserContext):
    page.goto("/")
    page.locator("#cookie-banner").get_by_role("button", name="Accept all").click()
    expect(page.locator("#cookie-banner")).to_have_count(0)
    assert "ed_language" not in cookie_names(context)

    choose_language(page, value="ja")

    expect(page.locator("html")).to_have_attribute("lang", "ja")
    language_cookies = [c for c in context.cookies() if c["name"] == "ed_language"]
    assert [c["value"] for c in language_cookies] == ["ja"]


def test_choose_categories_then_change_them_in_cookie_settings(page: Page, context: BrowserContext):
    page.goto("/")
    banner = page.locator("#cookie-banner")
    banner.get_by_text("Choose categories").click()
    necessary = banner.get_by_label("Strictly necessary (always on)")
    expect(necessary).to_be_checked()
    expect(necessary).to_be_disabled()
    banner.get_by_label("Functional").check()
    expect(banner.get_by_label("Statistics")).not_to_be_checked()
    expect(banner.get_by_label("Marketing")).not_to_be_checked()
    banner.get_by_role("button", name="Save my choices").click()

    expect(page.locator("#cookie-banner")).to_have_count(0)
    expect(page.get_by_text(SAVED)).to_be_visible()

    # Functional cookies allowed: the chosen language is remembered in a cookie.
    choose_language(page, value="ja")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    assert "ed_language" in cookie_names(context)
    choose_language(page, value="en")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # Change later, from the footer link on every page.
    page.locator("#cookie-settings-link").click()
    expect(page).to_have_url(re.compile(r"/privacy/cookies/$"))
    choices = page.locator("main form")
    expect(choices.get_by_label("Functional")).to_be_checked()
    expect(choices.get_by_label("Statistics")).not_to_be_checked()
    expect(choices.get_by_label("Marketing")).not_to_be_checked()

    choices.get_by_label("Functional").uncheck()
    choices.get_by_label("Statistics").check()
    choices.get_by_role("button", name="Save my choices").click()

    expect(page.get_by_text(SAVED)).to_be_visible()
    page.reload()
    choices = page.locator("main form")
    expect(choices.get_by_label("Functional")).not_to_be_checked()
    expect(choices.get_by_label("Statistics")).to_be_checked()
    expect(choices.get_by_label("Marketing")).not_to_be_checked()
    expect(page.locator("#cookie-banner")).to_have_count(0)
    # Withdrawing functional consent removes the cookie that depended on it.
    assert "ed_language" not in cookie_names(context), context.cookies()

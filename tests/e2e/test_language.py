"""Switching the site language from the header."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from exportdesk.accounts.models import User
from tests.e2e.conftest import choose_language, reject_cookies, sign_in
from tests.factories import PASSWORD, customer

pytestmark = [pytest.mark.e2e]

# Translations may be incomplete: assert on <html lang>, never on translated text.


def test_the_language_select_switches_by_itself(page: Page):
    page.goto("/privacy/policy/")
    reject_cookies(page)
    expect(page.locator("html")).to_have_attribute("lang", "en")

    choose_language(page, label="日本語")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page).to_have_url(re.compile(r"/privacy/policy/$"))  # stays on the page

    choose_language(page, label="Español")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("#language-select")).to_have_value("es")

    page.goto("/accounts/register/")
    expect(page.locator("html")).to_have_attribute("lang", "es")


def test_the_change_button_works_without_javascript(new_context: Callable[..., BrowserContext]):
    page = new_context(java_script_enabled=False).new_page()
    page.goto("/")
    reject_cookies(page)

    header = page.locator("header")
    header.get_by_label("Language").select_option(label="Español")
    expect(page.locator("html")).to_have_attribute("lang", "en")  # nothing happens by itself
    header.get_by_role("button", name="Change").click()

    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("#language-select")).to_have_value("es")


@pytest.mark.parametrize("language", ["en", "ja", "es"])
def test_each_language_is_offered_in_its_own_name(page: Page, language: str):
    """Someone who picked a language they cannot read must still find their own in the list.

    Fails while base.html labels the options with Django's translated language names
    (in Japanese "English" reads 英語(米国), in Spanish "Inglés").
    """
    page.goto("/")
    reject_cookies(page)
    if language != "en":
        choose_language(page, value=language)
    expect(page.locator("html")).to_have_attribute("lang", language)

    options = page.locator("#language-select option")
    expect(options).to_have_text(["English", "日本語", "Español"])


def test_a_customer_keeps_the_chosen_language_in_another_browser(
    page: Page, new_context: Callable[..., BrowserContext], transactional_db
):
    customer("hiroshi.sato@example.com", "NZ", name="Hiroshi Sato")
    page.goto("/")
    reject_cookies(page)
    sign_in(page, "hiroshi.sato@example.com", PASSWORD)
    expect(page).to_have_url(re.compile(r"/mypage/$"))
    choose_language(page, value="ja")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    assert User.objects.get(email="hiroshi.sato@example.com").language == "ja"

    # Another device, no cookies, an English browser: after signing in the site is in Japanese.
    other = new_context().new_page()
    other.goto("/")
    reject_cookies(other)
    expect(other.locator("html")).to_have_attribute("lang", "en")
    sign_in(other, "hiroshi.sato@example.com", PASSWORD)
    expect(other).to_have_url(re.compile(r"/mypage/$"))
    expect(other.locator("html")).to_have_attribute("lang", "ja")

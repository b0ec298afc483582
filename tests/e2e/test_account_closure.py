"""Closing an account: confirmation, no further sign-in, every other session signed out."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from exportdesk.accounts.models import User
from tests.e2e.conftest import path_of, reject_cookies, sign_in
from tests.factories import PASSWORD, customer

pytestmark = [pytest.mark.e2e]

EMAIL = "rosa.mendez@example.com"


def _signed_in_page(make_context: Callable[..., BrowserContext]) -> Page:
    page = make_context().new_page()
    page.goto("/")
    reject_cookies(page)
    sign_in(page, EMAIL, PASSWORD)
    expect(page).to_have_url(re.compile(r"/mypage/$"))
    return page


def test_close_account_signs_out_everywhere(
    new_context: Callable[..., BrowserContext], transactional_db, settings
):
    settings.ACCOUNT_ERASURE_DELAY_DAYS = 30
    customer(EMAIL, "CL", name="Rosa Méndez")
    laptop = _signed_in_page(new_context)
    phone = _signed_in_page(new_context)

    laptop.goto("/accounts/close/")
    expect(laptop.get_by_role("heading", name="Close your account")).to_be_visible()
    expect(laptop.get_by_text("Your personal data is erased 30 days later")).to_be_visible()
    form = laptop.locator("main form")
    form.get_by_label("Current password").fill(PASSWORD)
    form.get_by_label("I understand that I will be signed out").check()
    form.get_by_role("button", name="Close my account").click()

    expect(laptop.get_by_role("heading", name="Your account is closed")).to_be_visible()
    expect(laptop.locator("header").get_by_role("link", name="Sign in")).to_be_visible()
    assert User.objects.get(email=EMAIL).closed_at is not None

    # Signing in again is refused, with the same words as a wrong password.
    sign_in(laptop, EMAIL, PASSWORD)
    expect(laptop.get_by_text("The e-mail address or password is not correct.")).to_be_visible()
    expect(laptop).to_have_url(re.compile(r"/accounts/login/$"))

    # The other browser was signed in before the closure: its next page load signs it out.
    phone.goto("/mypage/")
    assert path_of(phone.url) == "/accounts/login/?next=/mypage/"
    expect(phone.locator("header").get_by_role("link", name="Sign in")).to_be_visible()


def test_closing_needs_the_password_and_the_confirmation(
    new_context: Callable[..., BrowserContext], transactional_db
):
    customer(EMAIL, "CL", name="Rosa Méndez")
    page = _signed_in_page(new_context)
    page.goto("/accounts/close/")
    form = page.locator("main form")

    form.get_by_label("Current password").fill("a guess that is wrong")
    form.get_by_role("button", name="Close my account").click()

    expect(page.get_by_text("That is not your current password.")).to_be_visible()
    expect(page.get_by_text("This field is required.")).to_be_visible()  # the confirmation box
    expect(page.get_by_role("heading", name="Your account is closed")).to_have_count(0)
    page.goto("/mypage/")
    expect(page.get_by_role("heading", name="Welcome, Rosa Méndez")).to_be_visible()
    assert User.objects.get(email=EMAIL).closed_at is None

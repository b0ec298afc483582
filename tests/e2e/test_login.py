"""Signing in and out through the form."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import path_of, reject_cookies, sign_in
from tests.factories import PASSWORD, customer

pytestmark = [pytest.mark.e2e]

WRONG = "The e-mail address or password is not correct."


@pytest.fixture
def amina(transactional_db):
    return customer("amina.juma@example.com", "TZ", name="Amina Juma")


def test_verified_customer_signs_in_and_out(page: Page, amina):
    page.goto("/")
    reject_cookies(page)
    page.get_by_role("link", name="Sign in").click()

    main = page.locator("main")
    main.get_by_label("E-mail address").fill("Amina.Juma@Example.com")  # case does not matter
    main.get_by_label("Password").fill(PASSWORD)
    main.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(re.compile(r"/mypage/$"))
    expect(page.get_by_role("heading", name="Welcome, Amina Juma")).to_be_visible()

    page.locator("header").get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    expect(page.locator("header").get_by_role("link", name="Sign in")).to_be_visible()
    page.goto("/mypage/")
    assert path_of(page.url) == "/accounts/login/?next=/mypage/"


def test_wrong_password_is_refused(page: Page, amina):
    page.goto("/accounts/login/")
    reject_cookies(page)

    sign_in(page, amina.email, "not the password at all")

    expect(page.get_by_text(WRONG)).to_be_visible()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.locator("header").get_by_role("link", name="Sign in")).to_be_visible()
    page.goto("/mypage/")
    assert path_of(page.url) == "/accounts/login/?next=/mypage/"


def test_unknown_address_gets_the_same_answer(page: Page, amina):
    page.goto("/accounts/login/")
    reject_cookies(page)

    sign_in(page, "nobody@example.com", PASSWORD)

    expect(page.get_by_text(WRONG)).to_be_visible()


def test_sign_in_returns_to_the_page_asked_for(page: Page, amina):
    page.goto("/mypage/profile/")
    assert path_of(page.url) == "/accounts/login/?next=/mypage/profile/"
    reject_cookies(page)
    main = page.locator("main")
    main.get_by_label("E-mail address").fill(amina.email)
    main.get_by_label("Password").fill(PASSWORD)
    main.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(re.compile(r"/mypage/profile/$"))
    expect(page.get_by_role("heading", name="Profile", exact=True)).to_be_visible()

"""Editing the profile from My Page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from exportdesk.accounts.models import CustomerProfile
from tests.e2e.conftest import reject_cookies, sign_in
from tests.factories import PASSWORD, customer

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def signed_in(page: Page, transactional_db) -> Page:
    # The factory's profile: company Kamau Motors Ltd, phone +254 712 345678.
    customer("peter.kamau@example.com", "KE", name="Peter Kamau")
    page.goto("/")
    reject_cookies(page)
    sign_in(page, "peter.kamau@example.com", PASSWORD)
    expect(page).to_have_url(re.compile(r"/mypage/$"))
    return page


def _profile_value(page: Page, term: str) -> str:
    return page.locator(f"dl.profile dt:text-is('{term}') + dd").inner_text()


def _open_edit_form(page: Page) -> None:
    page.locator("header").get_by_role("link", name="My Page").click()
    page.get_by_role("navigation", name="My Page").get_by_role("link", name="Profile").click()
    expect(page).to_have_url(re.compile(r"/mypage/profile/$"))
    page.get_by_role("link", name="Edit Profile").click()
    expect(page).to_have_url(re.compile(r"/mypage/profile/edit/$"))
    expect(page.get_by_role("heading", name="Edit Profile")).to_be_visible()


def test_edit_company_and_phone(signed_in: Page):
    page = signed_in
    _open_edit_form(page)
    form = page.locator("main form")
    expect(form.get_by_label("Company")).to_have_value("Kamau Motors Ltd")

    form.get_by_label("Company").fill("Kamau & Daughters Autos")
    form.get_by_label("Phone").fill("+254 700 111222")
    form.get_by_role("button", name="Save").click()

    expect(page).to_have_url(re.compile(r"/mypage/profile/$"))
    expect(page.get_by_text("Your profile has been saved.")).to_be_visible()
    assert _profile_value(page, "Company") == "Kamau & Daughters Autos"
    assert _profile_value(page, "Phone") == "+254 700 111222"
    assert _profile_value(page, "Name") == "Peter Kamau"
    assert _profile_value(page, "Country of residence") == "Kenya"


def test_invalid_phone_is_refused_and_nothing_changes(signed_in: Page):
    page = signed_in
    _open_edit_form(page)
    form = page.locator("main form")

    form.get_by_label("Company").fill("Should Not Be Saved Ltd")
    form.get_by_label("Phone").fill("abc")
    form.get_by_role("button", name="Save").click()

    expect(page).to_have_url(re.compile(r"/mypage/profile/edit/$"))
    expect(page.get_by_text("Please correct the problems below.")).to_be_visible()
    expect(page.get_by_text("Enter a phone number with country code")).to_be_visible()
    expect(page.get_by_text("Your profile has been saved.")).to_have_count(0)

    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(re.compile(r"/mypage/profile/$"))
    assert _profile_value(page, "Company") == "Kamau Motors Ltd"
    assert _profile_value(page, "Phone") == "+254 712 345678"
    profile = CustomerProfile.objects.get(user__email="peter.kamau@example.com")
    assert (profile.company, profile.phone) == ("Kamau Motors Ltd", "+254 712 345678")

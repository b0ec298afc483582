"""The staff back office: second factor after the password; customers are kept out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import path_of, reject_cookies, sign_in
from tests.factories import PASSWORD, customer, staff, totp_now

pytestmark = [pytest.mark.e2e]

OTP_LABEL = "6-digit code from your authenticator app"


def test_staff_passes_the_second_factor_to_reach_the_back_office(page: Page, transactional_db):
    sam = staff("sam.sales@exporter.example", "sales")
    page.goto("/")
    reject_cookies(page)

    sign_in(page, sam.email, PASSWORD)

    expect(page).to_have_url(re.compile(r"/backoffice/second-factor/\?next=/backoffice/$"))
    expect(page.get_by_role("heading", name="Second factor")).to_be_visible()
    # Signed in with the password only: the back office is still out of reach.
    page.goto("/backoffice/desk/sales/")
    assert path_of(page.url).startswith("/backoffice/second-factor/?next=")

    page.get_by_label(OTP_LABEL).fill(totp_now(sam))
    page.get_by_role("button", name="Continue").click()

    expect(page).to_have_url(re.compile(r"/backoffice/desk/sales/$"))
    page.locator("header").get_by_role("link", name="Back office").click()
    expect(page).to_have_url(re.compile(r"/backoffice/$"))
    expect(page.get_by_role("heading", name="Back office")).to_be_visible()
    desks = page.locator("ul.desks")
    expect(desks.get_by_role("link", name="Sales")).to_be_visible()
    expect(desks.get_by_role("link")).to_have_count(1)  # the sales role works one desk only


def test_a_wrong_code_is_refused(page: Page, transactional_db):
    sam = staff("sam.sales@exporter.example", "sales")
    page.goto("/")
    reject_cookies(page)
    sign_in(page, sam.email, PASSWORD)
    expect(page.get_by_role("heading", name="Second factor")).to_be_visible()

    code = totp_now(sam)
    wrong = f"{(int(code) + 500_000) % 1_000_000:06d}"
    page.get_by_label(OTP_LABEL).fill(wrong)
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_text("That code is not valid.")).to_be_visible()
    page.goto("/backoffice/")
    assert path_of(page.url) == "/backoffice/second-factor/?next=/backoffice/"


def test_a_customer_is_not_allowed_in_the_back_office(page: Page, transactional_db):
    customer("alice@example.com", "KE", name="Alice Wanjiru")
    page.goto("/")
    reject_cookies(page)
    sign_in(page, "alice@example.com", PASSWORD)
    expect(page).to_have_url(re.compile(r"/mypage/$"))
    expect(page.locator("header").get_by_role("link", name="Back office")).to_have_count(0)

    response = page.goto("/backoffice/")

    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_text("You do not have permission to open this page.")).to_be_visible()
    page.goto("/backoffice/second-factor/")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()

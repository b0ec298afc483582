"""Records of provision in the browser: the privacy officer registers a recipient and records a
disclosure; the customer then sees it on their disclosures page, and another customer does not."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from exportdesk.privacy.models import ProvisionRecord
from tests.e2e.conftest import reject_cookies, sign_in
from tests.factories import PASSWORD, customer, staff, totp_now

pytestmark = [pytest.mark.e2e]

OTP_LABEL = "6-digit code from your authenticator app"
SAFEGUARD = "Contract clauses binding the broker to APPI-equivalent measures (APPI Art. 28)"


def _officer_page(make_context: Callable[..., BrowserContext]) -> Page:
    officer = staff("pat.privacy@exporter.example", "privacy_officer")
    page = make_context().new_page()
    page.goto("/")
    reject_cookies(page)
    sign_in(page, officer.email, PASSWORD)
    page.get_by_label(OTP_LABEL).fill(totp_now(officer))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/backoffice/$"))
    return page


def _customer_page(make_context: Callable[..., BrowserContext], email: str) -> Page:
    page = make_context().new_page()
    page.goto("/")
    reject_cookies(page)
    sign_in(page, email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/mypage/$"))
    return page


def test_an_officer_records_a_disclosure_and_the_customer_sees_it(
    new_context: Callable[..., BrowserContext], transactional_db, screenshot_dir: Path
):
    alice = customer("alice@example.com", "KE", name="Alice Wanjiru")
    customer("bob@example.com", "JM", name="Bob Campbell")
    officer = _officer_page(new_context)

    # A recipient in Kenya: the form insists on a transfer safeguard.
    officer.goto("/backoffice/privacy/recipients/")
    officer.get_by_role("link", name="Add a recipient").click()
    form = officer.locator("main form.card")
    form.get_by_label("Name", exact=True).fill("Mombasa Clearing & Forwarding Ltd")
    form.get_by_label("Kind").select_option(label="Customs broker")
    form.get_by_label("Country").select_option(label="Kenya")
    form.get_by_label("Relationship").select_option(label="Third party")
    form.get_by_label("Contact").fill("privacy@mombasa-clearing.example")
    form.get_by_role("button", name="Save").click()
    expect(
        officer.get_by_text("A recipient outside Japan needs a transfer safeguard")
    ).to_be_visible()

    form = officer.locator("main form.card")
    form.get_by_label("Transfer safeguard").fill(SAFEGUARD)
    form.get_by_role("button", name="Save").click()
    expect(
        officer.get_by_text("Recipient Mombasa Clearing & Forwarding Ltd added.")
    ).to_be_visible()
    expect(officer.get_by_role("cell", name="Kenya")).to_be_visible()

    # A disclosure the broker received by e-mail, recorded by hand for Alice.
    officer.locator("main nav").get_by_role("link", name="Disclosures").click()
    officer.get_by_role("link", name="Record a disclosure").click()
    form = officer.locator("main form.card")
    form.get_by_label("Customer", exact=True).fill(alice.customer_number)
    form.get_by_label("Recipient").select_option(label="Mombasa Clearing & Forwarding Ltd")
    form.get_by_label("Data items").fill("name, address, KRA PIN")
    form.get_by_label("Legal basis").select_option(label="contract")
    form.get_by_label("Purpose").fill("Import clearance of a Toyota Hilux in Mombasa")
    form.get_by_role("button", name="Record the disclosure").click()
    expect(
        officer.get_by_text("Disclosure to Mombasa Clearing & Forwarding Ltd recorded.")
    ).to_be_visible()
    expect(officer.get_by_role("cell", name="name, address, KRA PIN")).to_be_visible()
    assert ProvisionRecord.objects.get().user_id == alice.pk
    officer.screenshot(path=str(screenshot_dir / "provision-officer-list.png"), full_page=True)

    page = _customer_page(new_context, alice.email)
    page.goto("/mypage/privacy/disclosures/")
    expect(page.get_by_role("heading", name="Who received your data")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Mombasa Clearing & Forwarding Ltd")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Customs broker")
    expect(row).to_contain_text("Kenya")
    expect(row).to_contain_text("name, address, KRA PIN")
    expect(row).to_contain_text("Import clearance of a Toyota Hilux in Mombasa")
    expect(row).to_contain_text("Legal basis: contract")
    expect(row).to_contain_text(SAFEGUARD)
    page.screenshot(path=str(screenshot_dir / "provision-customer-records.png"), full_page=True)

    other = _customer_page(new_context, "bob@example.com")
    other.goto("/mypage/privacy/disclosures/")
    expect(other.get_by_text("We have not given your data to anyone.")).to_be_visible()
    expect(other.get_by_text("Mombasa Clearing")).to_have_count(0)

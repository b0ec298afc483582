"""The consignee journey in the browser: a customer adds a consignee to their address book,
chooses it for an order, pays, asks to change it, confirms by the e-mailed link, a logistics
officer approves, and the order's Shipping page shows the new consignee. Until both have said
yes, the page keeps showing the old one."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.core import mail
from playwright.sync_api import BrowserContext, Page, expect

from exportdesk.accounts.models import User
from exportdesk.payments.services import allocation_decide, allocation_request
from exportdesk.sales.models import Order
from exportdesk.shipping.models import ConsigneeChange, OrderParties
from tests.conftest import ensure_reference_data
from tests.e2e.conftest import SCREENSHOT_DIR, path_of, reject_cookies, sign_in
from tests.factories import PASSWORD, customer, staff, totp_now
from tests.payments.factories import confirmed_deposit, order_for

pytestmark = [pytest.mark.e2e]

OTP_LABEL = "6-digit code from your authenticator app"


@pytest.fixture
def desk(transactional_db) -> dict[str, object]:
    ensure_reference_data()
    alice = customer("alice@example.com", "KE", name="Alice Wanjiru")
    return {
        "alice": alice,
        "order": order_for(alice),
        "lee": staff("lee.logistics@exporter.example", "logistics"),
        "anna": staff("anna.accounts@exporter.example", "accounting"),
    }


def shot(page: Page, name: str) -> None:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / f"consignees-{name}.png"), full_page=True)


def customer_page(context: BrowserContext, user: User) -> Page:
    page = context.new_page()
    page.goto("/")
    reject_cookies(page)
    sign_in(page, user.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/mypage/$"))
    return page


def staff_page(context: BrowserContext, user: User) -> Page:
    page = context.new_page()
    page.goto("/")
    reject_cookies(page)
    sign_in(page, user.email, PASSWORD)
    page.get_by_label(OTP_LABEL).fill(totp_now(user))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/backoffice/$"))
    return page


def fill_consignee(page: Page, *, name: str, pin: str) -> None:
    form = page.locator("main form")
    expect(form.get_by_label("This entry is a")).to_have_value("consignee")
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_label("Company", exact=True).fill(name)
    form.get_by_label("Address", exact=True).fill("Moi Avenue 12\nMombasa")
    form.get_by_label("Country", exact=True).select_option(label="Kenya")
    form.get_by_label("Phone", exact=True).fill("+254 712 345678")
    form.get_by_label("ID or tax number").fill(pin)
    form.get_by_role("button", name="Save").click()


def pay_part_of(order: Order, accountant: User) -> None:
    """Accounting confirms a transfer from the customer and approves its allocation."""
    deposit = confirmed_deposit(order.customer, Decimal(1000), staff=accountant)
    allocation = allocation_request(
        deposit=deposit, order=order, amount=Decimal(1000), requested_by=order.customer
    )
    allocation_decide(allocation=allocation, staff=accountant, approve=True)


def test_a_consignee_change_after_payment_needs_the_link_and_the_officer(
    new_context: Callable[..., BrowserContext], desk
):
    alice, order = desk["alice"], desk["order"]
    assert isinstance(alice, User) and isinstance(order, Order)
    lee, anna = desk["lee"], desk["anna"]
    assert isinstance(lee, User) and isinstance(anna, User)
    shipping = f"/mypage/orders/{order.number}/shipping/"

    # --- The address book: a Kenyan consignee needs a KRA PIN --------------------------------
    page = customer_page(new_context(), alice)
    page.goto("/mypage/address-book/")
    expect(page.get_by_role("heading", name="Address book")).to_be_visible()
    page.get_by_role("link", name="Add a consignee").click()
    expect(page.locator("main")).to_contain_text("Kenya (KRA PIN)")
    fill_consignee(page, name="Kamau Motors Ltd", pin="")
    expect(
        page.get_by_text("Customs in Kenya clear the car under the consignee's KRA PIN")
    ).to_be_visible()
    page.locator("main form").get_by_label("ID or tax number").fill("A123456789B")
    page.locator("main form").get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/mypage/address-book/$"))
    expect(page.locator("main table").first).to_contain_text("Kamau Motors Ltd")
    expect(page.locator("main table").first).to_contain_text("A123456789B")
    shot(page, "01-address-book")

    # --- Chosen for the order before any payment: at once --------------------------------------
    page.goto(shipping)
    form = page.locator("#choose-parties")
    form.get_by_label("Consignee").select_option(label="Kamau Motors Ltd (Kamau Motors Ltd, Kenya)")
    form.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text(
        "The consignee of this order is now Kamau Motors Ltd."
    )
    expect(page.locator("#consignee")).to_contain_text("Kamau Motors Ltd")
    assert OrderParties.objects.get(order=order).consignee.name == "Kamau Motors Ltd"

    # --- The order is paid ------------------------------------------------------------------------
    pay_part_of(order, anna)

    # --- A new consignee, added from the order's page, and the change asked for -----------------
    page.reload()
    expect(page.locator("#choose-parties")).to_contain_text("checked twice before it takes effect")
    page.locator("#choose-parties").get_by_role("link", name="Add a consignee").click()
    fill_consignee(page, name="Mombasa Auto Traders", pin="P051234567X")
    expect(page).to_have_url(re.compile(rf"{re.escape(shipping)}$"))
    mail.outbox.clear()
    form = page.locator("#choose-parties")
    form.get_by_label("Consignee").select_option(
        label="Mombasa Auto Traders (Mombasa Auto Traders, Kenya)"
    )
    form.get_by_role("button", name="Ask for the change").click()
    expect(page.locator(".messages")).to_contain_text("We have e-mailed you a link to confirm")
    expect(page.locator("#pending-change")).to_contain_text(
        "You asked to change the consignee to Mombasa Auto Traders"
    )
    expect(page.locator("#consignee")).to_contain_text("Kamau Motors Ltd")
    expect(page.locator("#consignee")).not_to_contain_text("Mombasa Auto Traders")
    shot(page, "02-change-asked")

    # --- The customer confirms by the e-mailed link --------------------------------------------
    (message,) = mail.outbox
    assert message.to == [alice.email]
    link = re.search(r"https?://\S+(/shipping/consignee-change/\S+/)", message.body)
    assert link, message.body
    page.goto(link.group(1))
    expect(page.get_by_role("heading", name="Confirm the change of consignee")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Mombasa Auto Traders")
    page.get_by_role("button", name="Confirm the change").click()
    expect(page.get_by_role("heading", name="Change confirmed")).to_be_visible()
    assert ConsigneeChange.objects.get().status == ConsigneeChange.Status.AWAITING_APPROVAL
    assert OrderParties.objects.get(order=order).consignee.name == "Kamau Motors Ltd"

    # The link works once.
    page.goto(link.group(1))
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()

    # --- A logistics officer approves ------------------------------------------------------------
    officer = staff_page(new_context(), lee)
    officer.goto("/backoffice/shipping/consignee-changes/")
    waiting = officer.locator("#waiting tbody tr", has_text=order.number)
    expect(waiting).to_contain_text("Kamau Motors Ltd")
    expect(waiting).to_contain_text("Mombasa Auto Traders")
    waiting.get_by_role("link", name=order.number).click()
    expect(officer.locator("main")).to_contain_text("P051234567X")
    shot(officer, "03-officer-decides")
    decision = officer.locator("#decision")
    decision.get_by_label("Reason (sent to the customer)").fill(
        "Confirmed with Alice by phone on her registered number."
    )
    mail.outbox.clear()
    decision.get_by_role("button", name="Approve the change").click()
    expect(officer.locator(".messages")).to_contain_text("Change approved")
    expect(officer).to_have_url(re.compile(r"/backoffice/shipping/consignee-changes/$"))
    expect(officer.locator("#decided")).to_contain_text(order.number)

    # --- The order's Shipping page shows the new consignee ------------------------------------
    page.goto(shipping)
    expect(page.locator("#consignee")).to_contain_text("Mombasa Auto Traders")
    expect(page.locator("#consignee")).to_contain_text("P051234567X")
    expect(page.locator("#changes")).to_contain_text("Approved")
    expect(page.locator("#changes")).to_contain_text("Confirmed with Alice by phone")
    shot(page, "04-new-consignee")
    assert [m.to for m in mail.outbox] == [[alice.email]]
    assert "approved" in mail.outbox[0].subject
    assert path_of(page.url) == shipping

"""Auction bids in the browser: a customer with a confirmed deposit finds a lot and asks us to
bid; sales mark the request processed (it locks) and record the result. Won: the customer sees
the order in Bid History. Lost: the deposit's free money is back in the Payment Manager."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from exportdesk.accounts.models import User
from exportdesk.auctions.models import AuctionLot, BidRequest
from exportdesk.auctions.selectors import JAPAN
from exportdesk.payments.selectors import ledger_check
from exportdesk.sales.models import Order
from tests.auctions.factories import lot
from tests.conftest import ensure_reference_data
from tests.e2e.conftest import SCREENSHOT_DIR, reject_cookies, sign_in
from tests.factories import PASSWORD, customer, staff, totp_now
from tests.payments.factories import bank_account, confirmed_deposit
from tests.stock.factories import mombasa, roro_rate, usd_rate

pytestmark = [pytest.mark.e2e]

OTP_LABEL = "6-digit code from your authenticator app"


@pytest.fixture
def desk(transactional_db) -> dict[str, object]:
    """Reference data (flushed by transactional tests), the dollar's rate, our USD account, a
    priced Kenyan port, a customer with USD 5,000 confirmed, a sales person and a lot."""
    ensure_reference_data()
    usd_rate()
    bank_account("USD")
    roro_rate(mombasa())
    alice = customer("alice@example.com", "KE", name="Alice Wanjiru")
    anna = staff("anna.accounts@exporter.example", "accounting")
    return {
        "alice": alice,
        "sam": staff("sam.sales@exporter.example", "sales"),
        "deposit": confirmed_deposit(alice, Decimal(5000), staff=anna),
        "lot": lot(lot_number="10234", sheet_notes="Scratch on the rear bumper (A1)."),
        "other": lot(lot_number="55555", make="honda", model="fit", chassis_number="GP5-3401234"),
    }


def shot(page: Page, name: str) -> None:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / f"auction-{name}.png"), full_page=True)


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
    expect(page.get_by_role("heading", name="Second factor")).to_be_visible()
    page.get_by_label(OTP_LABEL).fill(totp_now(user))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/backoffice/$"))
    return page


def bid_row(page: Page, the_lot: AuctionLot):
    return page.locator("main table.bids tbody tr", has_text=f"Lot {the_lot.lot_number}")


def ask_for_a_bid(page: Page, the_lot: AuctionLot) -> None:
    """From My Page: Bids → find the lot among the Toyotas → ask us to bid up to JPY 1.5m."""
    page.locator("nav.subnav").get_by_role("link", name="Bids", exact=True).click()
    expect(page).to_have_url(re.compile(r"/mypage/bids/$"))
    page.get_by_role("link", name="Find auction lots").click()
    filters = page.locator("form.filters")
    filters.get_by_label("Make").select_option(label="Toyota")
    filters.get_by_role("button", name="Search").click()
    lots = page.locator("table.lots tbody tr")
    expect(lots).to_have_count(1)
    # Japan time and UTC from the server, the visitor's own zone added in the browser.
    expect(lots.locator("time")).to_contain_text("Japan time")
    expect(lots.locator("time .local-time")).to_contain_text("Your time:")
    lots.get_by_role("link", name=f"Lot {the_lot.lot_number}").click()

    expect(page.get_by_role("heading", name="Auction sheet, translated")).to_be_visible()
    expect(page.locator(".sheet-notes")).to_contain_text("Scratch on the rear bumper (A1).")
    form = page.locator("main form", has=page.get_by_label("Your maximum bid (JPY)"))
    form.get_by_label("Your maximum bid (JPY)").fill("1500000")
    form.get_by_label("Note for our buyer").fill("Only if the sheet is right")
    form.get_by_label("Port of discharge").select_option(label="Mombasa (Kenya)")
    shot(page, "01-bid-form")
    form.get_by_role("button", name="Send the bid request").click()

    expect(page).to_have_url(re.compile(r"/mypage/bids/$"))
    expect(page.locator(".messages")).to_contain_text(
        f"We have your request to bid up to JPY 1,500,000 on lot {the_lot.lot_number}."
    )
    row = bid_row(page, the_lot)
    expect(row).to_contain_text("Pending")
    expect(row).to_contain_text("JPY 1,500,000")
    expect(row).to_contain_text("USD 984.90 of your deposit held")
    expect(row.get_by_role("link", name="Change")).to_be_visible()
    expect(row.get_by_role("button", name="Withdraw")).to_be_visible()


def mark_processed(page: Page, the_lot: AuctionLot) -> None:
    day = the_lot.auction_at.astimezone(JAPAN).date().isoformat()
    # The back office's menu gets its Auctions link from the lead; the queue is at its address.
    page.goto(f"/backoffice/auctions/?day={day}")
    page.get_by_role("link", name=f"USS Tokyo lot {the_lot.lot_number}").click()
    expect(page.locator("main dl")).to_contain_text("JPY 1,500,000")
    page.get_by_role("button", name="Mark processed").click()
    expect(page.locator(".messages")).to_contain_text(
        "Marked processed: the customer can no longer change it."
    )


def test_a_bid_is_won_and_becomes_the_customers_order(
    new_context: Callable[..., BrowserContext], desk
):
    alice, sam, the_lot = desk["alice"], desk["sam"], desk["lot"]
    # Alice's browser is in Nairobi: the page adds her own time to Japan time and UTC.
    page = customer_page(new_context(timezone_id="Africa/Nairobi"), alice)
    ask_for_a_bid(page, the_lot)
    nairobi = the_lot.auction_at.astimezone(ZoneInfo("Africa/Nairobi"))
    expect(bid_row(page, the_lot).locator(".local-time")).to_contain_text(
        f"{nairobi:%m/%d/%Y}, {nairobi:%I:%M %p} GMT+3"
    )
    shot(page, "02-bid-history-pending")

    sales = staff_page(new_context(), sam)
    mark_processed(sales, the_lot)

    # Locked: no more changes from the customer.
    page.reload()
    row = bid_row(page, the_lot)
    expect(row).to_contain_text("Being bid: locked")
    expect(row.get_by_role("link", name="Change")).to_have_count(0)
    expect(row.get_by_role("button", name="Withdraw")).to_have_count(0)

    won = sales.locator("section", has=sales.get_by_role("heading", name="Won", exact=True))
    won.get_by_label("Hammer price (JPY)").fill("1600000")
    won.get_by_role("button", name="Record as won").click()
    expect(sales.locator(".error-summary, .errorlist").first).to_be_visible()
    expect(sales.locator("main")).to_contain_text(
        "The hammer price JPY 1,600,000 is above the customer's maximum of JPY 1,500,000."
    )
    won = sales.locator("section", has=sales.get_by_role("heading", name="Won", exact=True))
    won.get_by_label("Hammer price (JPY)").fill("1200000")
    won.get_by_label("Auction fee (JPY)").fill("15000")
    won.get_by_label("Recycle fee (JPY)").fill("12000")
    won.get_by_label("Consumption tax (JPY)").fill("120000")
    won.get_by_role("button", name="Record as won").click()
    bid = BidRequest.objects.get(lot=the_lot)
    order = Order.objects.get(bid_request=bid)
    expect(sales.locator(".messages")).to_contain_text(
        f"Recorded as won: vehicle {bid.vehicle.stock_number}, order {order.number}."
    )
    shot(sales, "03-staff-won")
    assert bid.vehicle.status == "reserved"
    assert order.allocations.get().status == "pending"
    assert ledger_check() == []

    page.reload()
    row = bid_row(page, the_lot)
    expect(row).to_contain_text("Won")
    expect(row).to_contain_text("Won for JPY 1,200,000")
    shot(page, "04-bid-history-won")
    row.get_by_role("link", name=order.number).click()
    expect(page).to_have_url(re.compile(rf"/mypage/proformas/{order.proforma.number}/$"))
    expect(page.locator("main")).to_contain_text(f"Order {order.number}")
    expect(page.locator("main")).to_contain_text("Auction fee (JPY 15,000)")


def test_a_lost_bid_gives_the_deposit_back_in_the_payment_manager(
    new_context: Callable[..., BrowserContext], desk
):
    alice, sam, the_lot = desk["alice"], desk["sam"], desk["lot"]
    page = customer_page(new_context(), alice)
    ask_for_a_bid(page, the_lot)

    page.locator("nav.subnav").get_by_role("link", name="Payments", exact=True).click()
    confirmed = page.get_by_role("heading", name="Confirmed payments").locator(
        "xpath=following-sibling::table[1]"
    )
    expect(confirmed.locator("tbody tr")).to_contain_text("USD 4,015.10")

    sales = staff_page(new_context(), sam)
    mark_processed(sales, the_lot)
    lost = sales.locator("section", has=sales.get_by_role("heading", name="Lost", exact=True))
    lost.get_by_label("Sold to another bidder for (JPY, if known)").fill("1900000")
    lost.get_by_role("button", name="Record as lost").click()
    expect(sales.locator(".messages")).to_contain_text(
        "Recorded as lost; the deposit hold is released."
    )

    page.locator("nav.subnav").get_by_role("link", name="Bids", exact=True).click()
    row = bid_row(page, the_lot)
    expect(row).to_contain_text("Lost")
    expect(row).to_contain_text("Sold to another bidder for JPY 1,900,000")
    expect(row).to_contain_text("Deposit hold released")
    page.locator("nav.subnav").get_by_role("link", name="Payments", exact=True).click()
    expect(confirmed.locator("tbody tr")).to_contain_text("USD 5,000.00")
    shot(page, "05-payment-manager-after-loss")
    assert ledger_check() == []

"""Export documents in the browser: logistics upload a B/L and a packing list for an order not yet
paid; the customer can download the packing list at once while the B/L stays locked (the link
answers with what is still owed); accounting approves the allocation that pays the order; the
customer downloads the B/L, byte for byte what was uploaded, and logistics see both downloads in
the log."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from exportdesk.accounts.models import User
from exportdesk.core.money import money_format
from exportdesk.payments.services import allocation_decide, allocation_request
from exportdesk.sales.models import Order
from exportdesk.shipping.models import DocumentDownload, ExportDocument
from tests.conftest import ensure_reference_data
from tests.e2e.conftest import SCREENSHOT_DIR, reject_cookies, sign_in
from tests.factories import PASSWORD, customer, staff, totp_now
from tests.payments.factories import confirmed_deposit, order_for
from tests.stock.factories import mombasa, roro_rate, usd_rate

pytestmark = [pytest.mark.e2e]

OTP_LABEL = "6-digit code from your authenticator app"


def _pdf(text: str) -> bytes:
    return f"%PDF-1.4\n% {text}\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".encode()


BL_BYTES = _pdf("Original bill of lading MOLU1234567, shipper Test Exporter Co., Ltd.")
PACKING_BYTES = _pdf("Packing list: 1 unit Toyota Prius, spare key, owner's manual")


@pytest.fixture
def desk(transactional_db) -> dict[str, object]:
    ensure_reference_data()
    roro_rate(mombasa())
    usd_rate()
    alice = customer("alice@example.com", "KE", name="Alice Wanjiru")
    return {
        "alice": alice,
        "order": order_for(alice),
        "lee": staff("lee.logistics@exporter.example", "logistics"),
        "anna": staff("anna.accounts@exporter.example", "accounting"),
    }


def shot(page: Page, name: str) -> None:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / f"documents-{name}.png"), full_page=True)


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


def customer_page(context: BrowserContext, user: User) -> Page:
    page = context.new_page()
    page.goto("/")
    reject_cookies(page)
    sign_in(page, user.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/mypage/$"))
    return page


def upload(page: Page, kind: str, title: str, file: Path) -> None:
    form = page.locator("form", has=page.get_by_role("button", name="Upload", exact=True))
    form.get_by_label("Document").select_option(label=kind)
    form.get_by_label("Title").fill(title)
    form.get_by_label(re.compile(r"^File \(PDF, JPEG or PNG")).set_input_files(str(file))
    form.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_text(f"{kind} uploaded.")).to_be_visible()


def downloaded_bytes(page: Page, row_name: str) -> bytes:
    row = page.get_by_role("row", name=re.compile(row_name))
    with page.expect_download() as info:
        row.get_by_role("link", name="Download").click()
    path = info.value.path()
    return Path(path).read_bytes()


def test_originals_unlock_when_the_order_is_paid(new_context, desk, tmp_path):
    alice, order, lee, anna = desk["alice"], desk["order"], desk["lee"], desk["anna"]
    assert isinstance(order, Order) and isinstance(alice, User)
    assert isinstance(lee, User) and isinstance(anna, User)
    bl_file, packing_file = tmp_path / "scan-BL.pdf", tmp_path / "packing.pdf"
    bl_file.write_bytes(BL_BYTES)
    packing_file.write_bytes(PACKING_BYTES)

    # Logistics find the order and upload both documents.
    desk_page = staff_page(new_context(), lee)
    desk_page.goto("/backoffice/shipping/documents/")
    desk_page.get_by_label("Search by order number, customer name or e-mail").fill(order.number)
    desk_page.get_by_role("button", name="Search").click()
    desk_page.get_by_role("link", name=order.number).click()
    expect(
        desk_page.get_by_role("heading", name=f"Documents of order {order.number}")
    ).to_be_visible()
    upload(desk_page, "Bill of lading", "MOLU1234567", bl_file)
    upload(desk_page, "Packing list", "", packing_file)
    documents = desk_page.get_by_role("table").first
    expect(documents.get_by_role("row", name=re.compile("Bill of lading"))).to_contain_text(
        "no: after full payment"
    )
    expect(documents.get_by_role("row", name=re.compile("Packing list"))).to_contain_text(lee.email)
    shot(desk_page, "uploaded")
    bl = ExportDocument.objects.get(kind="bill_of_lading")

    # The customer: the packing list downloads, the B/L is locked.
    page = customer_page(new_context(accept_downloads=True), alice)
    page.goto("/mypage/documents/")
    expect(page.get_by_role("heading", name=re.compile(f"^Order {order.number}"))).to_be_visible()
    bl_row = page.get_by_role("row", name=re.compile("Bill of lading"))
    expect(bl_row).to_contain_text("Available after full payment")
    expect(bl_row.get_by_role("link")).to_have_count(0)
    assert downloaded_bytes(page, "Packing list") == PACKING_BYTES
    shot(page, "locked")

    # Someone who keeps the link and opens it early is told what is owed.
    page.goto(f"/mypage/documents/{bl.public_id}/")
    expect(page.get_by_role("heading", name="Available after full payment")).to_be_visible()
    expect(page.get_by_text(money_format(order.total, order.currency)).first).to_be_visible()

    # Accounting approves the allocation that pays the order in full.
    deposit = confirmed_deposit(alice, order.total, staff=anna)
    allocation = allocation_request(
        deposit=deposit, order=order, amount=order.total, requested_by=alice
    )
    allocation_decide(allocation=allocation, staff=anna, approve=True)

    page.goto("/mypage/documents/")
    expect(page.get_by_text("Available after full payment")).to_have_count(0)
    assert downloaded_bytes(page, "Bill of lading") == BL_BYTES
    shot(page, "unlocked")

    # Both downloads are in the log logistics see.
    assert DocumentDownload.objects.filter(user=alice).count() == 2
    desk_page.reload()
    log = desk_page.get_by_role("table").last
    expect(log.get_by_role("row", name=re.compile("the customer"))).to_have_count(2)

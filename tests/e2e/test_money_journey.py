"""The money journey end to end, in the browser: sales issue a proforma, anyone checks it on the
verification page, the customer accepts it and declares the transfer with a slip, accounting
imports the bank statement, confirms the matched credit, the customer asks for the money to be
allocated, accounting approves, the order is paid, and it all shows in the customer's Payment
History and contact history. Another customer cannot open the proforma."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from PIL import Image, ImageDraw
from playwright.sync_api import BrowserContext, Page, expect

from exportdesk.accounts.models import User
from exportdesk.core.money import money_format
from exportdesk.sales.models import BankAccount, Invoice, Order, Proforma
from exportdesk.stock.models import Vehicle
from tests.conftest import ensure_reference_data
from tests.e2e.conftest import SCREENSHOT_DIR, path_of, reject_cookies, sign_in
from tests.factories import PASSWORD, customer, staff, totp_now
from tests.payments.factories import bank_account, mt940, proforma_for
from tests.stock.factories import mombasa, roro_rate, usd_rate, vehicle

pytestmark = [pytest.mark.e2e]

OTP_LABEL = "6-digit code from your authenticator app"
PAYER_BANK = "Equity Bank Kenya"


@pytest.fixture
def desk(transactional_db) -> dict[str, object]:
    """Reference data (flushed by transactional tests), our USD account, a priced Kenyan route,
    a car for sale, two customers and two staff members."""
    ensure_reference_data()
    roro_rate(mombasa())
    usd_rate()
    return {
        "account": bank_account("USD"),
        "car": vehicle(),
        "alice": customer("alice@example.com", "KE", name="Alice Wanjiru"),
        "bob": customer("bob@example.com", "JM", name="Bob Campbell"),
        "sam": staff("sam.sales@exporter.example", "sales"),
        "anna": staff("anna.accounts@exporter.example", "accounting"),
    }


def usd(amount: Decimal) -> str:
    return money_format(amount, "USD")


def shot(page: Page, name: str) -> None:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / f"money-{name}.png"), full_page=True)


def customer_page(context: BrowserContext, user: User) -> Page:
    page = context.new_page()
    page.goto("/")
    reject_cookies(page)
    sign_in(page, user.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/mypage/$"))
    return page


def staff_page(context: BrowserContext, user: User) -> Page:
    """Password through the real sign-in form, then the authenticator code."""
    page = context.new_page()
    page.goto("/")
    reject_cookies(page)
    sign_in(page, user.email, PASSWORD)
    expect(page.get_by_role("heading", name="Second factor")).to_be_visible()
    page.get_by_label(OTP_LABEL).fill(totp_now(user))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/backoffice/$"))
    return page


def slip_png(folder: Path) -> Path:
    """A small but real PNG, like a phone photo of the bank's transfer confirmation."""
    image = Image.new("RGB", (360, 220), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, 350, 210), outline="#2f5fa8", width=4)
    draw.text((24, 30), "EQUITY BANK KENYA - OUTWARD TRANSFER", fill="black")
    draw.text((24, 60), "BENEFICIARY: TEST EXPORTER CO., LTD.", fill="black")
    path = folder / "transfer-slip.png"
    image.save(path, "PNG")
    return path


def row(page: Page, text: str):
    return page.locator("main tbody tr", has_text=text)


def table_after(page: Page, heading: str):
    """The table under a section heading of the page."""
    return page.get_by_role("heading", name=heading, exact=True).locator(
        "xpath=following-sibling::table[1]"
    )


def test_the_whole_money_journey(
    new_context: Callable[..., BrowserContext], desk, tmp_path: Path, live_server
):
    alice, sam, anna = desk["alice"], desk["sam"], desk["anna"]
    car: Vehicle = desk["car"]
    account: BankAccount = desk["account"]

    # --- Sales issue the proforma -----------------------------------------------------------
    sales = staff_page(new_context(), sam)
    sales.goto("/backoffice/sales/proformas/new/")
    form = sales.locator("main form")
    form.get_by_label("Customer's e-mail address").fill(alice.email)
    form.get_by_label("Stock numbers").fill(car.stock_number)
    form.get_by_label("Terms", exact=True).select_option("CNF")
    form.get_by_label("Destination country").select_option("KE")
    form.get_by_label("Port of discharge").select_option(label="Mombasa (Kenya)")
    form.get_by_label("Shipping method").select_option("roro")
    form.get_by_label("Bank account for payment").select_option(label=str(account))
    form.get_by_label("Other charges").fill("Radiator guard = 150")
    form.get_by_label("Notes on the proforma").fill(
        "Please write the proforma number on the transfer."
    )
    form.get_by_role("button", name="Issue and send").click()

    expect(sales).to_have_url(re.compile(r"/backoffice/sales/proformas/PF-\d{4}-\d{5}/$"))
    proforma = Proforma.objects.get(customer=alice)
    total = proforma.total
    assert proforma.currency == "USD" and total > Decimal(150)
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", proforma.verification_code)
    expect(sales.locator(".messages")).to_contain_text(
        f"Proforma {proforma.number} issued and sent."
    )
    main = sales.locator("main")
    expect(main).to_contain_text("Issued, awaiting your acceptance")
    expect(main).to_contain_text(alice.email)
    expect(main.locator(".doc-lines tfoot")).to_contain_text(usd(total))
    expect(main.locator(".doc-lines")).to_contain_text("Radiator guard")
    expect(main.locator(".doc-lines")).to_contain_text(usd(Decimal(150)))
    shot(sales, "01-proforma-issued")
    car.refresh_from_db()
    assert car.status == "reserved"

    # --- The customer finds it among their invoices ------------------------------------------
    page = customer_page(new_context(), alice)
    page.goto("/mypage/invoices/")
    listed = row(page, proforma.number)
    expect(listed).to_contain_text(usd(total))
    expect(listed).to_contain_text("Issued, awaiting your acceptance")
    listed.get_by_role("link", name=proforma.number).click()
    expect(page).to_have_url(re.compile(rf"/mypage/proformas/{proforma.number}/$"))
    qr = page.locator(".doc-qr")
    expect(qr.locator("strong")).to_have_text(proforma.verification_code)
    expect(qr).to_contain_text("/verify/")
    expect(page.locator(".doc-bank")).to_contain_text(account.account_number)
    expect(page.locator(".doc-bank")).to_contain_text(proforma.number)  # the reference to write
    shot(page, "02-proforma-for-customer")
    printed_code = qr.locator("strong").inner_text()

    # --- Anyone can check that it is genuine --------------------------------------------------
    visitor = new_context().new_page()
    visitor.goto("/verify/")
    reject_cookies(visitor)
    visitor.get_by_label("Verification code").fill(printed_code)
    visitor.get_by_role("button", name="Check", exact=True).click()
    expect(visitor).to_have_url(re.compile(rf"/verify/{proforma.verification_code}/$"))
    verdict = visitor.locator(".verified")
    expect(verdict).to_contain_text(f"Genuine document {proforma.number}")
    expect(verdict).to_contain_text(usd(total))
    expect(verdict).to_contain_text(proforma.due_date.isoformat())
    expect(verdict).to_contain_text(account.account_number)
    expect(verdict).to_contain_text(account.bank_name)
    expect(verdict).to_contain_text(account.account_holder)
    expect(visitor.locator("main")).not_to_contain_text(alice.name)  # nothing personal
    expect(visitor.locator("main")).not_to_contain_text(alice.email)
    shot(visitor, "03-verification-page")

    # --- The customer accepts and declares the transfer with its slip ---------------------------
    page.get_by_role("button", name="Accept and place the order").click()
    order = Order.objects.get(proforma=proforma)
    expect(page.locator(".messages")).to_contain_text(f"Your order number is {order.number}")
    expect(page.locator("main")).to_contain_text(f"Order {order.number}: Awaiting payment")
    page.get_by_role("link", name="I have paid: declare the payment").click()
    expect(page).to_have_url(re.compile(rf"/mypage/payments/declare/\?order={order.number}$"))
    form = page.locator("main form")
    expect(form.get_by_label(order.number)).to_be_checked()
    expect(form.get_by_label("Reference written on the transfer")).to_have_value(proforma.number)
    expect(form.get_by_label("Name of the payer")).to_have_value(alice.name)
    expect(form.get_by_label("Currency")).to_have_value("USD")
    form.get_by_label("Amount sent").fill(str(total))
    form.get_by_label("Date of the transfer").fill(timezone.localdate().isoformat())
    form.get_by_label("Payer's bank").fill(PAYER_BANK)
    form.get_by_label("Transfer slip (PDF, JPEG or PNG, up to 10 MB)").set_input_files(
        slip_png(tmp_path)
    )
    shot(page, "04-declaration-form")
    form.get_by_role("button", name="Declare the payment").click()

    expect(page).to_have_url(re.compile(r"/mypage/payments/$"))
    expect(page.locator(".messages")).to_contain_text(
        "Thank you. We will confirm your payment as soon as it reaches our bank."
    )
    pending = table_after(page, "Pending declarations").locator("tbody tr")
    expect(pending).to_have_count(1)
    expect(pending).to_contain_text(usd(total))
    expect(pending).to_contain_text(PAYER_BANK)
    expect(pending).to_contain_text(order.number)
    expect(pending.get_by_role("link", name="View")).to_be_visible()
    owed = table_after(page, "Outstanding balances").locator("tbody tr")
    expect(owed).to_contain_text(order.number)
    expect(owed.locator("td").nth(4)).to_have_text(usd(total))  # still to pay
    expect(table_after(page, "Confirmed payments")).to_contain_text("No confirmed payments yet.")
    shot(page, "05-declaration-pending")
    slip = page.request.get(pending.get_by_role("link", name="View").get_attribute("href") or "")
    assert slip.ok and slip.headers["content-type"] == "image/png"
    assert slip.body().startswith(b"\x89PNG")

    # --- Accounting imports the statement and confirms the matched credit ----------------------
    statement = tmp_path / "mufg-usd.sta"
    statement.write_bytes(mt940([(total, "ALICE WANJIRU", f"PAYMENT {proforma.number}")]))
    books = staff_page(new_context(), anna)
    books.goto("/backoffice/payments/")
    books.get_by_role("link", name="Import a bank statement").click()
    expect(books).to_have_url(re.compile(r"/backoffice/payments/statements/import/$"))
    form = books.locator("main form")
    form.get_by_label("Bank account").select_option(label=str(account))
    form.get_by_label("Statement file (MT940, camt.053 XML or CSV)").set_input_files(statement)
    form.get_by_role("button", name="Import").click()

    expect(books).to_have_url(re.compile(r"/backoffice/payments/$"))
    expect(books.locator(".messages")).to_contain_text(
        "Imported 1 entry (0 already known). 0 payments confirmed automatically."
    )
    expect(books.get_by_role("heading", name="1 incoming payment to match")).to_be_visible()
    credit = table_after(books, "1 incoming payment to match").locator("tbody tr")
    expect(credit).to_have_count(1)
    expect(credit).to_contain_text(f"PAYMENT {proforma.number}")
    expect(credit).to_contain_text(usd(total))
    expect(credit).to_contain_text("ALICE WANJIRU")
    expect(credit).to_contain_text(alice.name)  # the best suggestion
    expect(credit).not_to_contain_text("third party")
    shot(books, "06-queue-after-import")

    credit.get_by_role("link").first.click()
    expect(books).to_have_url(re.compile(r"/backoffice/payments/entries/\d+/$"))
    expect(books.get_by_role("heading", name=f"{usd(total)} ·")).to_be_visible()
    declared = table_after(books, "Suggestions").locator("tbody tr", has_text="Declared")
    expect(declared).to_have_count(1)
    expect(declared).to_contain_text(alice.name)
    expect(declared).to_contain_text(f"Declared {usd(total)}")
    staff_slip = books.request.get(
        declared.get_by_role("link", name="slip").get_attribute("href") or ""
    )
    assert staff_slip.ok and staff_slip.body() == slip.body()  # accounting sees the same slip
    shot(books, "07-entry-suggestions")
    declared.get_by_role("button", name="Confirm", exact=True).click()

    expect(books).to_have_url(re.compile(r"/backoffice/payments/$"))
    expect(books.locator(".messages")).to_contain_text("Payment confirmed.")
    expect(books.get_by_role("heading", name="0 incoming payments to match")).to_be_visible()
    expect(table_after(books, "0 incoming payments to match")).to_contain_text("Nothing to match.")

    # --- The customer sees the deposit and asks for it to be allocated ---------------------------
    page.goto("/mypage/payments/")
    expect(table_after(page, "Pending declarations")).to_contain_text("No pending declarations.")
    deposit_row = table_after(page, "Confirmed payments").locator("tbody tr")
    expect(deposit_row).to_have_count(1)
    expect(deposit_row).to_contain_text("ALICE WANJIRU")
    expect(deposit_row).to_contain_text(usd(total))
    expect(deposit_row.locator("td").last).to_have_text(usd(total))  # all of it unallocated
    form = page.locator("form[action='/mypage/payments/allocate/']")
    deposit_select = form.get_by_label("From the payment")
    expect(deposit_select.locator("option", has_text="USD")).to_have_count(1)
    deposit_select.select_option(index=1)
    order_select = form.get_by_label("To the order")
    order_select.select_option(
        order_select.locator("option", has_text=order.number).get_attribute("value")
    )
    form.get_by_label("Amount (in the payment's currency)").fill(str(total))
    form.get_by_role("button", name="Request allocation").click()

    expect(page).to_have_url(re.compile(r"/mypage/payments/$"))
    expect(page.locator(".messages")).to_contain_text(
        "Allocation requested; accounting will approve it shortly."
    )
    request = table_after(page, "Allocation requests").locator("tbody tr")
    expect(request).to_have_count(1)
    expect(request).to_contain_text(order.number)
    expect(request).to_contain_text(usd(total))
    expect(request).to_contain_text("Waiting for approval")
    owed = table_after(page, "Outstanding balances").locator("tbody tr", has_text=order.number)
    expect(owed.locator("td").nth(3)).to_have_text(usd(total))  # waiting for approval
    expect(owed.locator("td").nth(4)).to_have_text(usd(total))  # still to pay, until approved
    shot(page, "08-allocation-requested")

    # --- Accounting approves --------------------------------------------------------------------
    books.goto("/backoffice/payments/")
    waiting = table_after(books, "Allocations to approve").locator("tbody tr")
    expect(waiting).to_have_count(1)
    expect(waiting).to_contain_text(order.number)
    expect(waiting).to_contain_text(alice.name)
    expect(waiting).to_contain_text(usd(total))
    shot(books, "09-allocation-to-approve")
    waiting.get_by_role("button", name="Approve").click()
    expect(books.locator(".messages")).to_contain_text("Allocation approved.")
    expect(table_after(books, "Allocations to approve")).to_contain_text("No allocations waiting.")

    # --- The order is paid ------------------------------------------------------------------------
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    car.refresh_from_db()
    assert car.status == "sold"
    invoice = Invoice.objects.get(order=order)

    page.goto("/mypage/payments/")
    expect(table_after(page, "Outstanding balances")).to_contain_text("No orders awaiting payment.")
    approved = table_after(page, "Allocation requests").locator("tbody tr")
    expect(approved).to_contain_text(order.number)
    expect(approved.locator("td").nth(3)).to_have_text("Approved")
    expect(table_after(page, "Confirmed payments").locator("tbody tr td").last).to_have_text(
        usd(Decimal(0))
    )  # nothing left unallocated
    shot(page, "10-payment-manager-paid")

    page.goto(f"/mypage/proformas/{proforma.number}/")
    expect(page.locator("main")).to_contain_text(f"Order {order.number}: Paid")
    page.goto("/mypage/invoices/")
    expect(row(page, invoice.number)).to_contain_text(usd(total))

    # --- Payment History and contact history ------------------------------------------------------
    page.goto("/mypage/payment-history/")
    expect(page.get_by_role("heading", name="Payment history")).to_be_visible()
    received = row(page, "Payment received")
    expect(received).to_contain_text("ALICE WANJIRU")
    expect(received).to_contain_text(usd(total))
    allocated = row(page, f"Allocated to order {order.number}")
    expect(allocated).to_contain_text(usd(total))
    shot(page, "11-payment-history")

    page.goto("/mypage/contact-history/")
    timeline = page.locator("ol.timeline")
    for subject in (
        f"Proforma {proforma.number} issued",
        f"Proforma {proforma.number} accepted: order {order.number}",
        f"Payment declared: {usd(total)}",
        f"Payment received: {usd(total)}",
        f"Allocation requested: {usd(total)} to {order.number}",
        f"Allocation approved: {usd(total)} to {order.number} (order paid in full)",
    ):
        expect(timeline.get_by_role("heading", name=subject, exact=True)).to_be_visible()
    approval = timeline.locator("li", has_text="Allocation approved")
    expect(approval).to_contain_text(anna.name)  # signed by the accountant who approved
    shot(page, "12-contact-history")


def test_another_customer_cannot_open_the_proforma(
    new_context: Callable[..., BrowserContext], desk, live_server
):
    proforma = proforma_for(desk["alice"], car=desk["car"])
    page = customer_page(new_context(), desk["bob"])

    response = page.goto(f"/mypage/proformas/{proforma.number}/")

    assert response is not None and response.status == 404
    assert path_of(page.url) == f"/mypage/proformas/{proforma.number}/"
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text(proforma.verification_code)
    page.goto("/mypage/invoices/")
    expect(page.locator("main")).not_to_contain_text(proforma.number)
    expect(page.locator("main")).to_contain_text("No proforma invoices yet.")

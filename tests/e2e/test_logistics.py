"""The logistics desk in the browser: a shipment to Mombasa for a paid order with a consignee,
booked (the record of provision appears among the disclosures), inspected with a certificate,
at the port, loaded, sailed, originals sent by courier, and the board shows where it is."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect

from exportdesk.privacy.models import ProvisionRecord
from exportdesk.shipping.models import CourierDispatch, Shipment, TimelineEvent
from tests.conftest import ensure_reference_data
from tests.e2e.conftest import reject_cookies, sign_in
from tests.factories import PASSWORD, customer, totp_now
from tests.shipping.logistics import (
    QISJ,
    agency,
    courier,
    officer,
    pdf,
    shippable_order,
    shipping_line,
)

pytestmark = [pytest.mark.e2e]

OTP_LABEL = "6-digit code from your authenticator app"


def _desk_page(make_context: Callable[..., BrowserContext]) -> Page:
    lee = officer()
    page = make_context().new_page()
    page.goto("/")
    reject_cookies(page)
    sign_in(page, lee.email, PASSWORD)
    page.get_by_label(OTP_LABEL).fill(totp_now(lee))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/backoffice/$"))
    return page


def _record_step(page: Page, step: str) -> None:
    form = page.locator("form#step")
    form.get_by_label("Step").select_option(label=step)
    form.get_by_role("button", name="Record the step").click()
    expect(page.get_by_text(f": {step} recorded.")).to_be_visible()


def test_a_logistics_officer_ships_a_paid_order_to_mombasa(
    new_context: Callable[..., BrowserContext], transactional_db, tmp_path: Path, screenshot_dir
):
    ensure_reference_data()
    alice = customer("alice@example.com", "KE", name="Alice Wanjiru")
    order = shippable_order(alice)
    shipping_line()
    agency()
    courier()
    today = timezone.localdate()
    page = _desk_page(new_context)

    # A new shipment to Mombasa with the shipping line from the recipient registry.
    page.goto("/backoffice/shipping/")
    expect(page.get_by_role("heading", name="Logistics board")).to_be_visible()
    page.get_by_role("link", name="New shipment").click()
    form = page.locator("main form.card")
    form.get_by_label("Method").select_option(label="RoRo")
    form.get_by_label("Port of loading").fill("Yokohama")
    form.get_by_label("Port of discharge").select_option(label="Mombasa (Kenya)")
    form.get_by_label("Shipping line").select_option(label="Nordic RoRo Carriers AS (NO)")
    form.get_by_label("Vessel").fill("Hoegh Trigger")
    form.get_by_label("Voyage").fill("112W")
    form.get_by_label("Cut-off date").fill(f"{today + timedelta(days=3):%Y-%m-%d}")
    form.get_by_label("ETD").fill(f"{today + timedelta(days=5):%Y-%m-%d}")
    form.get_by_label("ETA").fill(f"{today + timedelta(days=30):%Y-%m-%d}")
    form.get_by_role("button", name="Save").click()
    reference = Shipment.objects.get().reference
    expect(page.get_by_text(f"Shipment {reference} created.")).to_be_visible()

    # The paid order with its consignee joins, and the booking hands the details over.
    add = page.locator("form#add-order")
    add.get_by_label("Order number").fill(order.number)
    add.get_by_role("button", name="Add the order").click()
    expect(page.get_by_text(f"Order {order.number} added to {reference}.")).to_be_visible()
    expect(page.get_by_role("cell", name="Kamau Motors Ltd").first).to_be_visible()
    page.locator("form#book").get_by_role("button", name="Book the shipment").click()
    expect(page.get_by_text(f"{reference} booked; 3 records of provision written.")).to_be_visible()

    # Back office → Records of provision: the consignee's record names the shipping line.
    page.goto("/backoffice/privacy/provisions/")
    row = page.get_by_role("row").filter(has_text="Kamau Motors Ltd")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Nordic RoRo Carriers AS")
    expect(row).to_contain_text("ID or tax number")
    expect(row).to_contain_text(f"Booking of shipment {reference}")
    assert ProvisionRecord.objects.count() == 3

    # Kenya requires its inspection: booked with the agency, passed with the certificate.
    page.goto(f"/backoffice/shipping/orders/{order.number}/")
    expect(page.get_by_text(f"{QISJ}:")).to_contain_text("missing")
    page.get_by_role("link", name="Book an inspection").click()
    form = page.locator("main form.card")
    form.get_by_label("Inspection agency").select_option(
        label="Kanto Pre-Shipment Inspection Co. (JP)"
    )
    expect(form.get_by_label("Inspection", exact=True)).to_have_value(QISJ)
    form.get_by_label("Booked for").fill(f"{today:%Y-%m-%d}")
    form.get_by_role("button", name="Book").click()
    expect(
        page.get_by_text("Inspection booked with Kanto Pre-Shipment Inspection Co.")
    ).to_be_visible()
    page.get_by_role("link", name="Record the result").click()
    certificate = tmp_path / "certificate.pdf"
    certificate.write_bytes(pdf())
    form = page.locator("main form.card")
    form.get_by_label("Passed").check()
    form.get_by_label("Certificate", exact=True).set_input_files(str(certificate))
    form.get_by_label("Certificate number").fill("QISJ-2026-0042")
    form.get_by_role("button", name="Record the result").click()
    expect(page.get_by_text("Inspection result recorded.")).to_be_visible()
    expect(page.get_by_text(f"{QISJ}:")).to_contain_text("passed")
    expect(page.get_by_role("link", name="QISJ-2026-0042")).to_be_visible()

    # The shipment's steps: at the port, loaded, sailed.
    page.get_by_role("link", name=reference).first.click()
    for step in ("At the port", "Loaded", "Sailed"):
        _record_step(page, step)
    expect(page.locator("dl.profile")).to_contain_text("Sailed")

    # The originals go by courier; the order's timeline shows the tracking number.
    page.get_by_role("link", name=order.number).click()
    page.get_by_role("link", name="Record a courier dispatch").click()
    form = page.locator("main form.card")
    form.get_by_label("Carrier").select_option(label="DHL Express (JP)")
    form.get_by_label("Tracking number").fill("1234567890")
    form.get_by_label("Bill of lading").check()
    form.get_by_label("Export certificate (deregistration)").check()
    expect(form.get_by_label("Addressed to")).to_have_value(str(order.parties.consignee_id))
    form.get_by_role("button", name="Record the dispatch").click()
    expect(
        page.get_by_text("Dispatch recorded; the customer is told the tracking number.")
    ).to_be_visible()
    expect(page.get_by_role("cell", name="DHL Express 1234567890")).to_be_visible()
    assert CourierDispatch.objects.get().tracking_number == "1234567890"
    assert ProvisionRecord.objects.filter(recipient__name="DHL Express").count() == 1
    assert list(TimelineEvent.objects.filter(order=order).values_list("status", flat=True)) == [
        "inspected",
        "at_port",
        "loaded",
        "sailed",
        "couriered",
    ]
    page.screenshot(path=str(screenshot_dir / "logistics-order.png"), full_page=True)

    # The board shows the shipment sailed, its inspection done.
    page.goto("/backoffice/shipping/")
    row = page.get_by_role("row").filter(has_text=reference)
    expect(row).to_contain_text("Sailed")
    expect(row).to_contain_text("Hoegh Trigger 112W")
    expect(row).not_to_contain_text("overdue")
    page.screenshot(path=str(screenshot_dir / "logistics-board.png"), full_page=True)

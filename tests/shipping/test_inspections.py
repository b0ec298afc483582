"""Pre-shipment inspections: required by the destination's rules, booked with an agency (a record
of provision), passed with a checked certificate, and guarding the loading of the ship."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from exportdesk.privacy.models import ProvisionRecord
from exportdesk.privacy.restrictions import restriction_add
from exportdesk.shipping.inspections import (
    inspection_book,
    inspection_passed,
    inspection_requirements,
    inspection_result_record,
    inspections_missing,
)
from exportdesk.shipping.models import Inspection, Shipment, TimelineEvent
from exportdesk.shipping.parties import ShippingRefused
from exportdesk.shipping.shipments import timeline_event_record
from exportdesk.stock.models import DestinationRule
from tests.conftest import staff_login
from tests.factories import staff
from tests.shipping.logistics import (
    QISJ,
    agency,
    forwarder,
    officer,
    passed_inspection,
    pdf,
    png,
    shipment,
    shippable_order,
    upload,
)

pytestmark = pytest.mark.django_db

Status = Shipment.Status


def text_of(response: Any) -> str:
    return unescape(response.content.decode())


@pytest.fixture
def desk(client: Client) -> Client:
    return staff_login(client, officer())


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def at_port(*orders: Any) -> Shipment:
    the_shipment = shipment(*orders, book=True)
    timeline_event_record(shipment=the_shipment, status=Status.AT_PORT, actor=officer())
    return the_shipment


# --- What the destination requires ---------------------------------------------------------------


def test_kenya_requires_its_pre_shipment_inspection(alice):
    order = shippable_order(alice)

    [requirement] = inspection_requirements(order)

    assert requirement.kind == QISJ
    assert requirement.country == "KE"
    assert inspection_passed(order) is False


def test_a_rule_no_longer_in_force_requires_nothing(alice):
    order = shippable_order(alice)
    DestinationRule.objects.filter(country="KE", kind="inspection").update(
        effective_to=timezone.localdate() - timedelta(days=1)
    )

    assert inspection_requirements(order) == []
    assert inspections_missing([order]) == {order.pk: []}


def test_the_order_page_shows_a_required_inspection_as_missing(desk, alice):
    order = shippable_order(alice)

    page = text_of(desk.get(f"/backoffice/shipping/orders/{order.number}/"))

    words = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert f"{QISJ}: missing" in words
    assert "(required for Kenya)" in page


# --- The ship is not loaded without it -----------------------------------------------------------


def test_loading_is_refused_without_a_passed_inspection_and_allowed_after_one(desk, alice):
    order = shippable_order(alice)
    the_shipment = at_port(order)
    url = f"/backoffice/shipping/shipments/{the_shipment.reference}/steps/"

    refused = desk.post(url, {"step-status": Status.LOADED})

    assert refused.status_code == 400
    assert f"{the_shipment.reference} cannot be marked loaded." in text_of(refused)
    assert f"Order {order.number} needs a passed inspection: {QISJ}." in text_of(refused)
    assert not TimelineEvent.objects.filter(status=Status.LOADED).exists()
    the_shipment.refresh_from_db()
    assert the_shipment.status == Status.AT_PORT

    passed_inspection(order)
    allowed = desk.post(url, {"step-status": Status.LOADED})

    assert allowed.status_code == 302
    the_shipment.refresh_from_db()
    assert the_shipment.status == Status.LOADED


def test_a_failed_or_merely_booked_inspection_does_not_let_the_car_load(alice):
    order = shippable_order(alice)
    the_shipment = at_port(order)
    booked = inspection_book(
        order=order, agency=agency(), kind=QISJ, booked_for=date(2030, 5, 2), actor=officer()
    )
    with pytest.raises(ShippingRefused, match="needs a passed inspection"):
        timeline_event_record(shipment=the_shipment, status=Status.LOADED, actor=officer())

    inspection_result_record(inspection=booked, passed=False, actor=officer())
    with pytest.raises(ShippingRefused, match="needs a passed inspection"):
        timeline_event_record(shipment=the_shipment, status=Status.LOADED, actor=officer())


def test_one_uninspected_order_holds_the_whole_shipment(alice, bob):
    inspected, uninspected = shippable_order(alice), shippable_order(alice)
    passed_inspection(inspected)
    the_shipment = at_port(inspected, uninspected)

    with pytest.raises(ShippingRefused) as refused:
        timeline_event_record(shipment=the_shipment, status=Status.LOADED, actor=officer())

    assert f"Order {uninspected.number} needs" in str(refused.value)
    assert f"Order {inspected.number}" not in str(refused.value)


# --- Booking hands data to the agency ------------------------------------------------------------


def test_booking_an_inspection_records_the_provision_to_the_agency(desk, alice):
    order = shippable_order(alice)
    url = f"/backoffice/shipping/orders/{order.number}/inspections/new/"
    form = desk.get(url)
    assert form.status_code == 200 and QISJ in text_of(form)

    response = desk.post(
        url, {"agency": str(agency().pk), "kind": QISJ, "booked_for": "2030-05-02"}
    )

    assert response.status_code == 302
    inspection = Inspection.objects.get()
    assert (inspection.kind, inspection.required, inspection.result) == (QISJ, True, "booked")
    records = ProvisionRecord.objects.filter(recipient=agency())
    # The importer (consignee) and the customer; the notify party does not go to the agency.
    assert {(r.user_id, r.subject_name) for r in records} == {
        (alice.pk, ""),
        (None, "Kamau Motors Ltd"),
    }
    assert {r.context_type for r in records} == {"shipping.inspection"}
    assert {r.context_id for r in records} == {str(inspection.pk)}


def test_a_restricted_disclosure_refuses_the_inspection_booking(desk, alice):
    order = shippable_order(alice)
    restriction_add(user=alice, scope="disclosure", actor=alice)

    response = desk.post(
        f"/backoffice/shipping/orders/{order.number}/inspections/new/",
        {"agency": str(agency().pk), "kind": QISJ, "booked_for": "2030-05-02"},
    )

    assert response.status_code == 400
    assert "has restricted new disclosures of their data" in text_of(response)
    assert not Inspection.objects.exists()
    assert not ProvisionRecord.objects.exists()


def test_only_an_inspection_agency_inspects_and_only_once_at_a_time(alice):
    order = shippable_order(alice)
    with pytest.raises(ShippingRefused, match="not registered as an inspection agency"):
        inspection_book(
            order=order, agency=forwarder(), kind=QISJ, booked_for=None, actor=officer()
        )
    inspection_book(order=order, agency=agency(), kind=QISJ, booked_for=None, actor=officer())
    with pytest.raises(ShippingRefused, match="already booked"):
        inspection_book(order=order, agency=agency(), kind=QISJ, booked_for=None, actor=officer())


# --- Results and certificates --------------------------------------------------------------------


def _booked(order: Any) -> Inspection:
    return inspection_book(
        order=order, agency=agency(), kind=QISJ, booked_for=date(2030, 5, 2), actor=officer()
    )


def test_a_pass_with_its_certificate_moves_the_order_to_inspected(desk, alice):
    order = shippable_order(alice)
    inspection = _booked(order)

    response = desk.post(
        f"/backoffice/shipping/inspections/{inspection.pk}/result/",
        {
            "result": "passed",
            "certificate": upload(png(), name="Wanjiru passport scan.png"),
            "certificate_number": "QISJ-2026-0042",
        },
    )

    assert response.status_code == 302
    inspection.refresh_from_db()
    assert inspection.result == "passed" and inspection.result_at is not None
    assert inspection.certificate_number == "QISJ-2026-0042"
    # Stored under a random name: nothing of the uploaded name survives.
    assert "Wanjiru" not in inspection.certificate.name
    assert inspection.certificate.name.endswith(".png")
    assert inspection_passed(order) is True
    step = TimelineEvent.objects.get(order=order)
    assert (step.status, step.note) == (Status.INSPECTED, QISJ)

    certificate = desk.get(f"/backoffice/shipping/inspections/{inspection.pk}/certificate/")
    assert certificate.status_code == 200
    assert certificate["Content-Type"] == "image/png"
    assert certificate["X-Content-Type-Options"] == "nosniff"
    assert b"".join(certificate.streaming_content) == png()


def test_a_pass_needs_a_real_certificate(desk, alice):
    inspection = _booked(shippable_order(alice))
    url = f"/backoffice/shipping/inspections/{inspection.pk}/result/"

    missing = desk.post(url, {"result": "passed"})
    assert missing.status_code == 400
    assert "Attach the inspection certificate of a passed inspection." in text_of(missing)

    disguised = desk.post(
        url,
        {"result": "passed", "certificate": upload(b"MZ\x90\x00 not a pdf", name="cert.pdf")},
    )
    assert disguised.status_code == 400
    assert "must be a PDF, JPEG or PNG file" in text_of(disguised)

    truncated = desk.post(
        url, {"result": "passed", "certificate": upload(pdf()[:-7], name="cert.pdf")}
    )
    assert truncated.status_code == 400
    assert "incomplete or damaged" in text_of(truncated)

    inspection.refresh_from_db()
    assert inspection.result == "booked" and not inspection.certificate
    assert stored_files() == []


def test_a_result_is_recorded_once(alice):
    inspection = _booked(shippable_order(alice))
    inspection_result_record(inspection=inspection, passed=False, actor=officer())

    with pytest.raises(ShippingRefused, match="already recorded"):
        inspection_result_record(
            inspection=inspection, passed=True, certificate=upload(pdf()), actor=officer()
        )


def test_a_late_re_inspection_leaves_the_timeline_alone(alice):
    order = shippable_order(alice)
    passed_inspection(order)
    the_shipment = at_port(order)
    timeline_event_record(shipment=the_shipment, status=Status.LOADED, actor=officer())
    again = inspection_book(
        order=order,
        agency=agency(),
        kind="Roadworthiness re-check",
        booked_for=None,
        actor=officer(),
    )

    inspection_result_record(
        inspection=again, passed=True, certificate=upload(pdf()), actor=officer()
    )

    assert list(TimelineEvent.objects.filter(order=order).values_list("status", flat=True)) == [
        "inspected",
        "at_port",
        "loaded",
    ]


@pytest.mark.parametrize("who", ["customer", "accountant"])
def test_inspection_pages_refuse_customers_and_staff_without_the_permission(client, alice, who):
    order = shippable_order(alice)
    inspection = passed_inspection(order)
    booked = inspection_book(
        order=order, agency=agency(), kind="Re-check", booked_for=None, actor=officer()
    )
    if who == "customer":
        client.force_login(alice)
    else:
        staff_login(client, staff("acc.two@exporter.example", "accounting"))

    for method, url in [
        ("get", f"/backoffice/shipping/orders/{order.number}/inspections/new/"),
        ("post", f"/backoffice/shipping/orders/{order.number}/inspections/new/"),
        ("get", f"/backoffice/shipping/inspections/{booked.pk}/result/"),
        ("post", f"/backoffice/shipping/inspections/{booked.pk}/result/"),
        ("get", f"/backoffice/shipping/inspections/{inspection.pk}/certificate/"),
    ]:
        response = getattr(client, method)(url, {"result": "failed"} if method == "post" else None)
        assert response.status_code == 403, (method, url)
    booked.refresh_from_db()
    assert booked.result == "booked"

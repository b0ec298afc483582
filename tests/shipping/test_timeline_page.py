"""The order's Shipping page: consignee, the timeline in order with dates and notes, the vessel
and B/L once booked, the courier's tracking number, and the documents; only for its customer."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from exportdesk.accounts.models import User
from exportdesk.sales.models import Order
from exportdesk.shipping.models import (
    CourierDispatch,
    Party,
    Shipment,
    ShipmentOrder,
    TimelineEvent,
)
from exportdesk.shipping.parties import order_parties_choose
from tests.factories import staff
from tests.payments.factories import order_for
from tests.shipping.test_parties import consignee, text_of
from tests.stock.factories import mombasa

pytestmark = pytest.mark.django_db

DAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def officer() -> User:
    return staff("lee.logistics@exporter.example", "logistics")


@pytest.fixture
def order(alice) -> Order:
    return order_for(alice)


@pytest.fixture
def party(alice, order) -> Party:
    chosen = consignee(alice)
    order_parties_choose(order=order, consignee=chosen, notify=None, customer=alice)
    return chosen


def shipment_for(order: Order, officer: User) -> Shipment:
    shipment = Shipment.objects.create(
        reference="SH-2026-0007",
        method="roro",
        port_of_loading="Yokohama",
        port_of_discharge=mombasa(),
        vessel="Morning Cornelia",
        voyage="125A",
        etd=date(2026, 3, 10),
        eta=date(2026, 4, 2),
        bl_number="MOLU1234567890",
        bl_type=Shipment.BLType.SURRENDERED,
        status=Shipment.Status.SAILED,
        created_at=timezone.now(),
        created_by=officer,
    )
    ShipmentOrder.objects.create(shipment=shipment, order=order)
    return shipment


def step(
    order: Order, status: str, days: int, note: str = "", shipment: Shipment | None = None
) -> TimelineEvent:
    return TimelineEvent.objects.create(
        order=order,
        shipment=shipment,
        status=status,
        happened_at=DAY + timedelta(days=days),
        note=note,
        created_at=timezone.now(),
    )


def page_of(client: Client, order: Order) -> str:
    response = client.get(f"/mypage/orders/{order.number}/shipping/")
    assert response.status_code == 200
    return text_of(response)


def test_a_new_order_shows_its_consignee_and_what_is_still_to_come(alice_client, order, party):
    page = page_of(alice_client, order)

    assert f"Shipping of order {order.number}" in page
    assert "Kamau Motors Ltd" in page and "A123456789B" in page
    assert "No steps recorded yet." in page
    assert "Not booked on a vessel yet." in page
    assert "Not sent yet." in page
    still = page.split("Still to come", 1)[1]
    assert still.index("Purchased") < still.index("Loaded") < still.index("Delivered")


def test_the_timeline_lists_the_steps_in_order_with_dates_and_notes(
    alice_client, order, party, officer
):
    shipment = shipment_for(order, officer)
    # Recorded out of order: the page sorts by when each step happened.
    step(order, Shipment.Status.SAILED, 9, "Left Yokohama on schedule.", shipment)
    step(order, Shipment.Status.PURCHASED, 0)
    step(order, Shipment.Status.EXPORT_CERTIFICATE, 3, "Deregistered.")
    step(order, Shipment.Status.LOADED, 8, "", shipment)

    page = page_of(alice_client, order)

    timeline = page.split('id="timeline"', 1)[1].split("</ol>", 1)[0]
    positions = [
        timeline.index(label)
        for label in ("Purchased", "Export certificate issued", "Loaded", "Sailed")
    ]
    assert positions == sorted(positions)
    assert "Left Yokohama on schedule." in timeline and "Deregistered." in timeline
    assert 'datetime="2026-03-11T' in timeline  # sailed: day 9
    to_come = page.split('id="steps-to-come"', 1)[1].split("</ol>", 1)[0]
    assert "Arrived" in to_come and "Delivered" in to_come and "Sailed" not in to_come


def test_the_vessel_and_bill_of_lading_show_once_booked(alice_client, order, party, officer):
    shipment_for(order, officer)

    page = page_of(alice_client, order)

    section = page.split('id="shipment"', 1)[1].split("</dl>", 1)[0]
    for shown in (
        "Morning Cornelia",
        "125A",
        "2026-04-02",
        "MOLU1234567890",
        "Surrendered (telex release)",
        "Mombasa",
    ):
        assert shown in section


def test_the_couriers_tracking_number_shows_once_dispatched(alice_client, order, party, officer):
    CourierDispatch.objects.create(
        order=order,
        carrier="DHL",
        tracking_number="1234567890",
        documents="Original B/L, export certificate",
        addressed_to=party,
        dispatched_at=DAY,
        recorded_by=officer,
    )

    page = page_of(alice_client, order)

    couriers = page.split('id="couriers"', 1)[1].split("</table>", 1)[0]
    assert "DHL" in couriers and "1234567890" in couriers and "Original B/L" in couriers


def test_the_documents_section_is_there(alice_client, order, party):
    page = page_of(alice_client, order)
    documents = page.split('id="documents-heading"', 1)[1]
    assert "Documents" in documents and "No documents yet" in documents


def test_another_customers_order_is_not_found(client, bob, order, party):
    client.force_login(bob)
    assert client.get(f"/mypage/orders/{order.number}/shipping/").status_code == 404
    assert client.get("/mypage/orders/ORD-0000-00000/shipping/").status_code == 404
    assert order.number not in text_of(client.get("/mypage/shipments/"))


def test_staff_get_no_customers_shipping_page(client, order, party, officer):
    client.force_login(officer)
    assert client.get(f"/mypage/orders/{order.number}/shipping/").status_code == 404


def test_the_page_needs_a_sign_in(client, order):
    response = client.get(f"/mypage/orders/{order.number}/shipping/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_shipments_list_shows_each_order_with_its_consignee_and_latest_step(
    alice_client, alice, order, party
):
    step(order, Shipment.Status.PURCHASED, 0)
    step(order, Shipment.Status.INSPECTED, 4)
    other = order_for(alice)

    page = text_of(alice_client.get("/mypage/shipments/"))

    assert order.number in page and other.number in page
    row = page.split(order.number, 1)[1].split("</tr>", 1)[0]
    assert "Kamau Motors Ltd" in row and "Inspected (2026-03-06)" in row
    other_row = page.split(other.number, 1)[1].split("</tr>", 1)[0]
    assert "Choose the consignee" in other_row


def test_the_page_costs_the_same_queries_however_long_the_timeline(
    alice_client, order, party, officer
):
    shipment = shipment_for(order, officer)
    step(order, Shipment.Status.PURCHASED, 0)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            page_of(alice_client, order)
        return len(captured)

    queries()  # the first request of the session warms caches (content types, site)
    few = queries()
    for n, status in enumerate(
        [Shipment.Status.EXPORT_CERTIFICATE, Shipment.Status.LOADED, Shipment.Status.SAILED], 1
    ):
        step(order, status, n, f"note {n}", shipment)
    assert queries() == few


def test_the_shipments_list_costs_the_same_queries_however_many_orders(
    alice_client, alice, order, party
):
    step(order, Shipment.Status.PURCHASED, 0)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert alice_client.get("/mypage/shipments/").status_code == 200
        return len(captured)

    queries()
    few = queries()
    for _ in range(3):
        more = order_for(alice)
        order_parties_choose(order=more, consignee=party, notify=None, customer=alice)
        step(more, Shipment.Status.PURCHASED, 1)
    assert queries() == few

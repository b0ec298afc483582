"""Shipments on the logistics desk: creating and editing them, which orders may travel, booking
with its records of provision, the timeline's steps and e-mails, couriers of originals, and who
may open any of it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from html import unescape
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from exportdesk.messaging.models import ContactEvent
from exportdesk.privacy.models import ProvisionRecord
from exportdesk.privacy.restrictions import restriction_add
from exportdesk.sales.models import Order
from exportdesk.shipping.models import (
    CourierDispatch,
    DocumentKind,
    Shipment,
    ShipmentOrder,
    TimelineEvent,
)
from exportdesk.shipping.parties import ShippingRefused, shipping_notices_set
from exportdesk.shipping.shipments import (
    courier_dispatch_record,
    courier_mark_delivered,
    shipment_book,
    shipment_create,
    shipment_order_add,
    shipment_order_remove,
    shipment_update,
    timeline_event_record,
)
from tests.conftest import staff_login
from tests.factories import customer, staff
from tests.payments.factories import order_for, sales_person
from tests.shipping.logistics import (
    consignee,
    courier,
    customs_broker,
    details,
    forwarder,
    officer,
    passed_inspection,
    shipment,
    shippable_order,
    shipping_line,
)
from tests.stock.factories import kingston

pytestmark = pytest.mark.django_db

Status = Shipment.Status


def text_of(response: Any) -> str:
    return unescape(response.content.decode())


@pytest.fixture
def desk(client: Client) -> Client:
    return staff_login(client, officer())


def loaded(*orders: Order) -> Shipment:
    """Booked, at the port and loaded, every order with its passed inspection."""
    for order in orders:
        passed_inspection(order)
    the_shipment = shipment(*orders, book=True)
    timeline_event_record(shipment=the_shipment, status=Status.AT_PORT, actor=officer())
    timeline_event_record(shipment=the_shipment, status=Status.LOADED, actor=officer())
    the_shipment.refresh_from_db()
    return the_shipment


# --- Creating and editing -----------------------------------------------------------------------


def test_it_creates_shipments_numbered_per_year(desk):
    shipping_line()
    year = timezone.localdate().year
    form = {
        "method": "roro",
        "port_of_loading": "Yokohama",
        "port_of_discharge": str(kingston().pk),
        "shipping_line": str(shipping_line().pk),
        "vessel": "Hoegh Trigger",
        "voyage": "112W",
        "cutoff_date": "2030-05-01",
        "etd": "2030-05-04",
        "eta": "2030-06-01",
        "bl_type": "surrendered",
    }

    first = desk.post("/backoffice/shipping/shipments/new/", form)
    second = desk.post("/backoffice/shipping/shipments/new/", form)

    assert first.status_code == 302 and second.status_code == 302
    references = list(Shipment.objects.order_by("pk").values_list("reference", flat=True))
    assert references == [f"SHP-{year}-0001", f"SHP-{year}-0002"]
    page = desk.get(first["Location"])
    assert f"SHP-{year}-0001" in text_of(page)
    assert "Surrendered (telex release)" in text_of(page)


def test_an_eta_before_the_etd_is_refused_and_nothing_is_created(desk):
    response = desk.post(
        "/backoffice/shipping/shipments/new/",
        {
            "method": "roro",
            "port_of_loading": "Yokohama",
            "port_of_discharge": str(kingston().pk),
            "etd": "2030-05-04",
            "eta": "2030-05-01",
        },
    )

    assert response.status_code == 400
    assert "The ETA must be on or after the ETD." in text_of(response)
    assert not Shipment.objects.exists()


def test_a_forwarder_cannot_stand_in_for_the_shipping_line():
    with pytest.raises(ShippingRefused, match="is not registered as a shipping line"):
        shipment_create(details=details(shipping_line=forwarder()), actor=officer())
    assert not Shipment.objects.exists()


def test_edit_keeps_the_port_while_orders_go_there(alice):
    order = shippable_order(alice)
    the_shipment = shipment(order)

    with pytest.raises(ShippingRefused, match="Remove the orders before changing the port"):
        shipment_update(shipment=the_shipment, details=details(port=kingston()), actor=officer())


def test_the_edit_page_saves_the_vessel_and_bl(desk, alice):
    the_shipment = shipment()
    url = f"/backoffice/shipping/shipments/{the_shipment.reference}/edit/"
    page = desk.get(url)
    assert page.status_code == 200 and "Hoegh Trigger" in text_of(page)

    response = desk.post(
        url,
        {
            "method": "roro",
            "port_of_loading": "Yokohama",
            "port_of_discharge": str(the_shipment.port_of_discharge_id),
            "shipping_line": str(shipping_line().pk),
            "vessel": "Hoegh Tracer",
            "voyage": "113W",
            "bl_number": "NRC123456789",
            "bl_type": "original",
        },
    )

    assert response.status_code == 302
    the_shipment.refresh_from_db()
    assert (the_shipment.vessel, the_shipment.bl_number) == ("Hoegh Tracer", "NRC123456789")


# --- Which orders travel ------------------------------------------------------------------------


def _add(desk: Client, the_shipment: Shipment, number: str) -> Any:
    return desk.post(
        f"/backoffice/shipping/shipments/{the_shipment.reference}/orders/",
        {"order_number": number},
    )


def test_a_paid_order_with_a_consignee_joins_and_a_partly_paid_one_too(desk, alice):
    paid = shippable_order(alice)
    partly = shippable_order(alice, paid=Decimal("1000.00"))
    assert partly.status == Order.Status.OPEN
    the_shipment = shipment()

    assert _add(desk, the_shipment, paid.number).status_code == 302
    assert _add(desk, the_shipment, partly.number.lower()).status_code == 302

    assert set(the_shipment.items.values_list("order__number", flat=True)) == {
        paid.number,
        partly.number,
    }


def test_orders_that_cannot_travel_are_refused_with_the_reason(desk, alice):
    unpaid = order_for(alice)
    the_shipment = shipment()

    response = _add(desk, the_shipment, unpaid.number)
    assert response.status_code == 400
    page = text_of(response)
    assert f"Order {unpaid.number} has no payment yet" in page
    assert f"Order {unpaid.number} has no consignee yet" in page

    response = _add(desk, the_shipment, "ORD-1999-00001")
    assert response.status_code == 400
    assert "There is no order ORD-1999-00001." in text_of(response)
    assert not ShipmentOrder.objects.exists()


def test_an_order_travels_in_one_shipment_at_a_time(alice):
    order = shippable_order(alice)
    first = shipment(order)
    second = shipment()

    with pytest.raises(ShippingRefused, match=f"already in shipment {first.reference}"):
        shipment_order_add(shipment=second, order=order, actor=officer())


def test_an_order_must_go_to_the_shipments_port(desk, alice):
    order = shippable_order(alice)
    to_kingston = shipment(port=kingston())

    response = _add(desk, to_kingston, order.number)

    assert response.status_code == 400
    assert f"Order {order.number} goes to Mombasa (Kenya), not Kingston (Jamaica)." in text_of(
        response
    )


def test_removing_an_order_frees_it_until_the_car_is_loaded(alice):
    order = shippable_order(alice)
    the_shipment = shipment(order)
    shipment_order_remove(shipment=the_shipment, order=order, actor=officer())
    assert not ShipmentOrder.objects.exists()

    other = shippable_order(alice)
    on_board = loaded(other)
    with pytest.raises(ShippingRefused, match="already loaded"):
        shipment_order_remove(shipment=on_board, order=other, actor=officer())
    with pytest.raises(ShippingRefused, match="already loaded"):
        shipment_order_add(shipment=on_board, order=order, actor=officer())


# --- Booking and records of provision -----------------------------------------------------------


def test_booking_writes_one_record_per_person_and_recipient(desk, alice):
    order = shippable_order(alice)
    the_shipment = shipment(order, forwarder=forwarder(), customs_broker=customs_broker())

    response = desk.post(f"/backoffice/shipping/shipments/{the_shipment.reference}/book/")

    assert response.status_code == 302
    the_shipment.refresh_from_db()
    assert the_shipment.booked_at is not None
    records = ProvisionRecord.objects.select_related("recipient")
    # Three people (customer, consignee, notify party) to three recipients.
    assert records.count() == 9
    for recipient in (shipping_line(), forwarder(), customs_broker()):
        about = {(r.user_id, r.subject_name) for r in records.filter(recipient=recipient)}
        assert about == {
            (alice.pk, ""),
            (None, "Kamau Motors Ltd"),
            (None, "Coast Clearing Agents"),
        }
    consignee_record = records.get(recipient=shipping_line(), subject_name="Kamau Motors Ltd")
    assert consignee_record.subject_email == "imports@kamau.example"
    assert consignee_record.data_items == [
        "name",
        "company",
        "address",
        "country",
        "phone number",
        "e-mail address",
        "ID or tax number",
    ]
    assert consignee_record.legal_basis == "contract"
    assert consignee_record.context_type == "shipping.shipment"
    assert consignee_record.context_id == str(the_shipment.pk)
    customer_record = records.get(recipient=shipping_line(), user=alice)
    assert customer_record.data_items == ["name", "company", "country"]
    page = text_of(desk.get(response["Location"]))
    assert "booked; 9 records of provision written." in page


def test_the_customer_as_their_own_consignee_is_one_person(alice):
    own = consignee(alice, name=alice.name, email=alice.email, company="")
    order = shippable_order(alice, the_consignee=own, notify=False)
    the_shipment = shipment(order)

    records = shipment_book(shipment=the_shipment, actor=officer())

    assert len(records) == 1
    assert records[0].user_id == alice.pk
    # Her profile's company and country, then what the address-book entry adds.
    assert records[0].data_items == [
        "name",
        "company",
        "country",
        "address",
        "phone number",
        "e-mail address",
        "ID or tax number",
    ]


def test_one_consignee_on_two_orders_is_recorded_once(alice):
    the_consignee = consignee(alice)
    first = shippable_order(alice, the_consignee=the_consignee, notify=False)
    second = shippable_order(alice, the_consignee=the_consignee, notify=False)

    records = shipment_book(shipment=shipment(first, second), actor=officer())

    assert len(records) == 2
    assert {(r.user_id, r.subject_name) for r in records} == {
        (alice.pk, ""),
        (None, "Kamau Motors Ltd"),
    }


def test_a_restricted_customer_stops_the_booking_and_nothing_is_written(desk, alice):
    order = shippable_order(alice)
    the_shipment = shipment(order, forwarder=forwarder())
    restriction_add(user=alice, scope="disclosure", actor=alice)

    response = desk.post(f"/backoffice/shipping/shipments/{the_shipment.reference}/book/")

    assert response.status_code == 400
    page = text_of(response)
    assert f"{alice.customer_number} has restricted new disclosures of their data" in page
    assert "Nothing was sent or recorded." in page
    assert not ProvisionRecord.objects.exists()
    the_shipment.refresh_from_db()
    assert the_shipment.booked_at is None


def test_a_consignee_who_restricted_disclosure_in_their_own_account_stops_it_too(alice):
    kamau = customer("imports@kamau.example", "KE", name="Kamau")
    restriction_add(user=kamau, scope="disclosure", actor=kamau)
    order = shippable_order(alice)
    the_shipment = shipment(order)

    with pytest.raises(ShippingRefused, match="Kamau Motors Ltd: Consignee"):
        shipment_book(shipment=the_shipment, actor=officer())
    assert not ProvisionRecord.objects.exists()


def test_booking_needs_a_shipping_line_and_orders_and_happens_once(alice):
    with pytest.raises(ShippingRefused, match="Choose the shipping line"):
        shipment_book(shipment=shipment(shipping_line=None), actor=officer())
    with pytest.raises(ShippingRefused, match="Add at least one order"):
        shipment_book(shipment=shipment(), actor=officer())
    booked = shipment(shippable_order(alice), book=True)
    with pytest.raises(ShippingRefused, match="already booked"):
        shipment_book(shipment=booked, actor=officer())


def test_an_order_joining_a_booked_shipment_goes_out_with_its_records(alice, bob):
    booked = shipment(shippable_order(alice, notify=False), book=True)
    assert ProvisionRecord.objects.count() == 2
    later = shippable_order(alice, the_consignee=consignee(alice, name="Otieno Traders", email=""))

    shipment_order_add(shipment=booked, order=later, actor=officer())

    added = ProvisionRecord.objects.order_by("pk")[2:]
    assert sorted(r.subject_name for r in added) == ["", "Coast Clearing Agents", "Otieno Traders"]


def test_a_forwarder_named_after_booking_gets_its_records(alice):
    booked = shipment(shippable_order(alice, notify=False), book=True)

    shipment_update(shipment=booked, details=details(forwarder=forwarder()), actor=officer())

    assert ProvisionRecord.objects.filter(recipient=forwarder()).count() == 2


# --- The timeline -------------------------------------------------------------------------------


def test_a_shipment_step_is_written_for_every_order_and_moves_the_shipment(alice, bob):
    first, second = shippable_order(alice), shippable_order(alice)
    the_shipment = shipment(first, second, book=True)

    events = timeline_event_record(
        shipment=the_shipment, status=Status.AT_PORT, note="Yard 3, Daikoku", actor=officer()
    )

    assert {e.order_id for e in events} == {first.pk, second.pk}
    assert all(e.shipment_id == the_shipment.pk and e.note == "Yard 3, Daikoku" for e in events)
    the_shipment.refresh_from_db()
    assert the_shipment.status == Status.AT_PORT
    history = ContactEvent.objects.filter(customer=alice, subject__endswith="At the port")
    assert sorted(history.values_list("subject", flat=True)) == sorted(
        [f"{first.number}: At the port", f"{second.number}: At the port"]
    )


def test_shipment_steps_need_a_booking():
    the_shipment = shipment()
    with pytest.raises(ShippingRefused, match=r"Book .* with its shipping line first"):
        timeline_event_record(shipment=the_shipment, status=Status.AT_PORT, actor=officer())


def test_steps_in_the_wrong_order_are_refused(desk, alice):
    order = shippable_order(alice)
    on_board = loaded(order)
    timeline_event_record(shipment=on_board, status=Status.SAILED, actor=officer())

    response = desk.post(
        f"/backoffice/shipping/shipments/{on_board.reference}/steps/",
        {"step-status": Status.LOADED},
    )
    assert response.status_code == 400
    assert f"{on_board.reference} is already at “Sailed”: steps only move forward." in text_of(
        response
    )

    response = desk.post(
        f"/backoffice/shipping/orders/{order.number}/steps/",
        {"step-status": Status.EXPORT_CERTIFICATE},
    )
    assert response.status_code == 400
    assert f"Order {order.number} is already at “Sailed”: steps only move forward." in text_of(
        response
    )
    assert TimelineEvent.objects.filter(order=order, status=Status.EXPORT_CERTIFICATE).count() == 0


def test_an_order_step_goes_forward_one_order_at_a_time(desk, alice):
    order = shippable_order(alice)
    response = desk.post(
        f"/backoffice/shipping/orders/{order.number}/steps/",
        {"step-status": Status.EXPORT_CERTIFICATE, "step-note": "Deregistered at Yokohama LTO"},
    )
    assert response.status_code == 302
    with pytest.raises(ShippingRefused, match="steps only move forward"):
        timeline_event_record(order=order, status=Status.PURCHASED, actor=officer())
    with pytest.raises(ShippingRefused, match="recorded for the whole shipment"):
        timeline_event_record(order=order, status=Status.LOADED, actor=officer())
    event = TimelineEvent.objects.get(order=order)
    assert (event.status, event.note) == (Status.EXPORT_CERTIFICATE, "Deregistered at Yokohama LTO")


def test_a_step_cannot_be_dated_in_the_future_or_before_the_last_one(alice):
    order = shippable_order(alice)
    now = timezone.now()
    with pytest.raises(ShippingRefused, match="cannot be in the future"):
        timeline_event_record(
            order=order, status=Status.PURCHASED, happened_at=now + timedelta(days=1), actor=None
        )
    timeline_event_record(order=order, status=Status.PURCHASED, happened_at=now, actor=None)
    with pytest.raises(ShippingRefused, match=r"before order .*'s last step"):
        timeline_event_record(
            order=order,
            status=Status.EXPORT_CERTIFICATE,
            happened_at=now - timedelta(days=2),
            actor=None,
        )


def test_delivery_waits_for_arrival(alice):
    order = shippable_order(alice)
    on_board = loaded(order)
    with pytest.raises(ShippingRefused, match="has not arrived yet"):
        timeline_event_record(order=order, status=Status.DELIVERED, actor=officer())
    timeline_event_record(shipment=on_board, status=Status.SAILED, actor=officer())
    timeline_event_record(shipment=on_board, status=Status.ARRIVED, actor=officer())

    timeline_event_record(order=order, status=Status.DELIVERED, actor=officer())

    assert list(TimelineEvent.objects.filter(order=order).values_list("status", flat=True)) == [
        "inspected",
        "at_port",
        "loaded",
        "sailed",
        "arrived",
        "delivered",
    ]


def test_emails_go_only_for_the_updates_a_customer_wants(alice, bob, committed):
    bob_order = shippable_order(bob)  # Bob keeps the default: every update
    alice_order = shippable_order(alice)
    shipping_notices_set(user=alice, statuses=[Status.SAILED])
    on_board = loaded(alice_order, bob_order)
    mail.outbox.clear()

    with committed():
        timeline_event_record(shipment=on_board, status=Status.SAILED, actor=officer())
    assert sorted(m.to[0] for m in mail.outbox) == [alice.email, bob.email]
    sailed = next(m for m in mail.outbox if m.to == [alice.email])
    assert sailed.subject == f"{alice_order.number}: Sailed"
    assert "Vessel: Hoegh Trigger 112W" in sailed.body
    assert f"/mypage/orders/{alice_order.number}/shipping/" in sailed.body

    mail.outbox.clear()
    with committed():
        timeline_event_record(shipment=on_board, status=Status.ARRIVED, actor=officer())
    assert [m.to for m in mail.outbox] == [[bob.email]]
    # Not e-mailed, still in the contact history.
    assert ContactEvent.objects.filter(
        customer=alice, subject=f"{alice_order.number}: Arrived"
    ).exists()


def test_the_email_is_in_the_customers_language(alice, committed):
    alice.language = "ja"
    alice.save(update_fields=["language"])
    order = shippable_order(alice)
    on_board = loaded(order)
    mail.outbox.clear()

    with committed():
        timeline_event_record(shipment=on_board, status=Status.SAILED, actor=officer())

    [message] = mail.outbox
    assert "出港済み" in message.subject
    assert message.subject.startswith(order.number)


def test_one_email_per_customer_for_their_orders_on_a_shipment(alice, committed):
    first, second = shippable_order(alice), shippable_order(alice)
    on_board = loaded(first, second)
    mail.outbox.clear()

    with committed():
        timeline_event_record(shipment=on_board, status=Status.SAILED, actor=officer())

    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == f"{first.number}, {second.number}: Sailed"


# --- Couriers -----------------------------------------------------------------------------------


def test_originals_go_by_courier_once_the_car_is_loaded(desk, alice, committed):
    order = shippable_order(alice)
    url = f"/backoffice/shipping/orders/{order.number}/couriers/new/"
    form = {
        "carrier": str(courier().pk),
        "tracking_number": "1234 5678 90",
        "documents": [DocumentKind.BILL_OF_LADING, DocumentKind.EXPORT_CERTIFICATE],
        "addressed_to": str(order.parties.consignee_id),
    }
    the_shipment = shipment(order, book=True)
    early = desk.post(url, form)
    assert early.status_code == 400
    assert f"{the_shipment.reference} is not loaded yet" in text_of(early)
    assert not CourierDispatch.objects.exists()

    passed_inspection(order)
    timeline_event_record(shipment=the_shipment, status=Status.AT_PORT, actor=officer())
    timeline_event_record(shipment=the_shipment, status=Status.LOADED, actor=officer())
    mail.outbox.clear()
    with committed():
        response = desk.post(url, form)

    assert response.status_code == 302
    dispatch = CourierDispatch.objects.get()
    assert (dispatch.tracking_number, dispatch.documents) == (
        "1234567890",
        "export_certificate,bill_of_lading",
    )
    step = TimelineEvent.objects.get(order=order, status=Status.DOCUMENTS_COURIERED)
    assert step.note == "DHL Express 1234567890"
    [message] = mail.outbox
    assert message.subject == f"{order.number}: original documents sent by DHL Express (1234567890)"
    assert "Documents: Export certificate (deregistration), Bill of lading" in message.body
    assert "Addressed to: Kamau Motors Ltd" in message.body
    page = text_of(desk.get(f"/backoffice/shipping/orders/{order.number}/"))
    assert "1234567890" in page


def test_a_bad_courier_dispatch_is_refused(alice, bob):
    order = shippable_order(alice)
    loaded(order)
    with pytest.raises(ShippingRefused) as refused:
        courier_dispatch_record(
            order=order,
            courier=shipping_line(),
            tracking_number="12",
            documents=["passport"],
            addressed_to=consignee(bob),
            actor=officer(),
        )
    message = str(refused.value)
    assert "Nordic RoRo Carriers AS is not registered as a courier." in message
    assert "6 to 60 letters, digits or dashes" in message
    assert "Tick the documents in the envelope." in message
    assert "someone in this customer's address book" in message
    assert not CourierDispatch.objects.exists()


def test_a_dispatch_is_marked_delivered_once(desk, alice):
    order = shippable_order(alice)
    loaded(order)
    dispatch = courier_dispatch_record(
        order=order,
        courier=courier("FedEx"),
        tracking_number="7777 8888 9999",
        documents=[DocumentKind.BILL_OF_LADING],
        addressed_to=order.parties.consignee,
        actor=officer(),
    )

    response = desk.post(f"/backoffice/shipping/couriers/{dispatch.pk}/delivered/")

    assert response.status_code == 302
    dispatch.refresh_from_db()
    assert dispatch.delivered_at is not None
    with pytest.raises(ShippingRefused, match="already marked delivered"):
        courier_mark_delivered(dispatch=dispatch, actor=officer())


# --- Who may open what --------------------------------------------------------------------------


def _urls(order: Order, the_shipment: Shipment, dispatch_pk: int) -> list[tuple[str, str]]:
    ref, number = the_shipment.reference, order.number
    return [
        ("get", "/backoffice/shipping/"),
        ("get", "/backoffice/shipping/shipments/new/"),
        ("post", "/backoffice/shipping/shipments/new/"),
        ("get", f"/backoffice/shipping/shipments/{ref}/"),
        ("get", f"/backoffice/shipping/shipments/{ref}/edit/"),
        ("post", f"/backoffice/shipping/shipments/{ref}/orders/"),
        ("post", f"/backoffice/shipping/shipments/{ref}/orders/{number}/remove/"),
        ("post", f"/backoffice/shipping/shipments/{ref}/book/"),
        ("post", f"/backoffice/shipping/shipments/{ref}/steps/"),
        ("get", f"/backoffice/shipping/orders/{number}/"),
        ("post", f"/backoffice/shipping/orders/{number}/steps/"),
        ("get", f"/backoffice/shipping/orders/{number}/inspections/new/"),
        ("get", f"/backoffice/shipping/orders/{number}/couriers/new/"),
        ("post", f"/backoffice/shipping/couriers/{dispatch_pk}/delivered/"),
    ]


@pytest.mark.parametrize("who", ["customer", "accountant"])
def test_every_view_refuses_customers_and_staff_without_the_permission(client, alice, who):
    order = shippable_order(alice)
    on_board = loaded(order)
    dispatch = courier_dispatch_record(
        order=order,
        courier=courier(),
        tracking_number="1234567890",
        documents=[DocumentKind.BILL_OF_LADING],
        addressed_to=order.parties.consignee,
        actor=officer(),
    )
    if who == "customer":
        client.force_login(alice)
    else:
        staff_login(client, staff("acc.two@exporter.example", "accounting"))
    before = (TimelineEvent.objects.count(), ProvisionRecord.objects.count())

    for method, url in _urls(order, on_board, dispatch.pk):
        response = getattr(client, method)(url)
        assert response.status_code == 403, (method, url, response.status_code)

    assert (TimelineEvent.objects.count(), ProvisionRecord.objects.count()) == before
    dispatch.refresh_from_db()
    assert dispatch.delivered_at is None


def test_sales_may_look_at_the_board_but_not_change_shipments(client, alice):
    the_shipment = shipment(shippable_order(alice))
    staff_login(client, sales_person())

    assert client.get("/backoffice/shipping/").status_code == 200
    assert (
        client.post(f"/backoffice/shipping/shipments/{the_shipment.reference}/book/").status_code
        == 403
    )
    assert client.get("/backoffice/shipping/shipments/SHP-1999-0001/").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/backoffice/shipping/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_bad_input_re_renders_with_the_reason_and_changes_nothing(desk, alice):
    order = shippable_order(alice)
    the_shipment = shipment(order, book=True)
    ref, number = the_shipment.reference, order.number
    before = (TimelineEvent.objects.count(), CourierDispatch.objects.count())

    for url, data, reason in [
        ("/backoffice/shipping/shipments/new/", {}, "This field is required."),
        (
            f"/backoffice/shipping/shipments/{ref}/edit/",
            {"method": "ship"},
            "Select a valid choice.",
        ),
        (f"/backoffice/shipping/shipments/{ref}/orders/", {}, "This field is required."),
        (
            f"/backoffice/shipping/shipments/{ref}/steps/",
            {"step-status": "flying"},
            "Select a valid choice.",
        ),
        (
            f"/backoffice/shipping/shipments/{ref}/steps/",
            {"step-status": "at_port", "step-happened_at": "yesterday"},
            "Enter a valid date/time.",
        ),
        (
            f"/backoffice/shipping/orders/{number}/steps/",
            {"step-status": "loaded"},
            "Select a valid choice.",
        ),
        (
            f"/backoffice/shipping/orders/{number}/inspections/new/",
            {"kind": "x" * 121},
            "at most 120 characters",
        ),
        (
            f"/backoffice/shipping/orders/{number}/couriers/new/",
            {"documents": ["visa"]},
            "Select a valid choice.",
        ),
    ]:
        response = desk.post(url, data)
        assert response.status_code == 400, url
        assert reason in text_of(response), url

    assert (TimelineEvent.objects.count(), CourierDispatch.objects.count()) == before
    assert Shipment.objects.count() == 1

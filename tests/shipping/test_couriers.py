"""Originals sent by courier hand the addressee's name, address and phone to the courier: the
carrier comes from the recipient registry, the dispatch writes its record of provision (which the
customer sees among "who received my data"), and a restricted disclosure refuses it."""

from __future__ import annotations

from html import unescape
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client

from exportdesk.accounts.models import User
from exportdesk.core.personal_data import LegalBasis
from exportdesk.privacy.models import ProvisionRecord, Recipient
from exportdesk.privacy.provision import recipient_save
from exportdesk.privacy.restrictions import restriction_add
from exportdesk.sales.models import Order
from exportdesk.shipping.models import CourierDispatch, DocumentKind, Shipment, TimelineEvent
from exportdesk.shipping.parties import ShippingRefused
from exportdesk.shipping.shipments import courier_dispatch_record, timeline_event_record
from tests.conftest import staff_login
from tests.factories import customer, staff
from tests.shipping.logistics import (
    consignee,
    courier,
    officer,
    passed_inspection,
    shipment,
    shippable_order,
    shipping_line,
)

pytestmark = pytest.mark.django_db

Status = Shipment.Status
WAYBILL = ["name", "company", "address", "country", "phone number"]


def text_of(response: Any) -> str:
    return unescape(response.content.decode())


def loaded(order: Order) -> Order:
    """Booked, inspected, at the port and loaded: its originals may go out."""
    passed_inspection(order)
    carried = shipment(order, book=True)
    for step in (Status.AT_PORT, Status.LOADED):
        timeline_event_record(shipment=carried, status=step, actor=officer())
    return Order.objects.select_related("parties__consignee", "customer").get(pk=order.pk)


def url(order: Order) -> str:
    return f"/backoffice/shipping/orders/{order.number}/couriers/new/"


def form(carrier: Recipient, order: Order, **changes: Any) -> dict[str, Any]:
    return {
        "carrier": str(carrier.pk),
        "tracking_number": "1234567890",
        "documents": [DocumentKind.BILL_OF_LADING, DocumentKind.EXPORT_CERTIFICATE],
        "addressed_to": str(order.parties.consignee_id),
        **changes,
    }


def to_couriers() -> Any:
    return ProvisionRecord.objects.filter(recipient__kind=Recipient.Kind.COURIER)


def nothing_sent(order: Order) -> bool:
    return (
        not CourierDispatch.objects.exists()
        and not to_couriers().exists()
        and not TimelineEvent.objects.filter(order=order, status=Status.DOCUMENTS_COURIERED)
    )


@pytest.fixture
def desk(client: Client) -> Client:
    return staff_login(client, officer())


def test_the_dispatch_records_the_addressee_going_to_the_courier(desk, alice):
    order = loaded(shippable_order(alice))
    dhl = courier()

    response = desk.post(url(order), form(dhl, order))

    assert response.status_code == 302
    dispatch = CourierDispatch.objects.get()
    assert dispatch.carrier == "DHL Express"
    [record] = to_couriers()
    assert record.recipient == dhl
    assert (record.user, record.subject_name, record.subject_email) == (
        None,
        "Kamau Motors Ltd",
        "imports@kamau.example",
    )
    # The waybill's items only: the e-mail and the KRA PIN are not the courier's business.
    assert record.data_items == WAYBILL
    assert record.purpose == f"Originals of order {order.number} sent by courier"
    assert record.legal_basis == LegalBasis.CONTRACT
    assert (record.context_type, record.context_id) == (
        "shipping.courierdispatch",
        str(dispatch.pk),
    )
    assert record.recorded_by == officer()


def test_an_addressee_with_the_customers_own_address_is_the_customer_who_sees_it(client, alice):
    own = consignee(alice, name="Alice Wanjiru", email="Alice@Example.com")
    order = loaded(shippable_order(alice, the_consignee=own))

    courier_dispatch_record(
        order=order,
        courier=courier("Japan Post EMS"),
        tracking_number="EN123456789JP",
        documents=[DocumentKind.BILL_OF_LADING],
        addressed_to=own,
        actor=officer(),
    )

    [record] = to_couriers()
    assert (record.user, record.subject_name, record.subject_email) == (alice, "", "")
    client.force_login(alice)
    page = text_of(client.get("/mypage/privacy/disclosures/"))
    row = page.split("Japan Post EMS", 1)[1].split("</tr>", 1)[0]
    assert "Courier" in row
    assert ", ".join(WAYBILL) in row
    assert f"Originals of order {order.number} sent by courier" in row
    assert "Legal basis: contract" in row


def test_a_restricted_addressee_is_refused_and_nothing_is_written(desk, alice):
    own = consignee(alice, name="Alice Wanjiru", email=alice.email)
    order = loaded(shippable_order(alice, the_consignee=own))
    restriction_add(user=alice, scope="disclosure", actor=alice)
    mail.outbox.clear()

    response = desk.post(url(order), form(courier(), order))

    assert response.status_code == 400
    page = text_of(response)
    assert f"{alice.customer_number} has restricted new disclosures of their data" in page
    assert f"Alice Wanjiru: Addressee of the originals ({order.number})" in page
    assert "Nothing was sent or recorded." in page
    assert nothing_sent(order)
    assert not mail.outbox


def test_a_consignee_who_restricted_disclosure_in_their_own_account_is_refused_too(alice):
    kamau = customer("imports@kamau.example", "KE", name="Kamau")
    order = loaded(shippable_order(alice))
    restriction_add(user=kamau, scope="disclosure", actor=kamau)

    with pytest.raises(ShippingRefused, match="Kamau Motors Ltd: Addressee of the originals"):
        courier_dispatch_record(
            order=order,
            courier=courier(),
            tracking_number="1234567890",
            documents=[DocumentKind.BILL_OF_LADING],
            addressed_to=order.parties.consignee,
            actor=officer(),
        )
    assert nothing_sent(order)


def _deactivated(recipient: Recipient) -> Recipient:
    recipient.is_active = False
    return recipient_save(recipient=recipient, actor=None, changed=["is_active"])


def test_an_inactive_courier_cannot_be_chosen(desk, alice):
    order = loaded(shippable_order(alice))
    courier()
    gone = _deactivated(courier("Bygone Couriers K.K."))

    page = text_of(desk.get(url(order)))
    assert "DHL Express (JP)" in page and "Bygone Couriers" not in page
    response = desk.post(url(order), form(gone, order))

    assert response.status_code == 400
    assert "Choose an active courier from the recipient registry." in text_of(response)
    with pytest.raises(ShippingRefused, match=r"Bygone Couriers K\.K\. is no longer an active"):
        courier_dispatch_record(
            order=order,
            courier=gone,
            tracking_number="1234567890",
            documents=[DocumentKind.BILL_OF_LADING],
            addressed_to=order.parties.consignee,
            actor=officer(),
        )
    assert nothing_sent(order)


def test_a_recipient_that_is_not_a_courier_cannot_be_chosen(desk, alice):
    order = loaded(shippable_order(alice))
    courier()
    line = shipping_line()

    assert "Nordic RoRo" not in text_of(desk.get(url(order)))
    response = desk.post(url(order), form(line, order))

    assert response.status_code == 400
    assert "Choose an active courier from the recipient registry." in text_of(response)
    with pytest.raises(ShippingRefused, match="Nordic RoRo Carriers AS is not registered as a"):
        courier_dispatch_record(
            order=order,
            courier=line,
            tracking_number="1234567890",
            documents=[DocumentKind.BILL_OF_LADING],
            addressed_to=order.parties.consignee,
            actor=officer(),
        )
    assert nothing_sent(order)
    assert ProvisionRecord.objects.filter(context_type="shipping.courierdispatch").count() == 0


def test_without_couriers_the_form_says_so_and_links_the_registry_for_those_who_may_edit(
    client, alice
):
    order = shippable_order(alice)
    shipping_line()

    staff_login(client, officer())
    notice = _no_couriers(client, order)
    assert "No courier is registered as an active recipient yet" in notice
    assert "Ask the privacy officer to add the courier to the recipient registry." in notice
    assert "href=" not in notice

    client.logout()
    staff_login(client, staff("ada.admin@exporter.example", "admin"))
    notice = _no_couriers(client, order)
    assert "No courier is registered as an active recipient yet" in notice
    assert 'href="/backoffice/privacy/recipients/"' in notice

    courier()
    assert 'id="no-couriers"' not in text_of(client.get(url(order)))


def _no_couriers(client: Client, order: Order) -> str:
    page = text_of(client.get(url(order)))
    return page.split('id="no-couriers"', 1)[1].split("</p>", 1)[0]


def test_staff_without_the_permission_get_nothing(client, alice):
    order = loaded(shippable_order(alice))
    before = ProvisionRecord.objects.count()
    staff_login(client, staff("acc.two@exporter.example", "accounting"))

    assert client.get(url(order)).status_code == 403
    assert client.post(url(order), form(courier(), order)).status_code == 403

    assert ProvisionRecord.objects.count() == before
    assert nothing_sent(order)


def test_a_courier_abroad_needs_its_transfer_safeguard_in_the_registry():
    with pytest.raises(ValidationError, match="transfer safeguard"):
        recipient_save(
            recipient=Recipient(
                name="Overseas Express Ltd",
                kind=Recipient.Kind.COURIER,
                country="GB",
                relationship=Recipient.Relationship.THIRD_PARTY,
            ),
            actor=None,
        )
    assert not Recipient.objects.filter(kind=Recipient.Kind.COURIER).exists()


def test_a_long_registered_name_is_kept_whole_on_the_dispatch(alice: User):
    order = loaded(shippable_order(alice))
    name = "Nippon Overnight International Document Express Courier Services K.K."
    assert len(name) > 40

    dispatch = courier_dispatch_record(
        order=order,
        courier=courier(name),
        tracking_number="1234567890",
        documents=[DocumentKind.BILL_OF_LADING],
        addressed_to=order.parties.consignee,
        actor=officer(),
    )

    dispatch.refresh_from_db()
    assert dispatch.carrier == name

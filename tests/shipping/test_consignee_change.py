"""Choosing an order's consignee, and changing it once money is on the order: nothing changes
until the customer confirms by the e-mailed one-time link AND a logistics officer approves.
Before any payment the choice takes effect at once."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from exportdesk.accounts.models import User
from exportdesk.core.models import AuditEvent
from exportdesk.messaging.models import ContactEvent
from exportdesk.payments.services import allocation_decide, allocation_request
from exportdesk.sales.models import Order
from exportdesk.shipping.models import ConsigneeChange, OrderParties, Party
from exportdesk.shipping.parties import (
    ShippingRefused,
    consignee_change_confirm,
    consignee_change_decide,
    consignee_changes_expire,
    order_parties_choose,
    party_deactivate,
)
from tests.conftest import staff_login
from tests.factories import staff
from tests.payments.factories import confirmed_deposit, order_for
from tests.shipping.test_parties import consignee, notify_party, text_of

pytestmark = pytest.mark.django_db

Status = ConsigneeChange.Status


@pytest.fixture
def officer() -> User:
    return staff("lee.logistics@exporter.example", "logistics")


@pytest.fixture
def accountant() -> User:
    return staff("anna.accounts@exporter.example", "accounting")


@pytest.fixture
def anon() -> Client:
    """A second browser, signed in as nobody (the customer's phone opening the e-mail)."""
    return Client()


@pytest.fixture
def officer_client(officer) -> Client:
    return staff_login(Client(), officer)


@pytest.fixture
def order(alice) -> Order:
    return order_for(alice)


@pytest.fixture
def first(alice) -> Party:
    return consignee(alice, "Kamau Motors Ltd")


@pytest.fixture
def second(alice) -> Party:
    return consignee(alice, "Mombasa Auto Traders", id_number="P051234567X")


def part_paid(order: Order, accountant: User, amount: Decimal = Decimal(500)) -> None:
    """Money on the order: a confirmed deposit allocated to it and approved."""
    customer = order.customer
    deposit = confirmed_deposit(customer, amount, staff=accountant)
    allocation = allocation_request(
        deposit=deposit, order=order, amount=amount, requested_by=customer
    )
    allocation_decide(allocation=allocation, staff=accountant, approve=True)


def paid_with_consignee(order: Order, party: Party, accountant: User) -> OrderParties:
    chosen = order_parties_choose(
        order=order, consignee=party, notify=None, customer=order.customer
    )
    assert isinstance(chosen, OrderParties)
    part_paid(order, accountant)
    return chosen


def link_in(message: mail.EmailMessage) -> str:
    found = re.search(r"https?://\S+/shipping/consignee-change/(\S+)/", message.body)
    assert found, message.body
    return f"/shipping/consignee-change/{found.group(1)}/"


def ask_for_change(client: Client, order: Order, party: Party, committed) -> str:
    """The customer asks on the Shipping page; returns the path of the e-mailed link."""
    mail.outbox.clear()
    with committed():
        response = client.post(
            f"/mypage/orders/{order.number}/shipping/", {"consignee": party.pk, "notify": ""}
        )
    assert response.status_code == 302, text_of(response)
    (message,) = mail.outbox
    assert message.to == [order.customer.email]
    return link_in(message)


def consignee_of(order: Order) -> Party:
    return OrderParties.objects.get(order=order).consignee


# --- before any payment -------------------------------------------------------------------------


def test_before_payment_the_choice_takes_effect_at_once(alice_client, alice, order, first, second):
    agent = notify_party(alice)
    response = alice_client.post(
        f"/mypage/orders/{order.number}/shipping/", {"consignee": first.pk, "notify": agent.pk}
    )
    assert response.status_code == 302
    parties = OrderParties.objects.get(order=order)
    assert (parties.consignee, parties.notify) == (first, agent)
    assert "The consignee of this order is now Kamau Motors Ltd." in text_of(
        alice_client.get(response["Location"])
    )

    # Changing it again before any payment is immediate too, with no e-mail round trip.
    alice_client.post(f"/mypage/orders/{order.number}/shipping/", {"consignee": second.pk})
    assert consignee_of(order) == second
    assert not ConsigneeChange.objects.exists()
    assert mail.outbox == []
    assert AuditEvent.objects.filter(action="shipping.parties_chosen").count() == 2
    assert (
        ContactEvent.objects.filter(
            customer=alice, subject=f"Consignee chosen for order {order.number}"
        ).count()
        == 2
    )


def test_a_pending_allocation_already_counts_as_payment(
    alice_client, alice, order, first, second, accountant, committed
):
    order_parties_choose(order=order, consignee=first, notify=None, customer=alice)
    deposit = confirmed_deposit(alice, Decimal(300), staff=accountant)
    allocation_request(deposit=deposit, order=order, amount=Decimal(300), requested_by=alice)

    ask_for_change(alice_client, order, second, committed)

    assert consignee_of(order) == first
    assert ConsigneeChange.objects.get().status == Status.AWAITING_CUSTOMER


def test_a_first_consignee_named_after_payment_is_set_and_the_mailbox_told(
    alice_client, alice, order, first, accountant, committed
):
    """Nothing to redirect yet, so no approval; the account's mailbox hears of it at once."""
    part_paid(order, accountant)
    mail.outbox.clear()

    with committed():
        response = alice_client.post(
            f"/mypage/orders/{order.number}/shipping/", {"consignee": first.pk}
        )

    assert response.status_code == 302
    assert consignee_of(order) == first
    assert not ConsigneeChange.objects.exists()
    (message,) = mail.outbox
    assert message.to == [alice.email]
    assert f"Consignee chosen for order {order.number}" in message.subject
    assert "Kamau Motors Ltd, Kenya" in message.body
    assert "someone may be trying to redirect your car" in message.body


# --- after payment: both confirmations needed ----------------------------------------------------


def test_after_payment_a_change_waits_for_the_customers_link(
    alice_client, alice, order, first, second, accountant, committed
):
    paid_with_consignee(order, first, accountant)

    mail.outbox.clear()
    with committed():
        response = alice_client.post(
            f"/mypage/orders/{order.number}/shipping/", {"consignee": second.pk}
        )

    assert response.status_code == 302
    assert consignee_of(order) == first
    change = ConsigneeChange.objects.get()
    assert change.status == Status.AWAITING_CUSTOMER
    assert (change.old_consignee, change.new_consignee) == (first, second)
    (message,) = mail.outbox
    assert "Confirm the change of consignee for order" in message.subject
    assert "Mombasa Auto Traders" in message.body and "48 hours" in message.body
    token = link_in(message).rstrip("/").rsplit("/", 1)[1]
    # Only a hash of the link is kept.
    assert token not in change.token_hash and len(change.token_hash) == 64
    page = text_of(alice_client.get(response["Location"]))
    assert "We have e-mailed you a link to confirm the change" in page
    assert "You asked to change the consignee to Mombasa Auto Traders" in page


def test_the_customers_link_alone_changes_nothing(
    alice_client, anon, alice, order, first, second, accountant, committed
):
    paid_with_consignee(order, first, accountant)
    link = ask_for_change(alice_client, order, second, committed)

    # Opening the link (a mail scanner does) confirms nothing; the button does.
    shown = anon.get(link)
    assert shown.status_code == 200
    assert "Confirm the change of consignee" in text_of(shown)
    assert ConsigneeChange.objects.get().status == Status.AWAITING_CUSTOMER

    confirmed = anon.post(link)

    assert confirmed.status_code == 200
    assert "Our logistics team now checks the change" in text_of(confirmed)
    change = ConsigneeChange.objects.get()
    assert change.status == Status.AWAITING_APPROVAL and change.confirmed_at is not None
    assert consignee_of(order) == first
    assert "You confirmed the change of consignee to Mombasa Auto Traders" in text_of(
        alice_client.get(f"/mypage/orders/{order.number}/shipping/")
    )


def test_approval_alone_changes_nothing(
    officer_client, alice_client, alice, order, first, second, accountant, officer, committed
):
    paid_with_consignee(order, first, accountant)
    ask_for_change(alice_client, order, second, committed)
    change = ConsigneeChange.objects.get()

    page = officer_client.get(f"/backoffice/shipping/consignee-changes/{change.pk}/")
    assert "has not confirmed this change by the e-mailed link yet" in text_of(page)
    response = officer_client.post(
        f"/backoffice/shipping/consignee-changes/{change.pk}/",
        {"decision": "approve", "reason": "Looks fine"},
    )

    assert response.status_code == 400
    assert "Only a change the customer has confirmed by e-mail can be decided." in text_of(response)
    change.refresh_from_db()
    assert change.status == Status.AWAITING_CUSTOMER
    assert consignee_of(order) == first
    with pytest.raises(ShippingRefused):
        consignee_change_decide(change=change, staff=officer, approve=True, reason="Sure")
    assert consignee_of(order) == first


def test_both_confirmations_change_the_consignee_and_tell_the_customer(
    officer_client, alice_client, alice, order, first, second, accountant, officer, committed
):
    paid_with_consignee(order, first, accountant)
    link = ask_for_change(alice_client, order, second, committed)
    alice_client.post(link)
    change = ConsigneeChange.objects.get()

    client = officer_client
    queue = text_of(client.get("/backoffice/shipping/consignee-changes/"))
    assert order.number in queue and "Mombasa Auto Traders" in queue
    detail = text_of(client.get(f"/backoffice/shipping/consignee-changes/{change.pk}/"))
    assert "P051234567X" in detail and "A123456789B" in detail and alice.email in detail
    mail.outbox.clear()
    with committed():
        response = client.post(
            f"/backoffice/shipping/consignee-changes/{change.pk}/",
            {"decision": "approve", "reason": "Confirmed with Alice by phone on her usual number."},
        )

    assert response.status_code == 302
    assert consignee_of(order) == second
    change.refresh_from_db()
    assert (change.status, change.decided_by) == (Status.APPROVED, officer)
    (message,) = mail.outbox
    assert message.to == [alice.email]
    assert "Change of consignee approved" in message.subject
    assert "Confirmed with Alice by phone" in message.body
    actions = set(
        AuditEvent.objects.filter(object_id=str(change.pk), subject_id=alice.pk).values_list(
            "action", flat=True
        )
    )
    assert {
        "shipping.consignee_change_requested",
        "shipping.consignee_change_confirmed",
        "shipping.consignee_change_viewed",
        "shipping.consignee_change_approved",
    } <= actions
    history = list(
        ContactEvent.objects.filter(customer=alice, subject__contains="Consignee change")
        .order_by("created_at", "pk")
        .values_list("subject", flat=True)
    )
    assert history == [
        f"Consignee change for order {order.number} requested",
        f"Consignee change for order {order.number} confirmed by e-mail",
        f"Consignee change for order {order.number} approved",
    ]
    page = text_of(alice_client.get(f"/mypage/orders/{order.number}/shipping/"))
    assert "Approved" in page and "Confirmed with Alice by phone" in page


def test_a_rejected_change_leaves_the_consignee_and_says_why(
    officer_client, alice_client, alice, order, first, second, accountant, officer, committed
):
    paid_with_consignee(order, first, accountant)
    alice_client.post(ask_for_change(alice_client, order, second, committed))
    change = ConsigneeChange.objects.get()
    client = officer_client

    missing = client.post(
        f"/backoffice/shipping/consignee-changes/{change.pk}/", {"decision": "reject"}
    )
    assert missing.status_code == 400
    assert "This field is required." in text_of(missing)
    change.refresh_from_db()
    assert change.status == Status.AWAITING_APPROVAL

    mail.outbox.clear()
    with committed():
        client.post(
            f"/backoffice/shipping/consignee-changes/{change.pk}/",
            {"decision": "reject", "reason": "The vessel has sailed; the B/L cannot be amended."},
        )

    change.refresh_from_db()
    assert change.status == Status.REJECTED
    assert consignee_of(order) == first
    (message,) = mail.outbox
    assert "not approved" in message.subject
    assert "The vessel has sailed" in message.body


def test_a_replayed_link_is_refused(
    anon, alice_client, alice, order, first, second, accountant, officer, committed
):
    paid_with_consignee(order, first, accountant)
    link = ask_for_change(alice_client, order, second, committed)
    assert anon.post(link).status_code == 200

    replay = anon.post(link)

    assert replay.status_code == 404
    assert "This link does not work" in text_of(replay)
    assert anon.get(link).status_code == 404
    # The replay did not move the change back or on.
    assert ConsigneeChange.objects.get().status == Status.AWAITING_APPROVAL
    assert consignee_of(order) == first


def test_an_expired_link_is_refused_and_the_change_cannot_be_approved(
    anon, alice_client, alice, order, first, second, accountant, officer, committed
):
    paid_with_consignee(order, first, accountant)
    link = ask_for_change(alice_client, order, second, committed)
    ConsigneeChange.objects.update(token_expires_at=timezone.now() - timedelta(seconds=1))

    response = anon.post(link)

    assert response.status_code == 410
    assert "This link has expired" in text_of(response)
    change = ConsigneeChange.objects.get()
    assert change.status == Status.AWAITING_CUSTOMER and change.confirmed_at is None
    with pytest.raises(ShippingRefused):
        consignee_change_decide(change=change, staff=officer, approve=True, reason="Fine")
    assert consignee_of(order) == first
    # A lapsed request no longer blocks asking again.
    ask_for_change(alice_client, order, second, committed)
    assert list(ConsigneeChange.objects.order_by("pk").values_list("status", flat=True)) == [
        Status.CANCELLED,
        Status.AWAITING_CUSTOMER,
    ]


def test_lapsed_links_are_closed_by_the_periodic_sweep(
    alice_client, alice, order, first, second, accountant, committed
):
    paid_with_consignee(order, first, accountant)
    link = ask_for_change(alice_client, order, second, committed)
    assert consignee_changes_expire() == 0
    ConsigneeChange.objects.update(token_expires_at=timezone.now() - timedelta(seconds=1))

    assert consignee_changes_expire() == 1
    assert consignee_changes_expire() == 0  # twice changes nothing

    change = ConsigneeChange.objects.get()
    assert change.status == Status.CANCELLED and change.token_hash == ""
    assert AuditEvent.objects.filter(action="shipping.consignee_change_expired").count() == 1
    assert alice_client.post(link).status_code == 404
    assert consignee_of(order) == first


def test_a_made_up_link_is_refused(client):
    response = client.post("/shipping/consignee-change/not-a-real-token/")
    assert response.status_code == 404


def test_another_signed_in_customer_cannot_use_the_link(
    anon, alice_client, alice, bob, order, first, second, accountant, committed
):
    paid_with_consignee(order, first, accountant)
    link = ask_for_change(alice_client, order, second, committed)
    anon.force_login(bob)

    assert anon.get(link).status_code == 404
    assert anon.post(link).status_code == 404
    assert ConsigneeChange.objects.get().status == Status.AWAITING_CUSTOMER


def test_the_customer_can_cancel_a_waiting_change(
    alice_client, alice, order, first, second, accountant, committed
):
    paid_with_consignee(order, first, accountant)
    link = ask_for_change(alice_client, order, second, committed)
    change = ConsigneeChange.objects.get()

    response = alice_client.post(
        f"/mypage/orders/{order.number}/shipping/changes/{change.pk}/cancel/"
    )

    assert response.status_code == 302
    change.refresh_from_db()
    assert change.status == Status.CANCELLED and change.token_hash == ""
    assert alice_client.post(link).status_code == 404
    assert consignee_of(order) == first


def test_a_second_change_waits_for_the_first(
    alice_client, alice, order, first, second, accountant, committed
):
    paid_with_consignee(order, first, accountant)
    ask_for_change(alice_client, order, second, committed)
    third = consignee(alice, "Third Motors", id_number="A000000001Z")

    response = alice_client.post(
        f"/mypage/orders/{order.number}/shipping/", {"consignee": third.pk}
    )

    # The waiting change hides the form; a forged post is refused with the reason.
    assert response.status_code == 400
    assert "already waiting" in text_of(response)
    assert ConsigneeChange.objects.count() == 1


def test_an_entry_named_in_a_waiting_change_cannot_be_removed(
    alice_client, alice, order, first, second, accountant, committed
):
    paid_with_consignee(order, first, accountant)
    ask_for_change(alice_client, order, second, committed)

    with pytest.raises(ShippingRefused):
        party_deactivate(party=second, customer=alice)
    response = alice_client.post(f"/mypage/address-book/{second.pk}/remove/", follow=True)
    assert "Cancel that change first" in text_of(response)
    second.refresh_from_db()
    assert second.is_active


def test_a_confirmed_change_survives_only_through_the_service_checks(
    alice, order, first, second, accountant, officer, committed
):
    """The services on their own (the API and tasks call them): confirm then approve."""
    paid_with_consignee(order, first, accountant)
    mail.outbox.clear()
    with committed():
        change = order_parties_choose(order=order, consignee=second, notify=None, customer=alice)
    assert isinstance(change, ConsigneeChange)
    token = link_in(mail.outbox[0]).rstrip("/").rsplit("/", 1)[1]
    consignee_change_confirm(token=token, user=alice)
    with pytest.raises(Exception, match="invalid"):
        consignee_change_confirm(token=token, user=alice)
    consignee_change_decide(change=change, staff=officer, approve=True, reason="Checked")
    assert consignee_of(order) == second
    with pytest.raises(ShippingRefused):
        consignee_change_decide(change=change, staff=officer, approve=False, reason="Again")


# --- bad input and other people's things --------------------------------------------------------


def test_another_customers_party_cannot_be_chosen(alice_client, bob, order):
    theirs = consignee(bob, "Bob's Consignee")

    response = alice_client.post(
        f"/mypage/orders/{order.number}/shipping/", {"consignee": theirs.pk}
    )

    assert response.status_code == 400
    assert "Select a valid choice" in text_of(response)
    assert not OrderParties.objects.exists()


def test_a_notify_party_is_not_a_consignee(alice_client, alice, order):
    agent = notify_party(alice)
    response = alice_client.post(
        f"/mypage/orders/{order.number}/shipping/", {"consignee": agent.pk}
    )
    assert response.status_code == 400
    assert not OrderParties.objects.exists()


def test_the_consignee_must_be_in_the_destination_country(alice_client, alice, order):
    jamaica = consignee(alice, "Kingston Cars", country="JM", id_number="")

    response = alice_client.post(
        f"/mypage/orders/{order.number}/shipping/", {"consignee": jamaica.pk}
    )

    assert response.status_code == 400
    assert "The consignee must be in Kenya" in text_of(response)
    assert not OrderParties.objects.exists()


def test_choosing_without_a_consignee_re_renders_with_the_error(alice_client, alice, order, first):
    response = alice_client.post(f"/mypage/orders/{order.number}/shipping/", {"consignee": ""})
    assert response.status_code == 400
    assert "This field is required." in text_of(response)
    assert not OrderParties.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_customers_order_is_not_found(client, bob, order, first, method):
    client.force_login(bob)
    mine = consignee(bob, "Bob's Consignee")
    response = getattr(client, method)(
        f"/mypage/orders/{order.number}/shipping/", {"consignee": mine.pk}
    )
    assert response.status_code == 404
    assert not OrderParties.objects.exists()


def test_another_customers_change_cannot_be_cancelled(
    anon, alice_client, alice, bob, order, first, second, accountant, committed
):
    paid_with_consignee(order, first, accountant)
    ask_for_change(alice_client, order, second, committed)
    change = ConsigneeChange.objects.get()
    bobs_order = order_for(bob)
    anon.force_login(bob)

    for number in (order.number, bobs_order.number):
        response = anon.post(f"/mypage/orders/{number}/shipping/changes/{change.pk}/cancel/")
        assert response.status_code == 404
    assert ConsigneeChange.objects.get().status == Status.AWAITING_CUSTOMER


def test_the_approval_pages_need_the_logistics_permission(
    anon, alice_client, alice, order, first, second, accountant, committed
):
    paid_with_consignee(order, first, accountant)
    alice_client.post(ask_for_change(alice_client, order, second, committed))
    change = ConsigneeChange.objects.get()
    queue = "/backoffice/shipping/consignee-changes/"
    detail = f"{queue}{change.pk}/"

    # A customer is not staff.
    assert alice_client.get(queue).status_code == 403
    assert alice_client.post(detail, {"decision": "approve", "reason": "x"}).status_code == 403
    # Sales staff may view parties but not decide consignee changes.
    client = staff_login(anon, staff("sue.sales@exporter.example", "sales"))
    assert client.get(queue).status_code == 403
    assert client.get(detail).status_code == 403
    assert client.post(detail, {"decision": "approve", "reason": "x"}).status_code == 403
    client.logout()
    assert client.get(queue).status_code == 302
    change.refresh_from_db()
    assert change.status == Status.AWAITING_APPROVAL
    assert consignee_of(order) == first


def test_a_change_approved_after_booking_records_the_new_consignee_going_to_the_carriers(
    alice_client, alice, second, officer, committed
):
    from exportdesk.privacy.models import ProvisionRecord
    from exportdesk.shipping.shipments import shipment_recipients
    from tests.shipping import logistics

    order = logistics.shippable_order(alice)
    booked = logistics.shipment(order, book=True)
    before = ProvisionRecord.objects.filter(subject_name=second.name).count()
    link = ask_for_change(alice_client, order, second, committed)
    alice_client.post(link)
    change = ConsigneeChange.objects.get()

    consignee_change_decide(change=change, staff=officer, approve=True, reason="Called Alice.")

    records = ProvisionRecord.objects.filter(subject_name=second.name)
    assert before == 0
    assert {r.recipient for r in records} == set(shipment_recipients(booked)) != set()
    assert all(r.context_id == str(booked.pk) for r in records)

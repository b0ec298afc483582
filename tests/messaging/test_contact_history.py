"""My Page contact history: the customer's inquiries and the staff's replies, theirs alone."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from exportdesk.messaging.models import ContactEvent
from exportdesk.messaging.selectors import contact_history_for
from exportdesk.messaging.services import contact_event_record
from exportdesk.sales.models import Inquiry
from tests.conftest import staff_login
from tests.factories import UserFactory, customer
from tests.stock.factories import mombasa, vehicle

pytestmark = pytest.mark.django_db


def ask(client: Client, path: str = "/inquiry/", **overrides: object) -> Inquiry:
    data = {
        "name": "Alice Wanjiru",
        "email": "alice@example.com",
        "country": "KE",
        "port": mombasa().pk,
        "message": "Can you ship the Prius to Mombasa in December?",
        "website": "",
    }
    data.update(overrides)
    response = client.post(path, data)
    assert response.status_code == 200, response.content
    return Inquiry.objects.latest("created_at", "id")


def reply(sales, inquiry: Inquiry, body: str) -> None:
    desk = staff_login(Client(), sales)
    response = desk.post(f"/backoffice/inquiries/{inquiry.pk}/", {"body": body})
    assert response.status_code == 302


def test_the_history_shows_the_inquiry_and_the_staff_reply(alice_client, alice, sales):
    prius = vehicle(stock_number="KA1001")
    inquiry = ask(alice_client, "/stock/KA1001/inquiry/")
    reply(sales, inquiry, "Yes, the December sailing from Yokohama has space.")
    response = alice_client.get("/mypage/contact-history/")
    assert response.status_code == 200
    body = response.content.decode()
    assert f"Inquiry about KA1001 {prius.title}" in body
    assert "Can you ship the Prius to Mombasa in December?" in body
    assert f"Re: inquiry #{inquiry.pk}" in body
    assert "Yes, the December sailing from Yokohama has space." in body
    assert "Reply from staff" in body
    assert sales.name in body
    # Newest first: the reply above the question.
    assert body.index("December sailing") < body.index("Can you ship the Prius")


def test_another_customer_sees_none_of_it(alice_client, alice, bob, sales):
    inquiry = ask(alice_client)
    reply(sales, inquiry, "Our answer for Alice only.")
    other = Client()
    other.force_login(bob)
    body = other.get("/mypage/contact-history/").content.decode()
    assert "Can you ship the Prius" not in body
    assert "Our answer for Alice only." not in body
    assert "Nothing here yet." in body
    assert not contact_history_for(bob).exists()


def test_an_inquiry_sent_as_a_visitor_with_alices_verified_address_is_in_her_history(
    client, alice, sales
):
    inquiry = ask(client, email="Alice@Example.com", name="Alice W.")
    assert inquiry.user is None
    reply(sales, inquiry, "Thank you Alice, here is the quote.")
    signed_in = Client()
    signed_in.force_login(alice)
    body = signed_in.get("/mypage/contact-history/").content.decode()
    assert "Can you ship the Prius to Mombasa in December?" in body
    assert "Thank you Alice, here is the quote." in body


def test_an_unverified_account_does_not_get_the_history_of_its_address(client, sales):
    ask(client, email="carol@example.com", name="Carol")
    carol = UserFactory(email="carol@example.com", email_verified_at=None)
    signed_in = Client()
    signed_in.force_login(carol)
    body = signed_in.get("/mypage/contact-history/").content.decode()
    assert "Can you ship the Prius" not in body
    assert not contact_history_for(carol).exists()


def test_a_visitors_inquiry_with_bobs_address_stays_out_of_alices_history(client, alice, bob):
    ask(client, email="bob@example.com", name="Bob")
    assert not contact_history_for(alice).exists()
    assert contact_history_for(bob).count() == 1


def test_an_inquiry_linked_to_another_account_is_not_shown_by_address(alice, bob):
    # Bob, signed in, once wrote from alice's address: it is his record, not hers.
    contact_event_record(
        email="alice@example.com",
        customer=bob,
        kind=ContactEvent.Kind.INQUIRY,
        direction=ContactEvent.Direction.INBOUND,
        subject="Bob's question",
    )
    assert not contact_history_for(alice).exists()
    assert contact_history_for(bob).count() == 1


def test_internal_notes_are_never_shown_to_the_customer(alice_client, alice, sales):
    contact_event_record(
        email=alice.email,
        customer=alice,
        kind=ContactEvent.Kind.NOTE,
        direction=ContactEvent.Direction.INTERNAL,
        subject="Slow payer, ask for a deposit",
        staff=sales,
        visible_to_customer=False,
    )
    contact_event_record(
        email=alice.email,
        customer=alice,
        kind=ContactEvent.Kind.NOTICE,
        direction=ContactEvent.Direction.OUTBOUND,
        subject="Your car has been loaded",
    )
    body = alice_client.get("/mypage/contact-history/").content.decode()
    assert "Slow payer" not in body
    assert "Your car has been loaded" in body


def test_the_history_pages_through_long_timelines(alice_client, alice):
    for n in range(35):
        ContactEvent.objects.create(
            customer=alice,
            email=alice.email,
            kind="notice",
            direction="out",
            subject=f"Notice number {n:02d}",
            created_at=timezone.now() - timezone.timedelta(minutes=n),
        )
    first = alice_client.get("/mypage/contact-history/").content.decode()
    assert "Notice number 00" in first and "Notice number 29" in first
    assert "Notice number 30" not in first
    assert "Older" in first
    second = alice_client.get("/mypage/contact-history/", {"page": "2"}).content.decode()
    assert "Notice number 34" in second and "Notice number 00" not in second
    assert alice_client.get("/mypage/contact-history/", {"page": "abc"}).status_code == 200
    assert alice_client.get("/mypage/contact-history/", {"page": "999"}).status_code == 200


def test_the_history_needs_sign_in(client, db):
    response = client.get("/mypage/contact-history/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_a_customer_registered_later_sees_what_they_asked_before(client, sales):
    ask(client, email="dan@example.com", name="Dan")
    dan = customer("dan@example.com", "UG", name="Dan Okello")
    signed_in = Client()
    signed_in.force_login(dan)
    assert "Can you ship the Prius" in signed_in.get("/mypage/contact-history/").content.decode()

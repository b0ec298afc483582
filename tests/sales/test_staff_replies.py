"""The sales desk: the inquiry queue and replies by e-mail, logged in the contact history."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from exportdesk.core.models import AuditEvent
from exportdesk.messaging.models import ContactEvent
from exportdesk.sales.models import Inquiry, InquiryReply
from tests.conftest import staff_login
from tests.factories import staff
from tests.stock.factories import mombasa, vehicle

pytestmark = pytest.mark.django_db


def ask(client: Client, path: str = "/inquiry/", **overrides: object) -> Inquiry:
    data = {
        "name": "Grace Njeri",
        "email": "grace@example.com",
        "country": "KE",
        "port": mombasa().pk,
        "message": "What is the CIF price to Mombasa?",
        "website": "",
    }
    data.update(overrides)
    response = client.post(path, data)
    assert response.status_code == 200, response.content
    return Inquiry.objects.latest("created_at", "id")


@pytest.fixture
def sales_client(sales) -> Client:
    return staff_login(Client(), sales)


def test_sales_staff_see_new_inquiries_in_the_queue(client, sales_client):
    vehicle(stock_number="KA1001")
    ask(client, message="First question about the general stock")
    ask(client, "/stock/KA1001/inquiry/", name="Peter Otieno", email="peter@example.com")
    body = sales_client.get("/backoffice/inquiries/").content.decode()
    assert "Grace Njeri" in body and "grace@example.com" in body
    assert "Peter Otieno" in body
    assert "KA1001" in body
    assert "Kenya" in body and "Mombasa" in body
    # Oldest first: the one waiting longest is answered first.
    assert body.index("Grace Njeri") < body.index("Peter Otieno")


def _queue_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get("/backoffice/inquiries/")
    assert response.status_code == 200
    return len(context.captured_queries)


def test_the_queue_uses_a_fixed_number_of_queries(sales_client):
    def inquiries(count: int, start: int) -> None:
        for n in range(start, start + count):
            car = vehicle()
            ask(
                Client(REMOTE_ADDR=f"192.0.2.{n}"),
                f"/stock/{car.stock_number}/inquiry/",
                email=f"buyer{n}@example.com",
            )

    inquiries(3, 1)
    few = _queue_queries(sales_client)
    inquiries(20, 10)
    assert _queue_queries(sales_client) == few


def test_staff_reply_by_e_mail_and_the_reply_is_logged(client, sales_client, sales, committed):
    inquiry = ask(client)
    page = sales_client.get(f"/backoffice/inquiries/{inquiry.pk}/")
    assert page.status_code == 200
    assert "What is the CIF price to Mombasa?" in page.content.decode()
    mail.outbox.clear()
    with committed():
        response = sales_client.post(
            f"/backoffice/inquiries/{inquiry.pk}/",
            {"body": "CIF Mombasa is JPY 1,157,786. The car is available."},
        )
    assert response.status_code == 302
    page = sales_client.get(response.url).content.decode()
    assert "Your reply was sent by e-mail and logged in the contact history." in page
    assert "CIF Mombasa is JPY 1,157,786." in page

    reply = InquiryReply.objects.get()
    assert (reply.inquiry, reply.staff) == (inquiry, sales)
    inquiry.refresh_from_db()
    assert inquiry.status == "answered"
    event = ContactEvent.objects.get(kind="reply")
    assert (event.direction, event.email, event.staff) == ("out", "grace@example.com", sales)
    assert event.subject == f"Re: inquiry #{inquiry.pk}"
    assert event.source == reply
    assert AuditEvent.objects.filter(action="inquiry.replied", actor_id=sales.pk).exists()

    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["grace@example.com"]
    assert sent.subject == f"Our answer to your inquiry (#{inquiry.pk})"
    assert "Hello Grace Njeri," in sent.body
    assert "CIF Mombasa is JPY 1,157,786." in sent.body
    assert sales.name in sent.body


def test_an_answered_inquiry_leaves_the_new_queue(client, sales_client, sales):
    inquiry = ask(client)
    sales_client.post(f"/backoffice/inquiries/{inquiry.pk}/", {"body": "Yes, available."})
    assert "Grace Njeri" not in sales_client.get("/backoffice/inquiries/").content.decode()
    answered = sales_client.get("/backoffice/inquiries/", {"status": "answered"})
    assert "Grace Njeri" in answered.content.decode()


def test_an_empty_reply_is_refused_and_nothing_is_sent(client, sales_client, committed):
    inquiry = ask(client)
    mail.outbox.clear()
    with committed():
        response = sales_client.post(f"/backoffice/inquiries/{inquiry.pk}/", {"body": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not InquiryReply.objects.exists()
    assert mail.outbox == []
    inquiry.refresh_from_db()
    assert inquiry.status == "new"


def test_an_unknown_inquiry_is_not_found(sales_client):
    assert sales_client.get("/backoffice/inquiries/99999/").status_code == 404


def test_a_customer_gets_403_on_the_queue_and_the_replies(client, alice_client):
    inquiry = ask(client)
    assert alice_client.get("/backoffice/inquiries/").status_code == 403
    assert alice_client.get(f"/backoffice/inquiries/{inquiry.pk}/").status_code == 403
    response = alice_client.post(f"/backoffice/inquiries/{inquiry.pk}/", {"body": "Forged"})
    assert response.status_code == 403
    assert not InquiryReply.objects.exists()


def test_logistics_staff_get_403_on_the_queue(client):
    inquiry = ask(client)
    logistics = staff("lee.logistics@exporter.example", "logistics")
    other = staff_login(Client(), logistics)
    assert other.get("/backoffice/inquiries/").status_code == 403
    assert other.get(f"/backoffice/inquiries/{inquiry.pk}/").status_code == 403
    assert other.post(f"/backoffice/inquiries/{inquiry.pk}/", {"body": "Hi"}).status_code == 403
    assert not InquiryReply.objects.exists()


def test_visitors_are_sent_to_sign_in(client):
    response = client.get("/backoffice/inquiries/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_sales_staff_need_the_second_factor_for_the_queue(sales):
    client = Client()
    from tests.factories import PASSWORD

    client.post("/accounts/login/", {"email": sales.email, "password": PASSWORD})
    response = client.get("/backoffice/inquiries/")
    assert response.status_code == 302
    assert response.url.startswith("/backoffice/second-factor/")

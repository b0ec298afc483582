"""The contact history speaks the customer's language: each entry we write is worded in the
language the customer has when it is written, as the e-mail they received was."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from exportdesk.accounts.models import User
from exportdesk.messaging.models import ContactEvent
from exportdesk.payments.services import Confirmation, credits_confirm
from exportdesk.sales.models import Inquiry
from exportdesk.shipping.models import Shipment
from exportdesk.shipping.shipments import timeline_event_record
from tests.conftest import staff_login
from tests.factories import customer
from tests.payments.factories import bank_credit, confirmed_deposit, proforma_for
from tests.shipping.logistics import officer, passed_inspection, shipment, shippable_order
from tests.stock.factories import mombasa

pytestmark = pytest.mark.django_db


def history_of(user: User) -> str:
    client = Client()
    client.force_login(user)
    response = client.get("/mypage/contact-history/")
    assert response.status_code == 200
    return response.content.decode()


def speaking(user: User, language: str) -> User:
    user.language = language
    user.save(update_fields=["language"])
    return user


def sailed(user: User) -> str:
    """An order of `user` that sails; returns its number."""
    order = shippable_order(user)
    passed_inspection(order)
    booked = shipment(order, book=True)
    for step in (Shipment.Status.AT_PORT, Shipment.Status.LOADED, Shipment.Status.SAILED):
        timeline_event_record(shipment=booked, status=step, actor=officer())
    return order.number


def test_a_japanese_customer_reads_their_history_in_japanese(alice):
    speaking(alice, "ja")
    proforma = proforma_for(alice)
    confirmed_deposit(alice, Decimal("1000"))
    number = sailed(alice)

    body = history_of(alice)
    assert f"プロフォーマインボイス{proforma.number}を発行しました" in body
    assert "入金のお知らせ：USD 1,000.00" in body
    assert f"{number}：出港済み" in body
    assert f"注文 {number} の荷受人が指定されました" in body
    for english in ("issued", "Payment received", "Sailed", "Consignee chosen"):
        assert english not in body


def test_an_english_customer_reads_it_in_english(alice):
    proforma = proforma_for(alice)
    confirmed_deposit(alice, Decimal("1000"))
    number = sailed(alice)

    body = history_of(alice)
    assert f"Proforma {proforma.number} issued" in body
    assert "Payment received: USD 1,000.00" in body
    assert f"{number}: Sailed" in body


def test_one_statement_tells_each_customer_in_their_own_language(alice, bob):
    speaking(alice, "ja")
    speaking(bob, "es")
    carol = customer("carol@example.com", name="Carol Otieno")  # no language chosen: the site's
    people = (alice, bob, carol)
    credits_confirm(
        confirmations=[
            Confirmation(bank_credit(Decimal("2500"), payer="JOHN KAMAU"), person, third_party=True)
            for person in people
        ],
        actor=None,
    )

    told = {
        event.customer_id: (event.subject, event.body)
        for event in ContactEvent.objects.filter(customer__in=people)
    }
    assert told[alice.pk] == (
        "入金のお知らせ：USD 2,500.00",
        "送金人「JOHN KAMAU」：第三者からのお支払いは、ご利用いただく前に当社で確認いたします。",
    )
    assert told[bob.pk] == (
        "Pago recibido: USD 2,500.00",
        "Enviado por JOHN KAMAU: revisamos los pagos de terceros antes de que el dinero pueda "
        "usarse.",
    )
    assert told[carol.pk] == (
        "Payment received: USD 2,500.00",
        "Sent by JOHN KAMAU: we check payments from third parties before the money can be used.",
    )


def test_the_words_are_those_of_the_moment_they_were_written(alice):
    speaking(alice, "ja")
    first = proforma_for(alice)
    speaking(alice, "es")
    second = proforma_for(alice)

    subjects = set(ContactEvent.objects.filter(customer=alice).values_list("subject", flat=True))
    assert f"プロフォーマインボイス{first.number}を発行しました" in subjects
    assert f"Factura proforma {second.number} emitida" in subjects


def inquire(client: Client, language: str = "") -> Inquiry:
    response = client.post(
        "/inquiry/",
        {
            "name": "Grace Njeri",
            "email": "grace@example.com",
            "country": "KE",
            "port": mombasa().pk,
            "message": "Do you have a Hiace for Mombasa?",
            "website": "",
        },
        headers={"Accept-Language": language} if language else {},
    )
    assert response.status_code == 200
    if language == "ja":
        assert "お問い合わせを受け付けました" in response.content.decode()
    return Inquiry.objects.latest("created_at", "id")


def test_a_visitors_inquiry_and_our_reply_are_in_the_language_they_wrote_in(
    client, sales, mailoutbox, committed
):
    # The visitor has no account: the inquiry keeps the language they read the site in.
    with committed():
        inquiry = inquire(client, "ja")
    assert inquiry.language == "ja"
    desk = staff_login(Client(), sales)
    with committed():
        desk.post(f"/backoffice/inquiries/{inquiry.pk}/", {"body": "Yes, two in stock."})

    events = ContactEvent.objects.filter(email="grace@example.com").order_by("pk")
    assert [(e.subject, e.body) for e in events] == [
        ("一般のお問い合わせ", "Do you have a Hiace for Mombasa?"),
        (f"お問い合わせへのご回答（#{inquiry.pk}）", "Yes, two in stock."),
    ]
    # Both e-mails in Japanese too, as the history.
    assert [mail.subject for mail in mailoutbox] == [
        f"お問い合わせを受け付けました（#{inquiry.pk}）",
        f"お問い合わせへのご回答（#{inquiry.pk}）",
    ]


def test_a_visitor_reading_the_site_in_english_is_answered_in_english(client, sales):
    inquiry = inquire(client, "en")
    desk = staff_login(Client(), sales)
    desk.post(f"/backoffice/inquiries/{inquiry.pk}/", {"body": "Yes, two in stock."})

    events = ContactEvent.objects.filter(email="grace@example.com").order_by("pk")
    assert [e.subject for e in events] == ["General inquiry", f"Re: inquiry #{inquiry.pk}"]


def test_a_customers_inquiry_and_the_staff_reply_are_in_their_language(alice_client, alice, sales):
    speaking(alice, "ja")
    inquiry = inquire(alice_client)
    desk = staff_login(Client(), sales)
    desk.post(f"/backoffice/inquiries/{inquiry.pk}/", {"body": "Yes, two in stock."})

    events = ContactEvent.objects.filter(customer=alice).order_by("pk")
    # Our words are translated; what the customer and the staff wrote stays as they wrote it.
    assert [(e.subject, e.body) for e in events] == [
        ("一般のお問い合わせ", "Do you have a Hiace for Mombasa?"),
        (f"お問い合わせへのご回答（#{inquiry.pk}）", "Yes, two in stock."),
    ]

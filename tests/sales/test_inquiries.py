"""Inquiries from visitors and customers: the form, the acknowledgement, spam limits, and the
destination rules that refuse a car its country."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from exportdesk.messaging.models import ContactEvent
from exportdesk.sales.models import Inquiry
from exportdesk.stock.models import CustomerDestination
from tests.stock.factories import kingston, mombasa, vehicle, vladivostok

pytestmark = pytest.mark.django_db


@pytest.fixture
def prius(db):
    return vehicle(stock_number="KA1001", grade="S Touring")


def details(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Grace Njeri",
        "email": "grace@example.com",
        "country": "KE",
        "port": mombasa().pk,
        "message": "Is the car still available? Please quote CIF Mombasa.",
        "website": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_a_visitor_sends_a_general_inquiry(client, committed):
    page = client.get("/inquiry/")
    assert page.status_code == 200
    assert "Contact us" in page.content.decode()
    with committed():
        response = client.post("/inquiry/", details())
    assert response.status_code == 200
    assert "Thank you, we have your message" in response.content.decode()
    inquiry = Inquiry.objects.get()
    assert (inquiry.name, inquiry.email, inquiry.country.code) == (
        "Grace Njeri",
        "grace@example.com",
        "KE",
    )
    assert inquiry.port == mombasa()
    assert inquiry.vehicle is None
    assert inquiry.user is None
    assert inquiry.status == "new"
    assert inquiry.ip_address == "127.0.0.1"
    event = ContactEvent.objects.get()
    assert (event.kind, event.direction, event.email) == ("inquiry", "in", "grace@example.com")
    assert event.subject == "General inquiry"
    assert event.source == inquiry
    assert len(mail.outbox) == 1
    ack = mail.outbox[0]
    assert ack.to == ["grace@example.com"]
    assert ack.subject == f"We have your inquiry (#{inquiry.pk})"
    assert "Hello Grace Njeri," in ack.body
    assert "Please quote CIF Mombasa." in ack.body


def test_a_visitor_asks_about_one_vehicle(client, committed, prius):
    page = client.get("/stock/KA1001/inquiry/").content.decode()
    assert "Ask about this vehicle" in page
    assert prius.title in page
    with committed():
        response = client.post("/stock/KA1001/inquiry/", details(email="Grace@Example.COM "))
    assert response.status_code == 200
    assert "Back to the vehicle" in response.content.decode()
    inquiry = Inquiry.objects.get()
    assert inquiry.vehicle == prius
    assert inquiry.email == "grace@example.com"
    event = ContactEvent.objects.get()
    assert event.subject == f"Inquiry about KA1001 {prius.title}"
    assert mail.outbox[0].to == ["grace@example.com"]


def test_nothing_is_sent_before_the_inquiry_is_committed(client):
    client.post("/inquiry/", details())
    assert Inquiry.objects.count() == 1
    assert mail.outbox == []  # the e-mail waits for the commit


def test_a_signed_in_customers_form_is_pre_filled(alice_client, alice):
    body = alice_client.get("/inquiry/").content.decode()
    assert 'value="Alice Wanjiru"' in body
    assert 'value="alice@example.com"' in body
    assert '<option value="KE" selected>' in body


def test_the_chosen_destination_pre_fills_country_and_port(alice_client, alice, prius):
    port = kingston()
    CustomerDestination.objects.create(user=alice, port=port, method="roro", currency="USD")
    body = alice_client.get("/stock/KA1001/inquiry/").content.decode()
    assert '<option value="JM" selected>' in body
    assert f'<option value="{port.pk}" selected>' in body


def test_a_signed_in_customers_inquiry_is_linked_to_them(alice_client, alice, committed):
    with committed():
        alice_client.post(
            "/inquiry/", details(name="Alice Wanjiru", email="alice@example.com", country="KE")
        )
    inquiry = Inquiry.objects.get()
    assert inquiry.user == alice
    assert ContactEvent.objects.get().customer == alice
    assert mail.outbox[0].to == ["alice@example.com"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "This field is required."),
        ("email", "not-an-address", "Enter a valid email address."),
        ("country", "", "This field is required."),
        ("country", "XX", "Select a valid choice."),
        ("port", "99999", "Select a valid choice."),
        ("port", "abc", "Select a valid choice."),
        ("message", "", "This field is required."),
        ("message", "x" * 4001, "Ensure this value has at most 4000 characters"),
    ],
)
def test_a_bad_field_re_renders_the_form_and_stores_nothing(client, field, value, message):
    response = client.post("/inquiry/", details(**{field: value}))
    assert response.status_code == 400
    body = response.content.decode()
    assert "Please correct the problems below." in body
    assert message in body
    assert not Inquiry.objects.exists()
    assert not ContactEvent.objects.exists()
    assert mail.outbox == []


def test_a_port_outside_the_chosen_country_is_refused(client):
    response = client.post("/inquiry/", details(country="KE", port=kingston().pk))
    assert response.status_code == 400
    assert "That port is not in the country you chose." in response.content.decode()
    assert not Inquiry.objects.exists()


def test_the_honeypot_field_filled_in_by_a_bot_is_refused_and_nothing_stored(client, committed):
    with committed():
        response = client.post("/inquiry/", details(website="http://cheap-pills.example"))
    assert response.status_code == 400
    assert not Inquiry.objects.exists()
    assert not ContactEvent.objects.exists()
    assert mail.outbox == []


def test_the_honeypot_is_hidden_from_people(client):
    body = client.get("/inquiry/").content.decode()
    assert 'class="hp-field"' in body
    assert 'name="website"' in body
    assert 'tabindex="-1"' in body


def test_a_flood_from_one_address_is_stopped_with_429(client, settings, committed):
    settings.INQUIRY_THROTTLE_PER_IP = 3
    settings.INQUIRY_THROTTLE_PER_EMAIL = 100
    for n in range(3):
        with committed():
            response = client.post("/inquiry/", details(email=f"buyer{n}@example.com"))
        assert response.status_code == 200, n
    with committed():
        response = client.post("/inquiry/", details(email="buyer9@example.com"))
    assert response.status_code == 429
    assert "You have sent several inquiries in a short time." in response.content.decode()
    assert Inquiry.objects.count() == 3
    assert len(mail.outbox) == 3
    # Someone else, on another address, is not affected.
    other = Client(REMOTE_ADDR="198.51.100.7")
    assert other.post("/inquiry/", details(email="buyer9@example.com")).status_code == 200


def test_a_flood_to_one_e_mail_address_is_stopped_whatever_the_ip(client, settings):
    settings.INQUIRY_THROTTLE_PER_EMAIL = 2
    settings.INQUIRY_THROTTLE_PER_IP = 100
    for n, email in enumerate(["victim@example.com", "VICTIM@example.com"]):
        c = Client(REMOTE_ADDR=f"203.0.113.{n + 1}")
        assert c.post("/inquiry/", details(email=email)).status_code == 200
    c = Client(REMOTE_ADDR="203.0.113.99")
    response = c.post("/inquiry/", details(email="victim@example.com"))
    assert response.status_code == 429
    assert "Please wait an hour and try again." in response.content.decode()
    assert Inquiry.objects.count() == 2


def test_a_spoofed_forwarded_for_header_does_not_escape_the_ip_limit(client, settings):
    settings.INQUIRY_THROTTLE_PER_IP = 2
    for n in range(2):
        client.post(
            "/inquiry/", details(email=f"b{n}@example.com"), HTTP_X_FORWARDED_FOR=f"10.0.0.{n}"
        )
    response = client.post(
        "/inquiry/", details(email="b9@example.com"), HTTP_X_FORWARDED_FOR="10.0.0.9"
    )
    assert response.status_code == 429


def test_an_inquiry_about_a_left_hand_drive_car_to_kenya_is_refused_with_the_reason(client):
    vehicle(stock_number="LHD001", steering="lhd")
    response = client.post("/stock/LHD001/inquiry/", details(country="KE"))
    assert response.status_code == 400
    assert "Kenya accepts only right-hand drive vehicles." in response.content.decode()
    assert not Inquiry.objects.exists()
    assert mail.outbox == []


def test_an_inquiry_about_a_hybrid_to_russia_is_refused_with_the_reason(client):
    vehicle(stock_number="HY0001", fuel="hybrid", engine_cc=1500)
    response = client.post("/stock/HY0001/inquiry/", details(country="RU", port=vladivostok().pk))
    assert response.status_code == 400
    assert (
        "Export from Japan to Russia is banned for hybrid vehicles (since 2023-08-09)."
        in response.content.decode()
    )
    assert not Inquiry.objects.exists()


def test_the_same_car_may_be_asked_about_for_a_country_that_takes_it(client, committed):
    vehicle(stock_number="LHD001", steering="lhd")
    with committed():
        response = client.post("/stock/LHD001/inquiry/", details(country="UG", port=None))
    assert response.status_code == 200
    assert Inquiry.objects.get().country.code == "UG"


def test_an_inquiry_about_a_car_not_on_sale_is_not_found(client):
    vehicle(stock_number="SOLD01", status="sold")
    assert client.get("/stock/SOLD01/inquiry/").status_code == 404
    assert client.post("/stock/SOLD01/inquiry/", details()).status_code == 404
    assert client.post("/stock/NOPE/inquiry/", details()).status_code == 404
    assert not Inquiry.objects.exists()


def test_the_inquiry_form_needs_the_csrf_token(db):
    response = Client(enforce_csrf_checks=True).post("/inquiry/", details())
    assert response.status_code == 403
    assert not Inquiry.objects.exists()

"""Proformas as the exporter issues them and the customer receives them: priced from the tables,
numbered without gaps per fiscal year, reserving the cars, refused for banned destinations,
accepted into an order, private to their customer, released when unpaid past the due date."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from exportdesk.accounts.models import User
from exportdesk.messaging.models import ContactEvent
from exportdesk.payments.services import reservations_release
from exportdesk.sales.models import BankAccount, Invoice, LineKind, Order, Proforma
from exportdesk.sales.numbers import document_number_next, fiscal_year_of
from exportdesk.sales.services import order_mark_paid
from exportdesk.stock.models import Port, ShippingMethod, Vehicle, VehicleStatus
from exportdesk.stock.pricing import price_to_port
from exportdesk.stock.rules import rules_for, verdict_for
from tests.conftest import staff_login
from tests.payments.factories import bank_account, order_for, proforma_for
from tests.stock.factories import mombasa, roro_rate, vehicle, vladivostok

pytestmark = pytest.mark.django_db


@pytest.fixture
def sales_client(client: Client, sales: User) -> Client:
    return staff_login(client, sales)


@pytest.fixture
def yen_account() -> BankAccount:
    # Yen proformas keep the expected amounts exactly those of the price tables.
    return bank_account("JPY", code="mufg-jpy")


@pytest.fixture
def bob_client(bob: User) -> Client:
    other = Client()
    other.force_login(bob)
    return other


def form(
    *, customer: User, cars: list[Vehicle], account: BankAccount, **overrides: object
) -> dict[str, object]:
    data: dict[str, object] = {
        "customer_email": customer.email,
        "stock_numbers": " ".join(car.stock_number for car in cars),
        "incoterm": "CNF",
        "destination_country": "KE",
        "port": mombasa().pk,
        "method": ShippingMethod.RORO,
        "bank_account": account.pk,
        "extra_charges": "",
        "due_date": "",
        "notes": "",
    }
    data.update(overrides)
    return data


def page_text(response) -> str:
    return unescape(response.content.decode())


def car_of(proforma: Proforma) -> Vehicle:
    car = proforma.lines.get(kind=LineKind.VEHICLE).vehicle
    assert car is not None
    return car


def this_fiscal_year() -> int:
    return fiscal_year_of(timezone.localdate())


# --- Issuing ------------------------------------------------------------------------------------


def test_it_issues_a_proforma_that_reserves_the_car_and_emails_the_customer(
    sales_client, alice, yen_account, mailoutbox, committed
):
    roro_rate(mombasa())
    car = vehicle()
    with committed():
        response = sales_client.post(
            "/backoffice/sales/proformas/new/",
            form(customer=alice, cars=[car], account=yen_account),
        )
    assert response.status_code == 302, page_text(response)
    proforma = Proforma.objects.get()
    assert response.url == f"/backoffice/sales/proformas/{proforma.number}/"
    assert proforma.number == f"PF-{this_fiscal_year()}-00001"
    assert proforma.customer == alice and proforma.status == Proforma.Status.ISSUED
    car.refresh_from_db()
    assert car.status == VehicleStatus.RESERVED

    (mail,) = mailoutbox
    assert mail.to == [alice.email]
    assert proforma.number in mail.subject
    assert f"/mypage/proformas/{proforma.number}/" in mail.body
    assert proforma.verification_code in mail.body
    assert ContactEvent.objects.filter(customer=alice, subject__contains=proforma.number).exists()

    detail = sales_client.get(response.url)
    assert f"Proforma {proforma.number} issued and sent." in page_text(detail)


def _expected_price(car: Vehicle, port: Port):
    verdict = verdict_for(car, "KE", rules_for("KE"))
    return price_to_port(vehicle=car, port=port, method=ShippingMethod.RORO, verdict=verdict)


def _lines(proforma: Proforma) -> dict[str, Decimal]:
    return {line.kind: line.amount for line in proforma.lines.all()}


@pytest.mark.parametrize(
    ("incoterm", "kinds"),
    [
        ("FOB", {LineKind.VEHICLE}),
        ("CNF", {LineKind.VEHICLE, LineKind.INSPECTION, LineKind.FREIGHT}),
        ("CIF", {LineKind.VEHICLE, LineKind.INSPECTION, LineKind.FREIGHT, LineKind.INSURANCE}),
    ],
)
def test_it_prices_the_lines_from_the_freight_and_insurance_tables(
    sales_client, alice, yen_account, incoterm, kinds
):
    port = mombasa()
    roro_rate(port, per_m3_jpy=9500)
    car = vehicle(fob_price_jpy=1_000_000)
    overrides: dict[str, object] = {"incoterm": incoterm}
    if incoterm == "FOB":
        overrides["port"] = ""
    response = sales_client.post(
        "/backoffice/sales/proformas/new/",
        form(customer=alice, cars=[car], account=yen_account, **overrides),
    )
    assert response.status_code == 302, page_text(response)
    proforma = Proforma.objects.get()
    lines = _lines(proforma)
    assert set(lines) == kinds
    assert lines[LineKind.VEHICLE] == Decimal(1_000_000)
    expected = _expected_price(car, port)
    if incoterm != "FOB":
        assert lines[LineKind.FREIGHT] == Decimal(expected.freight_jpy) > 0
        assert lines[LineKind.INSPECTION] == Decimal(30_000)  # Kenya's pre-shipment inspection
    if incoterm == "CIF":
        assert lines[LineKind.INSURANCE] == Decimal(expected.insurance_jpy) > 0
        assert proforma.total == Decimal(expected.cif_jpy)
    elif incoterm == "CNF":
        assert proforma.total == Decimal(expected.cnf_jpy)
    else:
        assert proforma.total == Decimal(1_000_000)
    assert proforma.currency == "JPY"


def test_it_adds_other_charges_and_refuses_a_badly_written_one(sales_client, alice, yen_account):
    roro_rate(mombasa())
    car = vehicle()
    bad = sales_client.post(
        "/backoffice/sales/proformas/new/",
        form(customer=alice, cars=[car], account=yen_account, extra_charges="Radiator guard"),
    )
    assert bad.status_code == 400
    assert "Line 1: write it as description = amount (more than zero)." in page_text(bad)
    assert not Proforma.objects.exists()

    good = sales_client.post(
        "/backoffice/sales/proformas/new/",
        form(
            customer=alice, cars=[car], account=yen_account, extra_charges="Radiator guard = 15000"
        ),
    )
    assert good.status_code == 302
    other = Proforma.objects.get().lines.get(kind=LineKind.OTHER)
    assert other.description == "Radiator guard" and other.amount == Decimal(15000)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"customer_email": "nobody@example.com"}, "No active customer account has this address."),
        ({"stock_numbers": "NOPE01"}, "Unknown stock numbers: NOPE01"),
        ({"port": ""}, "C&F and CIF need a port of discharge."),
        ({"destination_country": "JM"}, "The port is not in the destination country."),
        ({"due_date": "2020-01-01"}, "The due date cannot be in the past."),
        ({"incoterm": "EXW"}, "Select a valid choice. EXW is not one of the available choices."),
    ],
    ids=["unknown customer", "unknown car", "no port", "port elsewhere", "past due", "incoterm"],
)
def test_it_refuses_a_proforma_form_that_makes_no_sense(
    sales_client, alice, yen_account, changes, message
):
    roro_rate(mombasa())
    car = vehicle()
    response = sales_client.post(
        "/backoffice/sales/proformas/new/",
        form(customer=alice, cars=[car], account=yen_account, **changes),
    )
    assert response.status_code == 400
    assert message in page_text(response)
    assert not Proforma.objects.exists()
    car.refresh_from_db()
    assert car.status == VehicleStatus.AVAILABLE


def test_it_refuses_a_port_with_no_freight_rate_on_file(sales_client, alice, yen_account):
    car = vehicle()
    response = sales_client.post(
        "/backoffice/sales/proformas/new/", form(customer=alice, cars=[car], account=yen_account)
    )
    assert response.status_code == 400
    assert "freight rate is on file for" in page_text(response)
    assert not Proforma.objects.exists()


def test_it_numbers_proformas_without_gaps(alice):
    first, second = proforma_for(alice), proforma_for(alice)
    year = this_fiscal_year()
    assert (first.number, second.number) == (f"PF-{year}-00001", f"PF-{year}-00002")
    assert first.fiscal_year == second.fiscal_year == year


def test_it_restarts_numbering_each_fiscal_year_starting_in_april():
    def next_on(day: date) -> str:
        with transaction.atomic():
            return document_number_next(kind="proforma", day=day)[0]

    assert next_on(date(2026, 3, 31)) == "PF-2025-00001"
    assert next_on(date(2026, 4, 1)) == "PF-2026-00001"
    assert next_on(date(2026, 12, 31)) == "PF-2026-00002"
    assert next_on(date(2027, 3, 31)) == "PF-2026-00003"
    assert next_on(date(2027, 4, 1)) == "PF-2027-00001"
    # A late entry for the old year continues that year's sequence.
    assert next_on(date(2026, 1, 15)) == "PF-2025-00002"


def test_a_document_that_is_rolled_back_gives_its_number_back():
    day = date(2026, 6, 1)
    with pytest.raises(RuntimeError), transaction.atomic():
        assert document_number_next(kind="invoice", day=day)[0] == "INV-2026-00001"
        raise RuntimeError("the invoice could not be saved")
    with transaction.atomic():
        assert document_number_next(kind="invoice", day=day)[0] == "INV-2026-00001"


def test_it_refuses_a_proforma_to_a_banned_destination_and_reserves_nothing(
    sales_client, alice, yen_account, mailoutbox, committed
):
    port = vladivostok()
    roro_rate(port)
    big = vehicle(engine_cc=2500, fob_price_jpy=2_000_000)
    with committed():
        response = sales_client.post(
            "/backoffice/sales/proformas/new/",
            form(
                customer=alice,
                cars=[big],
                account=yen_account,
                destination_country="RU",
                port=port.pk,
            ),
        )
    assert response.status_code == 400
    text = page_text(response)
    assert f"{big.stock_number}: Export from Japan to Russia is banned for " in text
    assert "engines over 1,900 cc (since 2023-08-09)." in text
    assert not Proforma.objects.exists()
    big.refresh_from_db()
    assert big.status == VehicleStatus.AVAILABLE
    assert mailoutbox == []


def test_a_banned_car_among_several_leaves_all_of_them_on_sale(sales_client, alice, yen_account):
    port = vladivostok()
    roro_rate(port)
    small, big = vehicle(engine_cc=1500), vehicle(engine_cc=2500)
    response = sales_client.post(
        "/backoffice/sales/proformas/new/",
        form(
            customer=alice,
            cars=[small, big],
            account=yen_account,
            destination_country="RU",
            port=port.pk,
        ),
    )
    assert response.status_code == 400
    assert not Proforma.objects.exists()
    assert set(
        Vehicle.objects.filter(pk__in=[small.pk, big.pk]).values_list("status", flat=True)
    ) == {VehicleStatus.AVAILABLE}


def test_a_reserved_car_cannot_go_on_a_second_proforma(sales_client, alice, bob, yen_account):
    car = vehicle()
    first = proforma_for(alice, car=car)
    response = sales_client.post(
        "/backoffice/sales/proformas/new/",
        form(customer=bob, cars=[car], account=yen_account),
    )
    assert response.status_code == 400
    assert f"{car.stock_number} is Reserved, not available." in page_text(response)
    assert list(Proforma.objects.all()) == [first]
    car.refresh_from_db()
    assert car.status == VehicleStatus.RESERVED


def test_a_customer_cannot_issue_proformas(alice_client, alice, yen_account):
    car = vehicle()
    response = alice_client.post(
        "/backoffice/sales/proformas/new/", form(customer=alice, cars=[car], account=yen_account)
    )
    assert response.status_code == 403
    assert not Proforma.objects.exists()


# --- The customer's side ------------------------------------------------------------------------


def test_it_shows_the_customer_their_proforma_with_its_verification_code(alice_client, alice):
    proforma = proforma_for(alice)
    response = alice_client.get(f"/mypage/proformas/{proforma.number}/")
    assert response.status_code == 200
    text = page_text(response)
    assert proforma.number in text
    assert proforma.verification_code in text
    assert f"/verify/{proforma.verification_code}/" in text
    assert "Accept and place the order" in text
    assert proforma.bank_details["account_number"] in text


def test_the_customer_accepts_their_proforma_and_gets_an_order(alice_client, alice):
    proforma = proforma_for(alice)
    response = alice_client.post(f"/mypage/proformas/{proforma.number}/")
    assert response.status_code == 302
    order = Order.objects.get(proforma=proforma)
    assert order.customer == alice and order.status == Order.Status.OPEN
    assert order.total == proforma.total and order.currency == proforma.currency
    proforma.refresh_from_db()
    assert proforma.status == Proforma.Status.ACCEPTED

    page = page_text(alice_client.get(response.url))
    assert f"Your order number is {order.number}" in page
    assert "I have paid: declare the payment" in page

    # Accepting twice places no second order.
    again = alice_client.post(f"/mypage/proformas/{proforma.number}/", follow=True)
    assert "can no longer be accepted" in page_text(again)
    assert Order.objects.count() == 1


def test_the_customer_cannot_accept_a_proforma_past_its_due_date(alice_client, alice):
    proforma = proforma_for(alice)
    Proforma.objects.filter(pk=proforma.pk).update(due_date=date(2020, 1, 1))
    response = alice_client.post(f"/mypage/proformas/{proforma.number}/", follow=True)
    assert "This proforma is past its due date." in page_text(response)
    assert not Order.objects.exists()


def test_it_lists_the_customers_own_proformas_only(alice_client, alice, bob):
    mine, theirs = proforma_for(alice), proforma_for(bob)
    text = page_text(alice_client.get("/mypage/invoices/"))
    assert mine.number in text
    assert theirs.number not in text


def _paid_invoice(customer: User) -> Invoice:
    order = order_for(customer)
    with transaction.atomic():
        return order_mark_paid(order=order, actor=None)


def test_another_customer_gets_404_on_the_proforma_its_pdf_and_the_invoice(alice, bob_client):
    proforma = proforma_for(alice)
    invoice = _paid_invoice(alice)
    for url in (
        f"/mypage/proformas/{proforma.number}/",
        f"/mypage/proformas/{proforma.number}/pdf/",
        f"/mypage/invoices/{invoice.number}/",
        f"/mypage/invoices/{invoice.number}/pdf/",
    ):
        assert bob_client.get(url).status_code == 404, url
    # Nor can Bob accept Alice's proforma.
    assert bob_client.post(f"/mypage/proformas/{proforma.number}/").status_code == 404
    assert not Order.objects.filter(proforma=proforma).exists()


def test_a_visitor_is_sent_to_sign_in_for_a_proforma(client, alice):
    proforma = proforma_for(alice)
    response = client.get(f"/mypage/proformas/{proforma.number}/pdf/")
    assert response.status_code == 302
    assert "/accounts/login/" in response.url


def test_the_proforma_pdf_is_a_real_pdf(alice_client, alice):
    proforma = proforma_for(alice)
    response = alice_client.get(f"/mypage/proformas/{proforma.number}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="{proforma.number}.pdf"' in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    assert response.content.startswith(b"%PDF")
    assert b"%%EOF" in response.content[-1024:]
    assert len(response.content) > 5 * 1024


def test_the_paid_invoice_is_shown_and_downloadable(alice_client, alice):
    invoice = _paid_invoice(alice)
    page = page_text(alice_client.get(f"/mypage/invoices/{invoice.number}/"))
    assert invoice.number in page and invoice.verification_code in page
    assert invoice.order.number in page
    listing = page_text(alice_client.get("/mypage/invoices/"))
    assert invoice.number in listing
    pdf = alice_client.get(f"/mypage/invoices/{invoice.number}/pdf/")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF") and len(pdf.content) > 5 * 1024


# --- Releasing reservations ---------------------------------------------------------------------


def test_it_releases_an_overdue_unpaid_proforma_and_tells_the_customer(
    alice, mailoutbox, committed
):
    proforma = proforma_for(alice)
    car = car_of(proforma)
    # Not yet overdue on the due date itself.
    assert reservations_release(today=proforma.due_date) == 0

    with committed():
        released = reservations_release(today=proforma.due_date + timedelta(days=1))
    assert released == 1
    proforma.refresh_from_db()
    assert proforma.status == Proforma.Status.EXPIRED
    car.refresh_from_db()
    assert car.status == VehicleStatus.AVAILABLE
    expired = [m for m in mailoutbox if "has expired" in m.subject]
    assert [m.to for m in expired] == [[alice.email]]
    assert proforma.number in expired[0].subject
    assert ContactEvent.objects.filter(
        customer=alice, subject=f"Proforma {proforma.number} expired"
    ).exists()

    # Running the job again changes nothing and sends nothing.
    with committed():
        assert reservations_release(today=proforma.due_date + timedelta(days=2)) == 0
    assert len([m for m in mailoutbox if "has expired" in m.subject]) == 1


def test_it_cancels_an_accepted_but_unpaid_order_when_the_proforma_expires(alice):
    order = order_for(alice)
    assert reservations_release(today=order.proforma.due_date + timedelta(days=1)) == 1
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert car_of(order.proforma).status == VehicleStatus.AVAILABLE


def test_it_leaves_a_paid_proforma_alone(bob, mailoutbox, committed):
    order = order_for(bob)
    with transaction.atomic():
        order_mark_paid(order=order, actor=None)
    mailoutbox.clear()
    with committed():
        assert reservations_release(today=order.proforma.due_date + timedelta(days=30)) == 0
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.proforma.status == Proforma.Status.ACCEPTED
    car = car_of(order.proforma)
    assert car.status == VehicleStatus.SOLD
    assert mailoutbox == []


def test_the_default_due_date_counts_days_the_banks_are_open(
    sales_client, alice, yen_account, monkeypatch
):
    # Issued on the Thursday before Golden Week: five bank days later is 12 May, not 7 May.
    monkeypatch.setattr(timezone, "localdate", lambda *args: date(2026, 4, 30))
    roro_rate(mombasa())
    response = sales_client.post(
        "/backoffice/sales/proformas/new/",
        form(customer=alice, cars=[vehicle()], account=yen_account),
    )
    assert response.status_code == 302, page_text(response)
    assert Proforma.objects.get().due_date == date(2026, 5, 12)

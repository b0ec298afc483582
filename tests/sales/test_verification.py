"""The public verification page: anyone holding a proforma or invoice can check that its amount,
due date and bank account are genuine, without learning anything about the customer."""

from __future__ import annotations

from html import unescape
from urllib.parse import quote

import pytest
from django.db import transaction
from django.test import Client

from exportdesk.accounts.models import User
from exportdesk.sales.models import BankAccount, LineKind, Proforma
from exportdesk.sales.numbers import _CODE_ALPHABET
from exportdesk.sales.services import order_mark_paid
from tests.payments.factories import order_for, proforma_for

pytestmark = pytest.mark.django_db


def text_of(response) -> str:
    return unescape(response.content.decode())


def tampered(code: str) -> str:
    """The same code with its first character swapped for another valid one."""
    first = code[0]
    other = next(ch for ch in _CODE_ALPHABET if ch != first)
    return other + code[1:]


def assert_nothing_personal(text: str, customer: User, proforma: Proforma) -> None:
    car = proforma.lines.get(kind=LineKind.VEHICLE).vehicle
    assert car is not None
    for secret in (
        customer.name,
        customer.email,
        customer.customer_number,
        car.stock_number,
        car.chassis_number,
        car.title,
    ):
        assert secret not in text, secret


def test_it_shows_a_visitor_the_genuine_amount_due_date_and_bank_account(client, alice):
    proforma = proforma_for(alice)
    response = client.get(f"/verify/{proforma.verification_code}/")
    assert response.status_code == 200
    assert response["X-Robots-Tag"] == "noindex"
    text = text_of(response)
    assert f"Genuine document {proforma.number}" in text
    amount = f"{proforma.total:,.2f}"
    assert f"USD {amount}" in text
    assert proforma.due_date.isoformat() in text
    bank = proforma.bank_details
    for value in (bank["account_number"], bank["swift_bic"], bank["account_holder"]):
        assert value in text
    assert bank["bank_name"] in text
    assert_nothing_personal(text, alice, proforma)


def test_it_verifies_a_commercial_invoice_without_a_due_date(client, alice):
    order = order_for(alice)
    with transaction.atomic():
        invoice = order_mark_paid(order=order, actor=None)
    response = client.get(f"/verify/{invoice.verification_code}/")
    assert response.status_code == 200
    text = text_of(response)
    assert f"Genuine document {invoice.number}" in text
    assert "Commercial invoice" in text
    assert "Pay by" not in text
    assert invoice.bank_details["account_number"] in text
    assert_nothing_personal(text, alice, order.proforma)
    assert order.number not in text


@pytest.mark.parametrize(
    "typed",
    [
        lambda code: code.lower(),
        lambda code: code.replace("-", ""),
        lambda code: code.replace("-", " "),
        lambda code: " " + code.lower().replace("-", " - ") + " ",
    ],
    ids=["lower case", "no dashes", "spaces", "spaced dashes"],
)
def test_it_forgives_case_spaces_and_dashes_in_the_code(client, alice, typed):
    proforma = proforma_for(alice)
    entered = typed(proforma.verification_code)
    # Typed into the form: sent on to the canonical address.
    response = client.get("/verify/", {"code": entered})
    assert response.status_code == 302
    assert response.url == f"/verify/{proforma.verification_code}/"
    # Or typed straight into the address bar.
    direct = client.get(f"/verify/{quote(entered)}/")
    assert direct.status_code == 200
    assert f"Genuine document {proforma.number}" in text_of(direct)


def test_a_tampered_code_says_no_document_has_it(client, alice):
    proforma = proforma_for(alice)
    response = client.get(f"/verify/{tampered(proforma.verification_code)}/")
    assert response.status_code == 404
    text = text_of(response)
    assert "No document has this verification code." in text
    assert "do not pay" in text
    assert proforma.number not in text
    assert proforma.bank_details["account_number"] not in text


def test_a_code_of_the_wrong_length_in_the_address_is_not_found(client, alice):
    proforma = proforma_for(alice)
    response = client.get(f"/verify/{proforma.verification_code[:-1]}/")
    assert response.status_code == 404
    assert "No document has this verification code." in text_of(response)


@pytest.mark.parametrize("garbage", ["garbage", "12345", "ABCD-EFGH-JKMN-PQRT", "!!!!"])
def test_garbage_typed_into_the_form_is_refused_with_a_message(client, garbage):
    response = client.get("/verify/", {"code": garbage})
    assert response.status_code == 400
    assert "A verification code has 12 letters and digits." in text_of(response)


def test_an_empty_check_form_is_refused_and_the_blank_page_opens(client):
    assert client.get("/verify/").status_code == 200
    response = client.get("/verify/", {"code": ""})
    assert response.status_code == 400


def test_it_works_for_a_signed_in_customer_of_someone_elses_document(alice, bob):
    proforma = proforma_for(alice)
    other = Client()
    other.force_login(bob)
    response = other.get(f"/verify/{proforma.verification_code}/")
    assert response.status_code == 200
    assert_nothing_personal(text_of(response), alice, proforma)


def test_it_warns_when_the_account_on_the_document_is_no_longer_in_use(client, alice):
    proforma = proforma_for(alice)
    BankAccount.objects.filter(pk=proforma.bank_account_id).update(is_active=False)
    text = text_of(client.get(f"/verify/{proforma.verification_code}/"))
    assert "This account is no longer in use." in text

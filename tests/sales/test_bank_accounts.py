"""Four-eyes changes to the exporter's bank accounts: one accountant proposes, a different one
approves; only then does anything change, it is audited, and customers with open proformas
hear of it from us."""

from __future__ import annotations

from html import unescape

import pytest
from django.db import transaction
from django.test import Client

from exportdesk.accounts.models import User
from exportdesk.core.models import AuditEvent
from exportdesk.messaging.models import ContactEvent
from exportdesk.sales.models import BankAccount, BankAccountChange
from exportdesk.sales.services import order_mark_paid
from tests.conftest import staff_login
from tests.factories import staff
from tests.payments.factories import bank_account, order_for, proforma_for

pytestmark = pytest.mark.django_db

NEW_NUMBER = "0009999999"


@pytest.fixture
def accountant_a() -> User:
    return staff("acc.one@exporter.example", "accounting")


@pytest.fixture
def accountant_b() -> User:
    return staff("acc.two@exporter.example", "accounting")


@pytest.fixture
def a_client(accountant_a: User) -> Client:
    return staff_login(Client(), accountant_a)


@pytest.fixture
def b_client(accountant_b: User) -> Client:
    return staff_login(Client(), accountant_b)


@pytest.fixture
def account() -> BankAccount:
    return bank_account("USD", code="mufg-usd")


def text_of(response) -> str:
    return unescape(response.content.decode())


def details(account: BankAccount, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "code": account.code,
        "bank_name": account.bank_name,
        "branch_name": account.branch_name,
        "bank_address": account.bank_address,
        "swift_bic": account.swift_bic,
        "account_number": account.account_number,
        "iban": account.iban,
        "account_holder": account.account_holder,
        "currency": account.currency,
        "statement_identification": account.statement_identification,
        "is_active": "on" if account.is_active else "",
    }
    data.update(changes)
    return data


def propose(client: Client, account: BankAccount, **changes: object) -> BankAccountChange:
    response = client.post(
        f"/backoffice/sales/bank-accounts/{account.pk}/", details(account, **changes)
    )
    assert response.status_code == 302, text_of(response)
    assert response["Location"] == "/backoffice/sales/bank-accounts/"
    return BankAccountChange.objects.latest("id")


def decide(client: Client, change: BankAccountChange, decision: str = "approve"):
    return client.post(
        f"/backoffice/sales/bank-accounts/changes/{change.pk}/decide/",
        {"decision": decision, "reason": "Checked with the bank by phone"},
        follow=True,
    )


def test_a_proposed_change_leaves_the_live_account_as_it_is(a_client, accountant_a, account):
    change = propose(a_client, account, account_number=NEW_NUMBER)
    assert change.status == BankAccountChange.Status.PENDING
    assert change.proposed_by == accountant_a
    assert change.proposed["account_number"] == NEW_NUMBER
    account.refresh_from_db()
    assert account.account_number == "0001234567"
    assert AuditEvent.objects.filter(action="bank_account.change_proposed").count() == 1
    page = text_of(a_client.get("/backoffice/sales/bank-accounts/"))
    assert "Change proposed. A second member of accounting must approve it." in page
    assert "Waiting for a colleague" in page


def test_an_accountant_cannot_approve_their_own_change(
    a_client, account, alice, mailoutbox, committed
):
    proforma_for(alice)
    change = propose(a_client, account, account_number=NEW_NUMBER)
    mailoutbox.clear()
    with committed():
        response = decide(a_client, change)
    assert "A second member of accounting must approve a change you proposed." in text_of(response)
    change.refresh_from_db()
    assert change.status == BankAccountChange.Status.PENDING
    account.refresh_from_db()
    assert account.account_number == "0001234567"
    assert not AuditEvent.objects.filter(action="bank_account.change_approved").exists()
    assert mailoutbox == []


def test_a_second_accountant_approves_and_the_change_is_applied_audited_and_announced(
    a_client, b_client, accountant_a, accountant_b, account, alice, bob, mailoutbox, committed
):
    proforma_for(alice)  # Alice has an open proforma; Bob has nothing open.
    change = propose(a_client, account, account_number=NEW_NUMBER, iban="GB33BUKB20201555555555")
    mailoutbox.clear()
    with committed():
        response = decide(b_client, change)
    assert "Approved and applied." in text_of(response)

    change.refresh_from_db()
    assert change.status == BankAccountChange.Status.APPROVED
    assert change.decided_by == accountant_b
    account.refresh_from_db()
    assert account.account_number == NEW_NUMBER
    assert account.iban == "GB33BUKB20201555555555"

    event = AuditEvent.objects.get(action="bank_account.change_approved")
    assert event.actor_id == accountant_b.pk
    assert event.details["proposed_by"] == accountant_a.pk

    assert [m.to for m in mailoutbox] == [[alice.email]]
    assert "bank account details have changed" in mailoutbox[0].subject
    assert ContactEvent.objects.filter(
        customer=alice, subject="Our bank account details have changed"
    ).exists()
    assert not ContactEvent.objects.filter(
        customer=bob, subject="Our bank account details have changed"
    ).exists()


def test_an_issued_proforma_keeps_the_bank_details_it_was_printed_with(
    a_client, b_client, account, alice
):
    proforma = proforma_for(alice)
    decide(b_client, propose(a_client, account, account_number=NEW_NUMBER))
    proforma.refresh_from_db()
    assert proforma.bank_details["account_number"] == "0001234567"


def test_a_rejected_change_is_never_applied(a_client, b_client, account):
    change = propose(a_client, account, account_number=NEW_NUMBER)
    assert "Rejected." in text_of(decide(b_client, change, "reject"))
    change.refresh_from_db()
    assert change.status == BankAccountChange.Status.REJECTED
    account.refresh_from_db()
    assert account.account_number == "0001234567"
    assert AuditEvent.objects.filter(action="bank_account.change_rejected").exists()
    # A decided change cannot be approved afterwards.
    assert "already been decided" in text_of(decide(b_client, change))
    account.refresh_from_db()
    assert account.account_number == "0001234567"


def test_a_new_account_is_created_only_on_approval(a_client, b_client, account):
    response = a_client.post(
        "/backoffice/sales/bank-accounts/new/",
        details(account, code="smbc-eur", currency="EUR", account_number="0005555555"),
    )
    assert response.status_code == 302
    assert not BankAccount.objects.filter(code="smbc-eur").exists()
    decide(b_client, BankAccountChange.objects.get(code="smbc-eur"))
    created = BankAccount.objects.get(code="smbc-eur")
    assert created.currency == "EUR" and created.account_number == "0005555555"


def test_a_proposal_with_an_unknown_currency_is_refused(a_client, account):
    response = a_client.post(
        f"/backoffice/sales/bank-accounts/{account.pk}/", details(account, currency="XYZ")
    )
    assert response.status_code == 400
    assert not BankAccountChange.objects.exists()


def test_a_sales_person_cannot_propose_or_approve(client, sales, a_client, account):
    change = propose(a_client, account, account_number=NEW_NUMBER)
    sales_client = staff_login(client, sales)
    # Sales may see the accounts (they print them on proformas) but not change them.
    assert sales_client.get("/backoffice/sales/bank-accounts/").status_code == 200
    assert (
        sales_client.post(
            f"/backoffice/sales/bank-accounts/changes/{change.pk}/decide/",
            {"decision": "approve"},
        ).status_code
        == 403
    )
    assert (
        sales_client.post(
            f"/backoffice/sales/bank-accounts/{account.pk}/",
            details(account, account_number="0000000001"),
        ).status_code
        == 403
    )
    change.refresh_from_db()
    assert change.status == BankAccountChange.Status.PENDING
    account.refresh_from_db()
    assert account.account_number == "0001234567"
    assert BankAccountChange.objects.count() == 1


def test_a_customer_gets_no_access_to_the_bank_accounts(alice_client, a_client, account):
    change = propose(a_client, account, account_number=NEW_NUMBER)
    assert alice_client.get("/backoffice/sales/bank-accounts/").status_code == 403
    assert (
        alice_client.post(
            f"/backoffice/sales/bank-accounts/changes/{change.pk}/decide/",
            {"decision": "approve"},
        ).status_code
        == 403
    )
    change.refresh_from_db()
    assert change.status == BankAccountChange.Status.PENDING


def test_a_visitor_is_sent_to_sign_in(client, account):
    response = client.get("/backoffice/sales/bank-accounts/")
    assert response.status_code == 302
    assert "/accounts/login/" in response.url


def test_a_customer_with_a_paid_order_and_another_open_proforma_hears_of_the_change(
    a_client, b_client, account, alice, mailoutbox, committed
):
    with transaction.atomic():
        order_mark_paid(order=order_for(alice), actor=None)
    proforma_for(alice)  # still open: Alice is about to pay into our account
    change = propose(a_client, account, account_number=NEW_NUMBER)
    mailoutbox.clear()
    with committed():
        decide(b_client, change)
    assert [m.to for m in mailoutbox] == [[alice.email]]

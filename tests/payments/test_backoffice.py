"""Accounting's desk: importing a bank statement, confirming credits from the queue, approving
allocations until an order is paid, and a customer's ledger statement; closed to everyone else."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal
from html import unescape
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from exportdesk.accounts.models import User
from exportdesk.core.models import AuditEvent
from exportdesk.payments.imports import statement_import
from exportdesk.payments.models import (
    Allocation,
    BankStatement,
    BankTransaction,
    Deposit,
    MatchSuggestion,
    PaymentDeclaration,
    StatementImport,
)
from exportdesk.payments.services import (
    Confirmation,
    DeclarationDraft,
    allocation_decide,
    allocation_request,
    credits_confirm,
    declaration_submit,
)
from exportdesk.sales.models import BankAccount, Invoice, Order
from tests.conftest import staff_login
from tests.factories import staff
from tests.payments.factories import bank_account, mt940, order_for

pytestmark = pytest.mark.django_db

# payments.services.credits_confirm calls User.objects.in_bulk(..., batch_size=900), which
# Django 5.2 does not take: every confirmation raises TypeError. Remove once that is fixed.


@pytest.fixture
def accountant() -> User:
    return staff("acc.one@exporter.example", "accounting")


@pytest.fixture
def accounting(client: Client, accountant: User) -> Client:
    return staff_login(client, accountant)


@pytest.fixture
def account() -> BankAccount:
    return bank_account()


def text_of(response) -> str:
    return unescape(response.content.decode())


def statement_file(content: bytes, name: str = "statement.sta") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def upload(client: Client, account: BankAccount, content: bytes, **extra: object):
    return client.post(
        "/backoffice/payments/statements/import/",
        {"bank_account": account.pk, "file": statement_file(content), **extra},
    )


def nothing_imported() -> bool:
    return not (
        StatementImport.objects.exists()
        or BankStatement.objects.exists()
        or BankTransaction.objects.exists()
    )


def declared(customer: User, order: Order) -> PaymentDeclaration:
    return declaration_submit(
        customer=customer,
        draft=DeclarationDraft(
            amount=order.total,
            currency=order.currency,
            paid_on=timezone.localdate(),
            payer_name=customer.name,
            payer_bank="Equity Bank Kenya",
            reference=order.proforma.number,
            orders=[order],
        ),
        slip=None,
    )


def unbalanced(content: bytes, off_by: str = "10,00") -> bytes:
    """The same statement with a closing balance that opening + entries do not reach."""
    closing = re.search(rb":62F:C(\d{6})USD([\d,]+)", content)
    assert closing is not None
    amount = Decimal(closing.group(2).decode().replace(",", "."))
    wrong = f"{amount + Decimal(off_by.replace(',', '.')):.2f}".replace(".", ",")
    return content.replace(closing.group(0), b":62F:C" + closing.group(1) + b"USD" + wrong.encode())


# --- Statement import ---------------------------------------------------------------------------


def test_accounting_imports_a_statement_and_sees_the_credits_with_suggestions(
    accounting, account, alice
):
    order = order_for(alice)
    declared(alice, order)
    content = mt940(
        [
            (order.total, "ALICE WANJIRU", f"PAYMENT {order.proforma.number}"),
            (Decimal("250.00"), "UNKNOWN TRADING FZE", "INVOICE 99"),
        ]
    )
    response = upload(accounting, account, content)
    assert response.status_code == 302, text_of(response)
    assert response.url == "/backoffice/payments/"
    assert BankTransaction.objects.filter(status=BankTransaction.Status.UNMATCHED).count() == 2
    credit = BankTransaction.objects.get(amount=order.total)
    best = MatchSuggestion.objects.get(transaction=credit, rank=1)
    assert best.customer == alice
    assert best.reasons

    queue = text_of(accounting.get(response.url))
    assert "Imported 2 entries (0 already known). 0 payments confirmed automatically." in queue
    assert "2 incoming payments to match" in queue
    assert "ALICE WANJIRU" in queue and "UNKNOWN TRADING FZE" in queue
    assert alice.name in queue  # the best suggestion for Alice's transfer

    # The same file again adds nothing.
    again = upload(accounting, account, content)
    assert again.status_code == 302
    assert BankTransaction.objects.count() == 2
    assert "Imported 0 entries (2 already known)" in text_of(accounting.get(again.url))


def test_a_truncated_statement_is_refused_naming_the_line_and_nothing_is_written(
    accounting, account, alice
):
    content = mt940([(Decimal("100.00"), "ALICE WANJIRU", "PF"), (Decimal(50), "BOB", "x")])
    truncated = content[: content.index(b":62F:") + 12]
    response = upload(accounting, account, truncated)
    assert response.status_code == 400
    text = text_of(response)
    assert re.search(r"line \d+", text), text
    assert "is not a balance" in text
    assert nothing_imported()


@pytest.mark.parametrize(
    "content",
    [b"", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, b"just some notes\nnot a statement\n"],
    ids=["empty", "an image", "plain text"],
)
def test_a_file_that_is_no_statement_is_refused(accounting, account, content):
    response = upload(accounting, account, content)
    assert response.status_code == 400
    assert nothing_imported()


def test_a_hostile_xml_statement_is_refused(accounting, account):
    bomb = (
        b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        b"<Stmt><Id>&c;</Id></Stmt></BkToCstmrStmt></Document>"
    )
    response = upload(accounting, account, bomb)
    assert response.status_code == 400
    assert "XML with a DTD or entities is not accepted" in text_of(response)
    assert nothing_imported()


def test_a_statement_file_over_the_size_limit_is_refused(accounting, account, monkeypatch):
    monkeypatch.setattr("exportdesk.payments.backoffice.MAX_STATEMENT_BYTES", 200)
    content = mt940([(Decimal(n), f"PAYER {n}", "x") for n in range(1, 10)])
    assert len(content) > 200
    response = upload(accounting, account, content)
    assert response.status_code == 400
    assert "The file is larger than" in text_of(response)
    assert nothing_imported()


def test_a_statement_of_another_account_is_refused(accounting, account):
    content = mt940([(Decimal(100), "ALICE WANJIRU", "PF")], account="9999999999")
    response = upload(accounting, account, content)
    assert response.status_code == 400
    assert "is a statement of account 9999999999, not of mufg-usd" in text_of(response)
    assert nothing_imported()


def test_an_unbalanced_statement_is_refused_with_the_difference(accounting, account):
    content = unbalanced(mt940([(Decimal("100.00"), "ALICE WANJIRU", "PF")]))
    response = upload(accounting, account, content)
    assert response.status_code == 400
    text = text_of(response)
    assert "Opening balance plus entries does not equal the closing balance" in text
    assert re.search(r"off by -?10\.00", text), text
    assert "no: off by" in text  # the summary table says which statement
    assert nothing_imported()


def test_an_unbalanced_statement_accepted_on_purpose_is_flagged_for_review(accounting, account):
    content = unbalanced(mt940([(Decimal("100.00"), "ALICE WANJIRU", "PF")]))
    response = upload(accounting, account, content, accept_unbalanced="on")
    assert response.status_code == 302, text_of(response)
    statement = BankStatement.objects.get()
    assert statement.needs_review
    assert abs(statement.difference) == Decimal("10.00")
    assert BankTransaction.objects.count() == 1
    queue = text_of(accounting.get("/backoffice/payments/"))
    assert "Statements accepted although they do not balance" in queue
    assert re.search(r"off by -?10\.000? USD", queue), queue


# --- Confirming and approving -------------------------------------------------------------------


def test_accounting_confirms_a_credit_from_the_entry_page(accounting, account, alice):
    order = order_for(alice)
    declaration = declared(alice, order)
    upload(accounting, account, mt940([(order.total, "ALICE WANJIRU", order.proforma.number)]))
    credit = BankTransaction.objects.get()

    page = accounting.get(f"/backoffice/payments/entries/{credit.pk}/")
    assert page.status_code == 200
    assert alice.email in text_of(page)

    response = accounting.post(
        f"/backoffice/payments/entries/{credit.pk}/",
        {"customer_email": alice.email, "declaration": declaration.pk},
    )
    assert response.status_code == 302, text_of(response)
    deposit = Deposit.objects.get()
    assert (deposit.customer, deposit.amount, deposit.declaration) == (
        alice,
        order.total,
        declaration,
    )
    credit.refresh_from_db()
    assert credit.status == BankTransaction.Status.CONFIRMED
    declaration.refresh_from_db()
    assert declaration.status == PaymentDeclaration.Status.CONFIRMED
    assert AuditEvent.objects.filter(action="payment.confirmed").exists()


def test_confirming_for_someone_who_is_no_customer_is_refused(accounting, account, accountant):
    upload(accounting, account, mt940([(Decimal(100), "SOMEONE", "x")]))
    credit = BankTransaction.objects.get()
    response = accounting.post(
        f"/backoffice/payments/entries/{credit.pk}/", {"customer_email": accountant.email}
    )
    assert response.status_code == 400
    assert "No customer has this e-mail address." in text_of(response)
    assert not Deposit.objects.exists()


def test_confirming_with_another_customers_declaration_is_refused(accounting, account, alice, bob):
    bobs_declaration = declared(bob, order_for(bob))
    upload(accounting, account, mt940([(Decimal(100), "ALICE WANJIRU", "x")]))
    credit = BankTransaction.objects.get()
    response = accounting.post(
        f"/backoffice/payments/entries/{credit.pk}/",
        {"customer_email": alice.email, "declaration": bobs_declaration.pk},
    )
    assert response.status_code == 400
    assert "That declaration is not this customer's." in text_of(response)
    assert not Deposit.objects.exists()


def _deposit(customer: User, amount: Decimal, accountant: User) -> Deposit:
    content = mt940([(amount, customer.name.upper(), "payment")], reference=f"S{amount}")
    statement_import(data=content, file_name="s.sta", bank_account=bank_account(), actor=accountant)
    credit = BankTransaction.objects.get(amount=amount, status=BankTransaction.Status.UNMATCHED)
    (deposit,) = credits_confirm(confirmations=[Confirmation(credit, customer)], actor=accountant)
    return deposit


def test_approving_the_last_allocation_pays_the_order_and_issues_the_invoice(
    accounting, accountant, alice
):
    order = order_for(alice)
    deposit = _deposit(alice, order.total, accountant)
    allocation = allocation_request(
        deposit=deposit, order=order, amount=order.total, requested_by=alice
    )
    queue = text_of(accounting.get("/backoffice/payments/"))
    assert "Allocations to approve" in queue and order.number in queue

    response = accounting.post(
        f"/backoffice/payments/allocations/{allocation.pk}/decide/", {"decision": "approve"}
    )
    assert response.status_code == 302
    allocation.refresh_from_db()
    assert allocation.status == Allocation.Status.APPROVED
    assert allocation.decided_by == accountant
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    invoice = Invoice.objects.get(order=order)
    assert invoice.number.startswith("INV-") and invoice.total == order.total

    customer = Client()
    customer.force_login(alice)
    assert invoice.number in text_of(customer.get("/mypage/invoices/"))

    # Approving twice moves no money twice.
    again = accounting.post(
        f"/backoffice/payments/allocations/{allocation.pk}/decide/",
        {"decision": "approve"},
        follow=True,
    )
    assert "This allocation has already been decided." in text_of(again)
    assert Allocation.objects.filter(status=Allocation.Status.APPROVED).count() == 1


def test_a_rejected_allocation_leaves_the_money_on_the_deposit(accounting, accountant, alice):
    order = order_for(alice)
    deposit = _deposit(alice, Decimal(500), accountant)
    allocation = allocation_request(
        deposit=deposit, order=order, amount=Decimal(500), requested_by=alice
    )
    accounting.post(
        f"/backoffice/payments/allocations/{allocation.pk}/decide/",
        {"decision": "reject", "reason": "Wrong car"},
    )
    allocation.refresh_from_db()
    assert allocation.status == Allocation.Status.REJECTED and allocation.reason == "Wrong car"
    order.refresh_from_db()
    assert order.status == Order.Status.OPEN


# --- The customer's ledger ----------------------------------------------------------------------


def test_the_customer_ledger_shows_opening_and_closing_balances_as_page_and_csv(
    accounting, accountant, alice
):
    order = order_for(alice)
    earlier = timezone.now() - timedelta(days=40)
    with mock.patch("django.utils.timezone.now", return_value=earlier):
        _deposit(alice, Decimal(1000), accountant)
    deposit = _deposit(alice, Decimal(500), accountant)
    allocation_decide(
        allocation=allocation_request(
            deposit=deposit, order=order, amount=Decimal(200), requested_by=alice
        ),
        staff=accountant,
        approve=True,
    )
    today = timezone.localdate()
    start = (today - timedelta(days=10)).isoformat()
    url = f"/backoffice/payments/customers/{alice.pk}/ledger/?from={start}&to={today.isoformat()}"

    page = accounting.get(url)
    assert page.status_code == 200
    (statement,) = page.context["statements"]
    assert statement.currency == "USD"
    assert statement.opening == Decimal(1000)
    assert [line.amount for line in statement.lines] == [Decimal(500), Decimal(-200)]
    assert statement.closing == Decimal(1300)
    text = text_of(page)
    assert "Opening balance" in text and "USD 1,000.00" in text
    assert "Closing balance" in text and "USD 1,300.00" in text
    assert AuditEvent.objects.filter(action="customer.ledger_viewed", subject_id=alice.pk).exists()

    exported = accounting.get(url + "&format=csv")
    assert exported["Content-Type"].startswith("text/csv")
    assert "attachment" in exported["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    assert rows[0] == ["currency", "date", "description", "amount", "balance"]
    assert rows[1][2] == "Opening balance" and Decimal(rows[1][4]) == Decimal(1000)
    assert [Decimal(r[3]) for r in rows[2:-1]] == [Decimal(500), Decimal(-200)]
    assert rows[-1][2] == "Closing balance" and Decimal(rows[-1][4]) == Decimal(1300)


def test_the_ledger_of_a_customer_with_no_money_says_so(accounting, bob):
    response = accounting.get(f"/backoffice/payments/customers/{bob.pk}/ledger/")
    assert response.status_code == 200
    assert "No money on this customer's account yet." in text_of(response)


def test_the_ledger_is_only_for_customers(accounting, accountant):
    assert (
        accounting.get(f"/backoffice/payments/customers/{accountant.pk}/ledger/").status_code == 404
    )


# --- Who may enter ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/backoffice/payments/"),
        ("get", "/backoffice/payments/statements/import/"),
        ("post", "/backoffice/payments/statements/import/"),
        ("get", "/backoffice/payments/settings/"),
    ],
)
def test_sales_staff_cannot_open_accounting_pages(client, sales, account, method, path):
    sales_client = staff_login(client, sales)
    data = {"bank_account": account.pk, "file": statement_file(mt940([(Decimal(1), "X", "y")]))}
    response = getattr(sales_client, method)(path, data if method == "post" else None)
    assert response.status_code == 403
    assert nothing_imported()


def test_sales_staff_cannot_confirm_credits_or_approve_allocations(
    client, sales, accountant, alice
):
    order = order_for(alice)
    deposit = _deposit(alice, Decimal(100), accountant)
    allocation = allocation_request(
        deposit=deposit, order=order, amount=Decimal(100), requested_by=alice
    )
    credit = BankTransaction.objects.get()
    sales_client = staff_login(client, sales)
    assert sales_client.get(f"/backoffice/payments/entries/{credit.pk}/").status_code == 403
    assert (
        sales_client.post(
            f"/backoffice/payments/entries/{credit.pk}/", {"customer_email": alice.email}
        ).status_code
        == 403
    )
    assert (
        sales_client.post(
            f"/backoffice/payments/allocations/{allocation.pk}/decide/", {"decision": "approve"}
        ).status_code
        == 403
    )
    allocation.refresh_from_db()
    assert allocation.status == Allocation.Status.PENDING
    assert Deposit.objects.count() == 1


def test_a_customer_is_denied_the_accounting_desk(alice_client, account):
    for path in ("/backoffice/payments/", "/backoffice/payments/statements/import/"):
        assert alice_client.get(path).status_code == 403, path
    response = alice_client.post(
        "/backoffice/payments/statements/import/",
        {"bank_account": account.pk, "file": statement_file(mt940([(Decimal(1), "X", "y")]))},
    )
    assert response.status_code == 403
    assert nothing_imported()


def test_a_visitor_is_sent_to_sign_in(client):
    response = client.get("/backoffice/payments/")
    assert response.status_code == 302
    assert "/accounts/login/" in response.url

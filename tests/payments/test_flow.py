"""The money journey through the services: proforma → declaration → statement → deposit →
allocation → approval → order paid, with the ledger agreeing at every step."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from exportdesk.payments.imports import statement_import
from exportdesk.payments.models import (
    Allocation,
    BankTransaction,
    Deposit,
    MatchSuggestion,
    PaymentDeclaration,
    PaymentSettings,
)
from exportdesk.payments.selectors import deposit_available, ledger_check, orders_paid
from exportdesk.payments.services import (
    Confirmation,
    DeclarationDraft,
    PaymentRefused,
    allocation_decide,
    allocation_request,
    credits_confirm,
    declaration_submit,
)
from exportdesk.sales.models import Order
from tests.factories import staff
from tests.payments.factories import bank_account, mt940, order_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def accountant():
    return staff("acc.one@exporter.example", "accounting")


def test_it_takes_a_declared_payment_from_statement_to_paid_order(alice, accountant, committed):
    order = order_for(alice)
    proforma = order.proforma
    declaration = declaration_submit(
        customer=alice,
        draft=DeclarationDraft(
            amount=order.total,
            currency="USD",
            paid_on=date.today(),
            payer_name="Alice Wanjiru",
            payer_bank="Equity Bank",
            reference=proforma.number,
            orders=[order],
        ),
        slip=None,
    )
    data = mt940([(order.total - 25, "ALICE WANJIRU", f"PAYMENT {proforma.number}")])
    result = statement_import(
        data=data, file_name="s.sta", bank_account=bank_account(), actor=accountant
    )
    assert result.summary["imported"] == 1
    assert result.summary["statements"][0]["balanced"] is True
    txn = BankTransaction.objects.get()
    best = MatchSuggestion.objects.get(transaction=txn, rank=1)
    assert best.customer == alice and best.declaration == declaration
    assert best.third_party is False

    deposit = credits_confirm(
        confirmations=[Confirmation(txn, alice, declaration, bank_charge=Decimal(25))],
        actor=accountant,
    )[0]
    assert deposit.amount == order.total
    assert deposit_available(deposit) == order.total
    declaration.refresh_from_db()
    assert declaration.status == PaymentDeclaration.Status.CONFIRMED

    allocation = allocation_request(
        deposit=deposit, order=order, amount=order.total, requested_by=alice
    )
    assert orders_paid([order.pk])[order.pk] == 0
    allocation_decide(allocation=allocation, staff=accountant, approve=True)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.invoice.number.startswith("INV-")
    assert ledger_check() == []
    assert deposit_available(deposit) == 0


def test_it_confirms_a_sure_match_automatically_when_accounting_allows(alice, accountant):
    PaymentSettings.objects.update_or_create(pk=1, defaults={"auto_confirm": True})
    order = order_for(alice)
    data = mt940([(order.total, "ALICE WANJIRU", f"INV {order.proforma.number}")])
    result = statement_import(data=data, file_name="s.sta", bank_account=bank_account(), actor=None)
    assert result.summary["auto_confirmed"] == 1
    deposit = Deposit.objects.get()
    assert deposit.customer == alice and deposit.confirmed_by is None
    assert ledger_check() == []


def test_the_same_statement_twice_adds_nothing(alice, accountant):
    order = order_for(alice)
    data = mt940([(order.total, "ALICE WANJIRU", order.proforma.number)])
    statement_import(data=data, file_name="s.sta", bank_account=bank_account(), actor=accountant)
    again = statement_import(
        data=data, file_name="s.sta", bank_account=bank_account(), actor=accountant
    )
    assert again.summary["imported"] == 0
    assert again.summary["duplicates_skipped"] == 1
    assert BankTransaction.objects.count() == 1


def test_it_refuses_allocating_more_than_the_deposit_or_to_another_customers_order(
    alice, bob, accountant
):
    order = order_for(alice)
    bobs_order = order_for(bob)
    statement_import(
        data=mt940([(Decimal(100), "ALICE WANJIRU", "part")]),
        file_name="s.sta",
        bank_account=bank_account(),
        actor=accountant,
    )
    deposit = credits_confirm(
        confirmations=[Confirmation(BankTransaction.objects.get(), alice)], actor=accountant
    )[0]
    with pytest.raises(PaymentRefused):
        allocation_request(deposit=deposit, order=order, amount=Decimal(101), requested_by=alice)
    with pytest.raises(PaymentRefused):
        allocation_request(
            deposit=deposit, order=bobs_order, amount=Decimal(50), requested_by=alice
        )
    assert not Allocation.objects.exists()

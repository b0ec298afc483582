"""The customer's Payment Manager and Payment History: what is pending, what arrived, what is
still owed per order, and asking for money to be allocated to an order."""

from __future__ import annotations

from decimal import Decimal
from html import unescape

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from exportdesk.accounts.models import User
from exportdesk.core.money import money_format
from exportdesk.payments.models import (
    Allocation,
    Deposit,
    PaymentDeclaration,
)
from exportdesk.payments.services import (
    Confirmation,
    DeclarationDraft,
    allocation_decide,
    allocation_request,
    credits_confirm,
    declaration_submit,
)
from exportdesk.sales.models import Order
from tests.factories import staff
from tests.payments.factories import bank_credit, order_for

pytestmark = pytest.mark.django_db

# payments.services.credits_confirm calls User.objects.in_bulk(..., batch_size=900), which
# Django 5.2 does not take: every confirmation raises TypeError. Remove once that is fixed.


def text_of(response) -> str:
    return unescape(response.content.decode())


def usd(amount: Decimal | int | str) -> str:
    return money_format(Decimal(amount), "USD")


@pytest.fixture
def accountant() -> User:
    return staff("acc.one@exporter.example", "accounting")


def deposit_of(customer: User, amount: Decimal | int, accountant: User) -> Deposit:
    (deposit,) = credits_confirm(
        confirmations=[Confirmation(bank_credit(Decimal(amount)), customer)], actor=accountant
    )
    return deposit


def declaration_of(customer: User, order: Order, amount: Decimal) -> PaymentDeclaration:
    return declaration_submit(
        customer=customer,
        draft=DeclarationDraft(
            amount=amount,
            currency="USD",
            paid_on=timezone.localdate(),
            payer_name="Kamau Motors Ltd",
            payer_bank="Equity Bank Kenya",
            reference=order.proforma.number,
            orders=[order],
        ),
        slip=None,
    )


# --- Payment Manager ----------------------------------------------------------------------------


def test_the_payment_manager_shows_declarations_deposits_and_what_is_still_owed(
    alice_client, alice, accountant
):
    order = order_for(alice)
    declaration_of(alice, order, Decimal("1234.50"))
    deposit = deposit_of(alice, 1000, accountant)
    allocation_decide(
        allocation=allocation_request(
            deposit=deposit, order=order, amount=Decimal(400), requested_by=alice
        ),
        staff=accountant,
        approve=True,
    )
    allocation_request(deposit=deposit, order=order, amount=Decimal(100), requested_by=alice)

    response = alice_client.get("/mypage/payments/")
    assert response.status_code == 200
    text = text_of(response)
    # The pending declaration, with its payer and order.
    assert usd("1234.50") in text and "Kamau Motors Ltd" in text
    # The confirmed payment and what is left of it to allocate (1000 - 400 approved - 100 asked).
    deposits = response.context["deposits"]
    assert [(row.deposit.pk, row.available) for row in deposits] == [(deposit.pk, Decimal(500))]
    assert usd(500) in text
    # The order: paid, waiting for approval and still to pay.
    (balance,) = response.context["balances"]
    assert (balance.paid, balance.pending) == (Decimal(400), Decimal(100))
    assert balance.outstanding == order.total - 400
    assert order.number in text
    assert usd(order.total - 400) in text
    # The allocation requests and their state.
    assert "Waiting for approval" in text and "Approved" in text


def test_the_payment_manager_shows_nothing_of_another_customer(alice_client, bob, accountant):
    order = order_for(bob)
    declaration_of(bob, order, Decimal("777.77"))
    deposit_of(bob, 555, accountant)
    text = text_of(alice_client.get("/mypage/payments/"))
    assert order.number not in text
    assert usd("777.77") not in text and usd(555) not in text
    assert "No orders awaiting payment." in text
    assert "No pending declarations." in text
    assert "No confirmed payments yet." in text


def test_a_customer_asks_for_a_deposit_to_be_allocated_to_an_order(alice_client, alice, accountant):
    order = order_for(alice)
    deposit = deposit_of(alice, 1000, accountant)
    response = alice_client.post(
        "/mypage/payments/allocate/",
        {"deposit": deposit.pk, "order": order.pk, "amount": "600"},
        follow=True,
    )
    assert response.redirect_chain == [("/mypage/payments/", 302)]
    assert "Allocation requested; accounting will approve it shortly." in text_of(response)
    allocation = Allocation.objects.get()
    assert allocation.status == Allocation.Status.PENDING
    assert (allocation.deposit, allocation.order, allocation.amount) == (
        deposit,
        order,
        Decimal(600),
    )
    assert allocation.requested_by == alice
    # Nothing is paid until accounting approves.
    order.refresh_from_db()
    assert order.status == Order.Status.OPEN


def test_a_customer_cancels_their_pending_allocation_request(alice_client, alice, accountant):
    order = order_for(alice)
    deposit = deposit_of(alice, 1000, accountant)
    allocation = allocation_request(
        deposit=deposit, order=order, amount=Decimal(600), requested_by=alice
    )
    response = alice_client.post(f"/mypage/payments/allocations/{allocation.pk}/cancel/")
    assert response.status_code == 302
    allocation.refresh_from_db()
    assert allocation.status == Allocation.Status.CANCELLED


def test_it_refuses_allocating_more_than_the_deposit_holds(alice_client, alice, accountant):
    order = order_for(alice)
    deposit = deposit_of(alice, 100, accountant)
    response = alice_client.post(
        "/mypage/payments/allocate/",
        {"deposit": deposit.pk, "order": order.pk, "amount": "100.01"},
    )
    assert response.status_code == 400
    assert f"Only {usd(100)} of this payment is unallocated." in text_of(response)
    assert not Allocation.objects.exists()


def test_it_refuses_allocating_more_than_the_order_still_needs(alice_client, alice, accountant):
    order = order_for(alice)
    deposit = deposit_of(alice, order.total + 500, accountant)
    response = alice_client.post(
        "/mypage/payments/allocate/",
        {"deposit": deposit.pk, "order": order.pk, "amount": str(order.total + 1)},
    )
    assert response.status_code == 400
    assert f"Order {order.number} needs only {usd(order.total)} more" in text_of(response)
    assert not Allocation.objects.exists()


def test_it_refuses_allocating_to_another_customers_order(alice_client, alice, bob, accountant):
    bobs_order = order_for(bob)
    deposit = deposit_of(alice, 1000, accountant)
    response = alice_client.post(
        "/mypage/payments/allocate/",
        {"deposit": deposit.pk, "order": bobs_order.pk, "amount": "50"},
    )
    assert response.status_code == 400
    assert "Select a valid choice. That choice is not one of the available choices." in (
        text_of(response)
    )
    assert not Allocation.objects.exists()


def test_it_refuses_allocating_from_another_customers_deposit(alice_client, alice, bob, accountant):
    order = order_for(alice)
    bobs_deposit = deposit_of(bob, 1000, accountant)
    response = alice_client.post(
        "/mypage/payments/allocate/",
        {"deposit": bobs_deposit.pk, "order": order.pk, "amount": "50"},
    )
    assert response.status_code == 400
    assert not Allocation.objects.exists()


@pytest.mark.parametrize("amount", ["0", "-10", "ten"])
def test_it_refuses_an_allocation_amount_that_makes_no_sense(
    alice_client, alice, accountant, amount
):
    order = order_for(alice)
    deposit = deposit_of(alice, 1000, accountant)
    response = alice_client.post(
        "/mypage/payments/allocate/",
        {"deposit": deposit.pk, "order": order.pk, "amount": amount},
    )
    assert response.status_code == 400
    assert not Allocation.objects.exists()


def test_another_customer_cannot_cancel_an_allocation(alice, bob, accountant):
    order = order_for(alice)
    allocation = allocation_request(
        deposit=deposit_of(alice, 1000, accountant),
        order=order,
        amount=Decimal(600),
        requested_by=alice,
    )
    other = Client()
    other.force_login(bob)
    assert other.post(f"/mypage/payments/allocations/{allocation.pk}/cancel/").status_code == 404
    allocation.refresh_from_db()
    assert allocation.status == Allocation.Status.PENDING


# --- Payment History ----------------------------------------------------------------------------


def test_payment_history_lists_confirmed_transactions_only(alice_client, alice, accountant):
    order = order_for(alice)
    declaration_of(alice, order, Decimal("4321.00"))  # declared, not yet at our bank
    deposit = deposit_of(alice, 1000, accountant)
    allocation_decide(
        allocation=allocation_request(
            deposit=deposit, order=order, amount=Decimal(300), requested_by=alice
        ),
        staff=accountant,
        approve=True,
    )
    allocation_request(deposit=deposit, order=order, amount=Decimal(200), requested_by=alice)

    response = alice_client.get("/mypage/payment-history/")
    assert response.status_code == 200
    kinds = [(event["kind"], event["item"].pk) for event in response.context["events"]]
    approved = Allocation.objects.get(status=Allocation.Status.APPROVED)
    assert sorted(kinds) == sorted([("deposit", deposit.pk), ("allocation", approved.pk)])
    text = text_of(response)
    assert "Payment received" in text and usd(1000) in text
    assert f"Allocated to order {order.number}" in text and usd(300) in text
    assert usd("4321.00") not in text  # the pending declaration
    assert usd(200) not in text  # the allocation still waiting for approval


def test_payment_history_is_empty_for_a_new_customer(alice_client, bob, accountant):
    deposit_of(bob, 1000, accountant)
    response = alice_client.get("/mypage/payment-history/")
    assert "No confirmed transactions yet." in text_of(response)


def test_a_visitor_is_sent_to_sign_in(client):
    for url in ("/mypage/payments/", "/mypage/payment-history/", "/mypage/payments/declare/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response.url, url


# --- Query counts -------------------------------------------------------------------------------


def _queries_for_manager(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/mypage/payments/")
    assert response.status_code == 200
    return len(queries)


def test_the_payment_manager_costs_the_same_queries_for_one_or_five_deposits(
    alice_client, alice, accountant
):
    order = order_for(alice)
    deposits = [deposit_of(alice, 100, accountant)]
    declaration_of(alice, order, Decimal(100))
    allocation_request(deposit=deposits[0], order=order, amount=Decimal(10), requested_by=alice)
    alice_client.get("/mypage/payments/")  # warm the session and caches
    one = _queries_for_manager(alice_client)

    second_order = order_for(alice)
    for _ in range(4):
        deposit = deposit_of(alice, 100, accountant)
        declaration_of(alice, second_order, Decimal(100))
        allocation_request(
            deposit=deposit, order=second_order, amount=Decimal(10), requested_by=alice
        )
    five = _queries_for_manager(alice_client)
    assert five == one

"""Deposit holds for auction bids: held money is neither available nor refundable, the ledger
agrees at every step, and a hold is released once or converted into an allocation once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exportdesk.payments.holds import (
    deposit_hold_convert,
    deposit_hold_place,
    deposit_hold_release,
)
from exportdesk.payments.models import Allocation, DepositHold
from exportdesk.payments.selectors import deposit_available, ledger_check
from exportdesk.payments.services import PaymentRefused
from tests.factories import staff
from tests.payments.factories import confirmed_deposit, order_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def accountant():
    return staff("acc.holds@exporter.example", "accounting")


def test_a_hold_sets_money_aside_and_its_release_gives_it_back(alice, accountant):
    deposit = confirmed_deposit(alice, Decimal(1000), staff=accountant)
    hold = deposit_hold_place(deposit=deposit, amount=Decimal(300), purpose="bid", actor=alice)
    assert deposit_available(deposit) == Decimal(700)
    assert ledger_check() == []
    deposit_hold_release(hold=hold, actor=None, reason="bid lost")
    deposit_hold_release(hold=hold, actor=None, reason="bid lost")  # a second release: no change
    hold.refresh_from_db()
    assert hold.status == DepositHold.Status.RELEASED
    assert deposit_available(deposit) == Decimal(1000)
    assert ledger_check() == []


def test_more_than_the_free_money_or_someone_elses_deposit_is_refused(alice, bob, accountant):
    deposit = confirmed_deposit(alice, Decimal(500), staff=accountant)
    with pytest.raises(PaymentRefused, match=r"Only USD 500\.00 of this payment is free"):
        deposit_hold_place(deposit=deposit, amount=Decimal(501), purpose="bid", actor=alice)
    with pytest.raises(PaymentRefused, match="not yours"):
        deposit_hold_place(deposit=deposit, amount=Decimal(10), purpose="bid", actor=bob)
    assert not DepositHold.objects.exists()


def test_a_won_bid_turns_the_hold_into_an_allocation_request(alice, accountant):
    deposit = confirmed_deposit(alice, Decimal(20000), staff=accountant)
    hold = deposit_hold_place(deposit=deposit, amount=Decimal(2000), purpose="bid", actor=alice)
    order = order_for(alice)
    allocation = deposit_hold_convert(hold=hold, order=order, actor=accountant)
    assert allocation.status == Allocation.Status.PENDING
    assert allocation.amount == Decimal(2000)
    hold.refresh_from_db()
    assert hold.status == DepositHold.Status.CONVERTED and hold.allocation == allocation
    assert deposit_available(deposit) == Decimal(18000)
    assert ledger_check() == []
    with pytest.raises(PaymentRefused, match="no longer in force"):
        deposit_hold_convert(hold=hold, order=order, actor=accountant)

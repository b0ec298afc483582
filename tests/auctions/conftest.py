from __future__ import annotations

from decimal import Decimal

import pytest

from exportdesk.accounts.models import User
from exportdesk.payments.models import Deposit
from tests.factories import staff
from tests.payments.factories import bank_account, confirmed_deposit
from tests.stock.factories import mombasa, roro_rate, usd_rate


@pytest.fixture
def market(db) -> None:
    """What a won bid needs: the yen rate of the dollar, our USD account, a priced Kenyan port."""
    usd_rate()
    bank_account("USD")
    roro_rate(mombasa())


@pytest.fixture
def accountant(db) -> User:
    return staff("anna.accounts@exporter.example", "accounting")


@pytest.fixture
def deposit(market, alice: User, accountant: User) -> Deposit:
    """Alice's confirmed USD 5,000 with nothing allocated."""
    return confirmed_deposit(alice, Decimal(5000), staff=accountant)

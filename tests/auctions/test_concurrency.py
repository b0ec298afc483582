"""A customer and staff acting on the same bid request at the same moment, on PostgreSQL with
real connections: a request changed while staff mark it processed is either changed first or
refused as locked, never half of each; two requests for the same lot sent at once make one.

PostgreSQL only (SQLite locks the whole file): `scripts/with-postgres.sh .venv/bin/pytest
tests/auctions/test_concurrency.py`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from exportdesk.auctions.models import BidRequest
from exportdesk.auctions.services import (
    BidRefused,
    bid_request_edit,
    bid_request_mark_processed,
    bid_request_place,
)
from exportdesk.payments.models import DepositHold
from exportdesk.payments.selectors import deposit_available, ledger_check
from tests.auctions.factories import lot
from tests.conftest import ensure_reference_data
from tests.factories import customer, staff
from tests.payments.factories import bank_account, confirmed_deposit
from tests.stock.factories import usd_rate

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 4
WAIT = 30


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: several connections and row locks")
    ensure_reference_data()


def race(*works: Callable[[], Any]) -> tuple[list[Any], list[BidRefused], list[BaseException]]:
    """Run each on its own thread (own connection), released together."""
    barrier = threading.Barrier(len(works))
    results: list[Any] = []
    refusals: list[BidRefused] = []
    errors: list[BaseException] = []

    def run(work: Callable[[], Any]) -> None:
        try:
            barrier.wait(WAIT)
            results.append(work())
        except BidRefused as refused:
            refusals.append(refused)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(w,), daemon=True) for w in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not any(t.is_alive() for t in threads)
    return results, refusals, errors


def test_an_edit_racing_the_lock_is_either_done_first_or_refused():
    usd_rate()
    bank_account("USD")
    alice = customer("alice@example.com", "KE")
    sam = staff("sam.sales@exporter.example", "sales")
    deposit = confirmed_deposit(alice, Decimal(50_000), staff=staff("a@x.example", "accounting"))
    for _ in range(ROUNDS):
        bid = bid_request_place(
            customer=alice, lot=lot(), max_bid_jpy=1_000_000, note="", port=None, deposit=None
        )
        results, refusals, errors = race(
            lambda bid=bid: bid_request_edit(
                bid=bid, customer=alice, max_bid_jpy=3_000_000, note="more"
            ),
            lambda bid=bid: bid_request_mark_processed(bid=bid, staff=sam),
        )
        assert errors == []
        bid.refresh_from_db()
        assert bid.status == BidRequest.Status.PROCESSED
        if refusals:
            assert [r.kind for r in refusals] == ["locked"]
            assert bid.max_bid_jpy == 1_000_000 and len(results) == 1
        else:
            assert bid.max_bid_jpy == 3_000_000 and len(results) == 2
        assert DepositHold.objects.filter(bid_request=bid, status="held").count() == 1
    assert ledger_check() == []
    held = sum(h.amount for h in DepositHold.objects.filter(status="held"))
    assert deposit_available(deposit) == Decimal(50_000) - held


def test_two_requests_for_the_same_lot_at_once_make_one():
    usd_rate()
    bank_account("USD")
    alice = customer("alice@example.com", "KE")
    confirmed_deposit(alice, Decimal(50_000), staff=staff("a@x.example", "accounting"))
    for _ in range(ROUNDS):
        the_lot = lot()

        def ask(the_lot=the_lot) -> BidRequest:
            return bid_request_place(
                customer=alice, lot=the_lot, max_bid_jpy=1_000_000, note="", port=None, deposit=None
            )

        results, refusals, errors = race(ask, ask)
        assert errors == []
        assert len(results) == 1 and len(refusals) == 1
        assert "already asked us to bid" in refusals[0].message
        assert BidRequest.objects.filter(lot=the_lot).count() == 1
    assert DepositHold.objects.count() == ROUNDS
    assert ledger_check() == []

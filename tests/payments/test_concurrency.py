"""Two people acting on the same money at the same moment (issue 4, part 9), on PostgreSQL with
two real connections: two approvals of the same allocation cannot both succeed, and two
confirmations of the same bank credit make one deposit.

Each case runs twice: once with the overlap forced (the first connection holds the row lock
while the second is seen waiting for it in pg_stat_activity, then finishes), and as a plain race
of two threads released together by a barrier, several rounds.

SQLite has no row locks (a write transaction locks the whole file), so these run on PostgreSQL
only: `scripts/with-postgres.sh .venv/bin/pytest tests/payments/test_concurrency.py`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from django.db import connection, transaction

from exportdesk.accounts.models import User
from exportdesk.payments.imports import statement_import
from exportdesk.payments.models import (
    Allocation,
    BankTransaction,
    Deposit,
    JournalEntry,
)
from exportdesk.payments.selectors import ledger_check, orders_paid
from exportdesk.payments.services import (
    Confirmation,
    PaymentRefused,
    allocation_decide,
    allocation_request,
    credits_confirm,
)
from exportdesk.sales.models import Order
from tests.conftest import ensure_reference_data
from tests.factories import staff
from tests.payments.factories import bank_account, mt940, order_for

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 20  # seconds: generous for a loaded machine, never reached when all is well


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: two connections and row locks (scripts/with-postgres.sh)")
    ensure_reference_data()  # transactional tests before this one may have flushed it


@dataclass
class Outcome:
    results: list[Any] = field(default_factory=list)
    refusals: list[PaymentRefused] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)


def _in_thread(work: Callable[[], Any], outcome: Outcome) -> threading.Thread:
    """`work` on its own thread, hence its own database connection, closed at the end."""

    def run() -> None:
        try:
            outcome.results.append(work())
        except PaymentRefused as refusal:
            outcome.refusals.append(refusal)
        except BaseException as error:  # reported by the test, not lost in the thread
            outcome.errors.append(error)
        finally:
            connection.close()

    return threading.Thread(target=run, daemon=True)


def _waiting_for_a_lock(table: str) -> bool:
    """Whether another connection is blocked on a lock right now, in a query on `table`."""
    with connection.cursor() as cursor:
        # Statistics views are snapshotted once per transaction; the caller is in one.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND query LIKE %s",
            [f'%"{table}"%'],
        )
        return cursor.fetchone()[0] > 0


def _race(first: Callable[[], Any], second: Callable[[], Any]) -> Outcome:
    """Both at the same moment: two threads released together."""
    outcome = Outcome()
    barrier = threading.Barrier(2, timeout=WAIT)

    def together(work: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            barrier.wait()
            return work()

        return run

    threads = [_in_thread(together(work), outcome) for work in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return outcome


def _forced_overlap(
    table: str, lock: Callable[[], Any], first: Callable[[], Any], second: Callable[[], Any]
) -> Outcome:
    """The first thread takes the row lock (`lock`, inside its transaction), waits until the
    second is seen blocked on it (in a query on `table`), then does its work and commits; the
    second then goes on."""
    outcome = Outcome()
    locked, seen_waiting = threading.Event(), threading.Event()

    def holder() -> Any:
        with transaction.atomic():
            lock()
            locked.set()
            deadline = time.monotonic() + WAIT
            while not _waiting_for_a_lock(table):
                assert time.monotonic() < deadline, "the second connection never waited"
                time.sleep(0.02)
            seen_waiting.set()
            return first()

    def contender() -> Any:
        assert locked.wait(WAIT), "the first connection never took the lock"
        return second()

    threads = [_in_thread(holder, outcome), _in_thread(contender, outcome)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 2)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    assert seen_waiting.is_set() or outcome.errors, "the calls did not overlap"
    return outcome


@dataclass
class Money:
    alice: User
    bob: User
    accountant: User
    other_accountant: User
    order: Order


@pytest.fixture
def money(alice: User, bob: User) -> Money:
    return Money(
        alice=alice,
        bob=bob,
        accountant=staff("acc.one@exporter.example", "accounting"),
        other_accountant=staff("acc.two@exporter.example", "accounting"),
        order=order_for(alice),
    )


def _credit(money: Money, amount: Decimal, reference: str) -> BankTransaction:
    statement_import(
        data=mt940([(amount, "ALICE WANJIRU", f"PAYMENT {reference}")], reference=reference),
        file_name=f"{reference}.sta",
        bank_account=bank_account(),
        actor=money.accountant,
    )
    return BankTransaction.objects.get(statement__reference=reference)


def _pending_allocation(money: Money, amount: Decimal, reference: str) -> Allocation:
    txn = _credit(money, amount, reference)
    deposit = credits_confirm(
        confirmations=[Confirmation(txn, money.alice)], actor=money.accountant
    )[0]
    return allocation_request(
        deposit=deposit, order=money.order, amount=amount, requested_by=money.alice
    )


def _one_approval(outcome: Outcome, allocation: Allocation) -> None:
    assert outcome.errors == []
    assert len(outcome.results) == 1, outcome
    assert len(outcome.refusals) == 1, outcome
    assert "already been decided" in str(outcome.refusals[0])
    allocation.refresh_from_db()
    assert allocation.status == Allocation.Status.APPROVED
    assert allocation.entry is not None
    entries = JournalEntry.objects.filter(kind=JournalEntry.Kind.ALLOCATION, allocation=allocation)
    assert entries.count() == 1


def test_two_approvals_of_the_same_allocation_cannot_both_succeed(money: Money):
    allocation = _pending_allocation(money, money.order.total, "STMT1")

    def approve(by: User) -> Callable[[], Allocation]:
        return lambda: allocation_decide(allocation=allocation, staff=by, approve=True)

    outcome = _forced_overlap(
        Allocation._meta.db_table,
        lock=lambda: Allocation.objects.select_for_update().get(pk=allocation.pk),
        first=approve(money.accountant),
        second=approve(money.other_accountant),
    )

    _one_approval(outcome, allocation)
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.ALLOCATION).count() == 1
    money.order.refresh_from_db()
    assert money.order.status == Order.Status.PAID
    assert orders_paid([money.order.pk])[money.order.pk] == money.order.total
    assert ledger_check() == []


def test_approvals_racing_freely_let_exactly_one_through_each_time(money: Money):
    rounds = 5
    part = (money.order.total / rounds).quantize(Decimal("0.01"))
    for n in range(rounds):
        allocation = _pending_allocation(money, part, f"RACE{n}")
        outcome = _race(
            partial(allocation_decide, allocation=allocation, staff=money.accountant, approve=True),
            partial(
                allocation_decide, allocation=allocation, staff=money.other_accountant, approve=True
            ),
        )
        _one_approval(outcome, allocation)
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.ALLOCATION).count() == rounds
    assert orders_paid([money.order.pk])[money.order.pk] == part * rounds
    assert ledger_check() == []


def _one_deposit(outcome: Outcome, txn: BankTransaction) -> None:
    assert outcome.errors == []
    assert len(outcome.results) == 1, outcome
    assert len(outcome.refusals) == 1, outcome
    assert "Only an unmatched incoming payment" in str(outcome.refusals[0])
    assert Deposit.objects.filter(transaction=txn).count() == 1
    txn.refresh_from_db()
    assert txn.status == BankTransaction.Status.CONFIRMED
    deposit = Deposit.objects.get(transaction=txn)
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.RECEIPT, deposit=deposit).exists()


def test_two_confirmations_of_the_same_bank_credit_make_one_deposit(money: Money):
    txn = _credit(money, Decimal("2500.00"), "STMT2")

    def confirm(customer: User, by: User) -> Callable[[], list[Deposit]]:
        return lambda: credits_confirm(confirmations=[Confirmation(txn, customer)], actor=by)

    # Two accountants, one thinks it is Alice's money, the other Bob's: one of them wins.
    outcome = _forced_overlap(
        BankTransaction._meta.db_table,
        lock=lambda: BankTransaction.objects.select_for_update().get(pk=txn.pk),
        first=confirm(money.alice, money.accountant),
        second=confirm(money.bob, money.other_accountant),
    )

    _one_deposit(outcome, txn)
    assert Deposit.objects.get(transaction=txn).customer == money.alice
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.RECEIPT).count() == 1
    assert ledger_check() == []


def test_confirmations_racing_freely_make_one_deposit_each_time(money: Money):
    rounds = 5
    for n in range(rounds):
        txn = _credit(money, Decimal("100.00") + n, f"CONF{n}")
        outcome = _race(
            partial(
                credits_confirm,
                confirmations=[Confirmation(txn, money.alice)],
                actor=money.accountant,
            ),
            partial(
                credits_confirm,
                confirmations=[Confirmation(txn, money.bob)],
                actor=money.other_accountant,
            ),
        )
        _one_deposit(outcome, txn)
    assert Deposit.objects.count() == rounds
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.RECEIPT).count() == rounds
    assert ledger_check() == []

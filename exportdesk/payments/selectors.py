"""Reads of payments shared by the portal, the back office, the tasks and the matcher.

Amounts owed and available are derived from allocations and refunds each time (never stored),
and `ledger_check` proves they agree with the journal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from exportdesk.accounts.models import User
from exportdesk.core.money import ZERO, summed
from exportdesk.payments.ledger import account_spec
from exportdesk.payments.models import (
    AccountKind,
    Allocation,
    Deposit,
    DepositHold,
    JournalLine,
    LedgerAccount,
    PaymentDeclaration,
    Refund,
)
from exportdesk.sales.models import Order

LIVE_ALLOCATIONS = (Allocation.Status.PENDING, Allocation.Status.APPROVED)


def _sum_by(queryset: QuerySet, key: str, field: str) -> dict[int, Decimal]:
    rows = queryset.values(key).annotate(total=Sum(field)).values_list(key, "total")
    return {pk: summed(total) for pk, total in rows}


def deposits_available(deposit_ids: Iterable[int]) -> dict[int, Decimal]:
    """What each deposit still has to give: its amount less live allocations, refunds and the
    holds bid requests keep on it."""
    ids = list(deposit_ids)
    deposits = Deposit.objects.filter(pk__in=ids).values_list("pk", "amount", "reversed_at")
    allocated = _sum_by(
        Allocation.objects.filter(deposit_id__in=ids, status__in=LIVE_ALLOCATIONS),
        "deposit_id",
        "amount",
    )
    refunded = _sum_by(Refund.objects.filter(deposit_id__in=ids), "deposit_id", "amount")
    held = _sum_by(
        DepositHold.objects.filter(deposit_id__in=ids, status=DepositHold.Status.HELD),
        "deposit_id",
        "amount",
    )
    return {
        pk: ZERO
        if reversed_at
        else amount - allocated.get(pk, ZERO) - refunded.get(pk, ZERO) - held.get(pk, ZERO)
        for pk, amount, reversed_at in deposits
    }


def deposit_available(deposit: Deposit) -> Decimal:
    return deposits_available([deposit.pk]).get(deposit.pk, ZERO)


def orders_paid(order_ids: Iterable[int]) -> dict[int, Decimal]:
    """Approved allocations per order, in the order's currency: what has been paid on it."""
    ids = list(order_ids)
    paid = _sum_by(
        Allocation.objects.filter(order_id__in=ids, status=Allocation.Status.APPROVED),
        "order_id",
        "order_amount",
    )
    return {pk: paid.get(pk, ZERO) for pk in ids}


def orders_pending(order_ids: Iterable[int]) -> dict[int, Decimal]:
    ids = list(order_ids)
    pending = _sum_by(
        Allocation.objects.filter(order_id__in=ids, status=Allocation.Status.PENDING),
        "order_id",
        "order_amount",
    )
    return {pk: pending.get(pk, ZERO) for pk in ids}


@dataclass(frozen=True)
class OrderBalance:
    order: Order
    paid: Decimal
    pending: Decimal

    @property
    def outstanding(self) -> Decimal:
        return self.order.total - self.paid


def order_balances(orders: Iterable[Order]) -> list[OrderBalance]:
    orders = list(orders)
    ids = [o.pk for o in orders]
    paid, pending = orders_paid(ids), orders_pending(ids)
    return [OrderBalance(o, paid[o.pk], pending[o.pk]) for o in orders]


def open_orders_for(customer: User) -> QuerySet[Order]:
    return (
        Order.objects.filter(customer=customer, status=Order.Status.OPEN)
        .select_related("proforma")
        .order_by("created_at", "id")
    )


@dataclass(frozen=True)
class DepositView:
    deposit: Deposit
    available: Decimal


def deposits_for(customer: User) -> list[DepositView]:
    deposits = list(
        Deposit.objects.filter(customer=customer, reversed_at__isnull=True)
        .select_related("transaction")
        .order_by("-confirmed_at", "-id")
    )
    available = deposits_available(d.pk for d in deposits)
    return [DepositView(d, available[d.pk]) for d in deposits]


def pending_declarations_for(customer: User) -> QuerySet[PaymentDeclaration]:
    return (
        PaymentDeclaration.objects.filter(
            customer=customer, status=PaymentDeclaration.Status.PENDING
        )
        .prefetch_related("orders")
        .order_by("-created_at")
    )


@dataclass(frozen=True)
class StatementLine:
    when: date
    memo: str
    amount: Decimal  # positive: money in for the customer (deposit credited); negative: used
    running: Decimal


@dataclass(frozen=True)
class CustomerStatement:
    currency: str
    opening: Decimal
    lines: list[StatementLine]
    closing: Decimal


def customer_statement(
    *, customer: User, currency: str, start: date, end: date
) -> CustomerStatement:
    """The customer's deposit account between two days, as the customer reads it: money they
    sent is positive, money used for orders or refunded is negative."""
    key = account_spec(AccountKind.CUSTOMER_DEPOSIT, currency, customer=customer).key
    lines = JournalLine.objects.filter(account__key=key).select_related("entry")
    before = lines.filter(entry__created_at__date__lt=start).aggregate(total=Sum("amount"))
    opening = -summed(before["total"])
    running = opening
    rows: list[StatementLine] = []
    period = lines.filter(
        entry__created_at__date__gte=start, entry__created_at__date__lte=end
    ).order_by("entry__created_at", "entry_id", "id")
    for line in period:
        running -= line.amount
        rows.append(
            StatementLine(
                timezone.localtime(line.entry.created_at).date(),
                line.entry.memo,
                -line.amount,
                running,
            )
        )
    return CustomerStatement(currency, opening, rows, running)


def customer_currencies(customer: User) -> list[str]:
    return list(
        LedgerAccount.objects.filter(kind=AccountKind.CUSTOMER_DEPOSIT, customer=customer)
        .order_by("currency")
        .values_list("currency", flat=True)
    )


def ledger_check() -> list[str]:
    """Everything the ledger must agree with; an empty list when it does. Used by tests and the
    accounting dashboard: every entry balances per currency, no customer deposit account is in
    debit, and each deposit account equals the sum of its deposits' available amounts."""
    problems: list[str] = []
    per_entry: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
    for entry_id, currency, amount in JournalLine.objects.values_list(
        "entry_id", "account__currency", "amount"
    ):
        per_entry[(entry_id, currency)] += amount
    problems += [f"entry {e} does not balance in {c}: {t}" for (e, c), t in per_entry.items() if t]
    deposit_accounts = LedgerAccount.objects.filter(kind=AccountKind.CUSTOMER_DEPOSIT)
    ledger = _sum_by(
        JournalLine.objects.filter(account__in=deposit_accounts), "account_id", "amount"
    )
    deposits = list(Deposit.objects.values_list("pk", "customer_id", "currency"))
    available = deposits_available(pk for pk, _, _ in deposits)
    expected: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
    for pk, customer_id, currency in deposits:
        expected[(customer_id, currency)] += available[pk] + _pending(pk)
    for account in deposit_accounts:
        held = -ledger.get(account.pk, ZERO)
        if held < 0:
            problems.append(f"{account.key} is negative: {held}")
        want = expected.get((account.customer_id or 0, account.currency), ZERO)
        if held != want:
            problems.append(f"{account.key} holds {held}, deposits say {want}")
    return problems + _holds_check()


def _holds_check() -> list[str]:
    """Each customer's held-for-bids account equals the holds still in force."""
    accounts = LedgerAccount.objects.filter(kind=AccountKind.BID_HOLD)
    ledger = _sum_by(JournalLine.objects.filter(account__in=accounts), "account_id", "amount")
    expected: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
    for customer_id, currency, amount in DepositHold.objects.filter(
        status=DepositHold.Status.HELD
    ).values_list("deposit__customer_id", "currency", "amount"):
        expected[(customer_id, currency)] += amount
    problems = []
    for account in accounts:
        held = -ledger.get(account.pk, ZERO)
        want = expected.get((account.customer_id or 0, account.currency), ZERO)
        if held != want:
            problems.append(f"{account.key} holds {held}, bid holds say {want}")
    return problems


def _pending(deposit_id: int) -> Decimal:
    """Pending allocations have not moved money: the ledger still holds it on the deposit."""
    total = Allocation.objects.filter(
        Q(deposit_id=deposit_id) & Q(status=Allocation.Status.PENDING)
    ).aggregate(total=Sum("amount"))["total"]
    return summed(total)

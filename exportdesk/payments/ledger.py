"""The double-entry journal: post balanced entries, reverse them, read balances.

Debits are positive and credits negative. An entry must sum to zero in each currency it touches;
an entry that crosses currencies passes through the FX difference account of each currency
(the "currency trading account" method), and records its rate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model, Sum
from django.utils import timezone

from exportdesk.accounts.models import User
from exportdesk.core.bulk import rows_insert
from exportdesk.core.money import ZERO, summed
from exportdesk.payments.models import AccountKind, JournalEntry, JournalLine, LedgerAccount
from exportdesk.sales.models import BankAccount, Order


class UnbalancedEntry(ValueError):
    pass


@dataclass(frozen=True)
class Posting:
    account: LedgerAccount
    amount: Decimal  # debit positive, credit negative


@dataclass(frozen=True)
class AccountSpec:
    """Which account: its kind and currency, and the bank account, customer or order it is for."""

    kind: str
    currency: str
    bank_account_id: int | None = None
    customer_id: int | None = None
    order_id: int | None = None

    @property
    def key(self) -> str:
        owner = (
            f"bank:{self.bank_account_id}"
            if self.bank_account_id
            else f"order:{self.order_id}"
            if self.order_id
            else f"customer:{self.customer_id}"
            if self.customer_id
            else "exporter"
        )
        return f"{self.kind}:{owner}:{self.currency}"


def _id(value: Model | int | None) -> int | None:
    return value.pk if isinstance(value, Model) else value


def account_spec(
    kind: str,
    currency: str,
    *,
    bank_account: BankAccount | int | None = None,
    customer: User | int | None = None,
    order: Order | int | None = None,
) -> AccountSpec:
    return AccountSpec(kind, currency, _id(bank_account), _id(customer), _id(order))


def account_key(
    kind: str,
    currency: str,
    *,
    bank_account: BankAccount | int | None = None,
    customer: User | int | None = None,
    order: Order | int | None = None,
) -> str:
    return account_spec(
        kind, currency, bank_account=bank_account, customer=customer, order=order
    ).key


def ledger_account(
    kind: str,
    currency: str,
    *,
    bank_account: BankAccount | int | None = None,
    customer: User | int | None = None,
    order: Order | int | None = None,
) -> LedgerAccount:
    """The account of that kind, owner and currency, opened on first use."""
    spec = account_spec(kind, currency, bank_account=bank_account, customer=customer, order=order)
    return LedgerAccount.objects.get(pk=ledger_account_ids([spec])[spec.key])


def ledger_account_ids(specs: Iterable[AccountSpec]) -> dict[str, int]:
    """Many accounts' ids at once, by key, opened where missing: a statement's thousands of
    customer deposit accounts in a few queries, and no model instance per account."""
    wanted = {spec.key: spec for spec in specs}
    for attempt in range(3):
        found = _account_ids(list(wanted))
        missing = [_account_row(key, spec) for key, spec in wanted.items() if key not in found]
        if not missing:
            return found
        try:
            with transaction.atomic():
                rows_insert(LedgerAccount, missing)  # writes each new row's id into it
        except IntegrityError:
            # A concurrent transaction opened some of them first (and none of ours were
            # written): read theirs, then open the rest. Anything else fails again: raise it.
            if attempt == 2:
                raise
            continue
        found.update((row["key"], row["id"]) for row in missing)
        return found
    raise AssertionError("unreachable: the last attempt returns or raises")


def _account_row(key: str, spec: AccountSpec) -> dict[str, Any]:
    return {
        "key": key,
        "kind": spec.kind,
        "currency": spec.currency,
        "bank_account_id": spec.bank_account_id,
        "customer_id": spec.customer_id,
        "order_id": spec.order_id,
    }


def _account_ids(keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    accounts = LedgerAccount.objects.order_by()
    for start in range(0, len(keys), 900):
        found.update(accounts.filter(key__in=keys[start : start + 900]).values_list("key", "id"))
    return found


def _check_balanced(postings: Sequence[Posting]) -> None:
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for posting in postings:
        totals[posting.account.currency] += posting.amount
    uneven = {currency: total for currency, total in totals.items() if total != 0}
    if uneven or not postings:
        raise UnbalancedEntry(f"journal entry does not balance: {uneven or 'no lines'}")


def entry_post(
    *,
    kind: str,
    memo: str,
    postings: Sequence[Posting],
    actor: User | None = None,
    fx_rate: Decimal | None = None,
    booked_order: Order | None = None,
    reverses: JournalEntry | None = None,
    at: datetime | None = None,
) -> JournalEntry:
    """Write one balanced entry; raises UnbalancedEntry before writing anything otherwise."""
    postings = [p for p in postings if p.amount != 0]
    _check_balanced(postings)
    with transaction.atomic():
        entry = JournalEntry.objects.create(
            kind=kind,
            memo=memo[:200],
            created_at=at or timezone.now(),
            actor=actor,
            fx_rate=fx_rate,
            booked_order=booked_order,
            reverses=reverses,
        )
        JournalLine.objects.bulk_create(
            JournalLine(entry=entry, account=p.account, amount=p.amount) for p in postings
        )
    return entry


def entry_reverse(*, entry: JournalEntry, memo: str, actor: User | None) -> JournalEntry:
    """The correction of an entry: the same lines with opposite signs. Reversing twice is refused
    by the database (one reversal per entry)."""
    lines = list(entry.lines.select_related("account"))
    return entry_post(
        kind=JournalEntry.Kind.REVERSAL,
        memo=memo,
        postings=[Posting(line.account, -line.amount) for line in lines],
        actor=actor,
        fx_rate=entry.fx_rate,
        reverses=entry,
    )


def conversion_postings(
    *, source: LedgerAccount, source_amount: Decimal, target: LedgerAccount, target_amount: Decimal
) -> list[Posting]:
    """Move value from `source` (debited) to `target` (credited) across currencies through each
    currency's FX difference account, so the entry balances in each currency."""
    if source.currency == target.currency:
        assert source_amount == target_amount
        return [Posting(source, source_amount), Posting(target, -target_amount)]
    return [
        Posting(source, source_amount),
        Posting(ledger_account(AccountKind.FX_DIFFERENCE, source.currency), -source_amount),
        Posting(ledger_account(AccountKind.FX_DIFFERENCE, target.currency), target_amount),
        Posting(target, -target_amount),
    ]


def balance(account: LedgerAccount) -> Decimal:
    """Debits minus credits: positive for assets (bank, receivables), negative for liabilities
    (customer deposits, refunds payable)."""
    return summed(
        JournalLine.objects.filter(account=account).aggregate(total=Sum("amount"))["total"]
    )


def balances(accounts: Iterable[LedgerAccount]) -> dict[int, Decimal]:
    ids = [a.pk for a in accounts]
    rows = (
        JournalLine.objects.filter(account_id__in=ids)
        .values("account_id")
        .annotate(total=Sum("amount"))
        .values_list("account_id", "total")
    )
    found = dict(rows)
    return {pk: summed(found.get(pk)) for pk in ids}

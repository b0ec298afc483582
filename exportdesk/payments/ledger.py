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

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from exportdesk.accounts.models import User
from exportdesk.core.money import ZERO
from exportdesk.payments.models import AccountKind, JournalEntry, JournalLine, LedgerAccount
from exportdesk.sales.models import BankAccount, Order


class UnbalancedEntry(ValueError):
    pass


@dataclass(frozen=True)
class Posting:
    account: LedgerAccount
    amount: Decimal  # debit positive, credit negative


def account_key(
    kind: str,
    currency: str,
    *,
    bank_account: BankAccount | None = None,
    customer: User | int | None = None,
    order: Order | None = None,
) -> str:
    customer_id = customer.pk if isinstance(customer, User) else customer
    owner = (
        f"bank:{bank_account.code}"
        if bank_account
        else f"order:{order.pk}"
        if order
        else f"customer:{customer_id}"
        if customer_id
        else "exporter"
    )
    return f"{kind}:{owner}:{currency}"


def ledger_account(
    kind: str,
    currency: str,
    *,
    bank_account: BankAccount | None = None,
    customer: User | int | None = None,
    order: Order | None = None,
) -> LedgerAccount:
    """The account of that kind, owner and currency, opened on first use."""
    key = account_key(kind, currency, bank_account=bank_account, customer=customer, order=order)
    customer_id = customer.pk if isinstance(customer, User) else customer
    account, _ = LedgerAccount.objects.get_or_create(
        key=key,
        defaults={
            "kind": kind,
            "currency": currency,
            "bank_account": bank_account,
            "customer_id": customer_id,
            "order": order,
        },
    )
    return account


@dataclass(frozen=True)
class AccountSpec:
    kind: str
    currency: str
    bank_account: BankAccount | None = None
    customer_id: int | None = None

    @property
    def key(self) -> str:
        return account_key(
            self.kind, self.currency, bank_account=self.bank_account, customer=self.customer_id
        )


def ledger_accounts(specs: Iterable[AccountSpec]) -> dict[str, LedgerAccount]:
    """Many accounts at once, opened where missing, by key (two queries for a whole batch)."""
    wanted = {spec.key: spec for spec in specs}
    found = {a.key: a for a in LedgerAccount.objects.filter(key__in=list(wanted))}
    missing = [
        LedgerAccount(
            key=key,
            kind=spec.kind,
            currency=spec.currency,
            bank_account=spec.bank_account,
            customer_id=spec.customer_id,
        )
        for key, spec in wanted.items()
        if key not in found
    ]
    LedgerAccount.objects.bulk_create(missing, ignore_conflicts=True)
    if missing:
        found = {a.key: a for a in LedgerAccount.objects.filter(key__in=list(wanted))}
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
    total = JournalLine.objects.filter(account=account).aggregate(total=Sum("amount"))["total"]
    return total or ZERO


def balances(accounts: Iterable[LedgerAccount]) -> dict[int, Decimal]:
    ids = [a.pk for a in accounts]
    rows = (
        JournalLine.objects.filter(account_id__in=ids)
        .values("account_id")
        .annotate(total=Sum("amount"))
        .values_list("account_id", "total")
    )
    found = dict(rows)
    return {pk: found.get(pk) or ZERO for pk in ids}

"""Holds on deposits: money set aside for an auction bid request until its result is known.

Placing a hold moves the amount, in the ledger, from the customer's deposit account to their
held-for-bids account; it then counts as neither available nor allocatable. Releasing reverses
that entry. Converting (the bid was won) releases it and asks for an allocation of the same
money to the order the bid became, which accounting approves like any other.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from exportdesk.accounts.models import User
from exportdesk.core.audit import audit_event_record
from exportdesk.core.money import money_format, quantize
from exportdesk.payments.ledger import Posting, entry_post, entry_reverse, ledger_account
from exportdesk.payments.models import AccountKind, Allocation, Deposit, DepositHold, JournalEntry
from exportdesk.payments.selectors import deposit_available
from exportdesk.payments.services import PaymentRefused, allocation_request, fx_rate_between
from exportdesk.sales.models import Order


def deposit_hold_place(
    *, deposit: Deposit, amount: Decimal, purpose: str, actor: User
) -> DepositHold:
    """Set `amount` of a confirmed deposit aside; refused when the deposit has less available."""
    with transaction.atomic():
        locked = Deposit.objects.select_for_update().get(pk=deposit.pk)
        if not actor.is_staff and actor.pk != locked.customer_id:
            raise PaymentRefused(_("This deposit is not yours."))
        if locked.reversed_at:
            raise PaymentRefused(_("This payment's confirmation was reversed."))
        amount = quantize(amount, locked.currency)
        if amount <= 0:
            raise PaymentRefused(_("The amount must be more than zero."))
        available = deposit_available(locked)
        if amount > available:
            raise PaymentRefused(
                _("Only %(available)s of this payment is free; %(needed)s is needed.")
                % {
                    "available": money_format(available, locked.currency),
                    "needed": money_format(amount, locked.currency),
                }
            )
        entry = entry_post(
            kind=JournalEntry.Kind.HOLD,
            memo=f"Held for {purpose}"[:200],
            postings=_hold_postings(locked, amount),
            actor=actor,
        )
        hold = DepositHold.objects.create(
            deposit=locked,
            amount=amount,
            currency=locked.currency,
            purpose=purpose[:200],
            created_at=timezone.now(),
            entry=entry,
        )
        audit_event_record(
            action="deposit.hold_placed",
            actor=actor,
            obj=hold,
            subject_id=locked.customer_id,
            details={"amount": str(amount), "currency": locked.currency, "purpose": purpose},
        )
    return hold


def _hold_postings(deposit: Deposit, amount: Decimal) -> list[Posting]:
    customer = deposit.customer_id
    deposits = ledger_account(AccountKind.CUSTOMER_DEPOSIT, deposit.currency, customer=customer)
    held = ledger_account(AccountKind.BID_HOLD, deposit.currency, customer=customer)
    # Liabilities sit on the credit side: debit the deposit account, credit the held account.
    return [Posting(deposits, amount), Posting(held, -amount)]


def deposit_hold_release(*, hold: DepositHold, actor: User | None, reason: str) -> DepositHold:
    """Give the held money back to the deposit. Releasing a released hold changes nothing."""
    with transaction.atomic():
        locked = DepositHold.objects.select_for_update().get(pk=hold.pk)
        if locked.status != DepositHold.Status.HELD:
            return locked
        _release(locked, actor, reason, DepositHold.Status.RELEASED)
        audit_event_record(
            action="deposit.hold_released",
            actor=actor,
            obj=locked,
            subject_id=locked.deposit.customer_id,
            details={"reason": reason},
        )
    return locked


def _release(hold: DepositHold, actor: User | None, reason: str, status: str) -> None:
    hold.release_entry = entry_reverse(
        entry=hold.entry, memo=f"Hold released: {reason}"[:200], actor=actor
    )
    hold.status = status
    hold.released_at = timezone.now()
    hold.save(update_fields=["release_entry", "status", "released_at"])


def deposit_hold_convert(*, hold: DepositHold, order: Order, actor: User) -> Allocation:
    """The bid was won: the held money goes to the new order as an allocation request (as much
    as the order needs, at most the hold)."""
    with transaction.atomic():
        locked = DepositHold.objects.select_for_update().get(pk=hold.pk)
        if locked.status != DepositHold.Status.HELD:
            raise PaymentRefused(_("This hold is no longer in force."))
        _release(locked, actor, f"used for order {order.number}", DepositHold.Status.CONVERTED)
        allocation = allocation_request(
            deposit=locked.deposit,
            order=order,
            amount=_usable(locked, order),
            requested_by=actor,
        )
        locked.allocation = allocation
        locked.save(update_fields=["allocation"])
        audit_event_record(
            action="deposit.hold_converted",
            actor=actor,
            obj=locked,
            subject_id=locked.deposit.customer_id,
            details={"order": order.number, "allocation": allocation.pk},
        )
    return allocation


def _usable(hold: DepositHold, order: Order) -> Decimal:
    """The hold, or less when the order costs less than it (in the deposit's currency)."""
    rate = fx_rate_between(hold.currency, order.currency)
    needed = quantize(order.total / rate, hold.currency) if rate else hold.amount
    return min(hold.amount, needed)

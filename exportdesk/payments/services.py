"""Writes on payments: declarations, confirmations, allocations, refunds, reversals, releases.

Every function is atomic, posts its journal entry and audit event in the same transaction, and
locks the rows that change together in one fixed order: allocation, deposit, order (each by
primary key). Statement imports live in `imports.py` and confirm through `credits_confirm`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Model, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop, ngettext_lazy

from exportdesk.accounts.models import User
from exportdesk.core.audit import AuditDraft, audit_event_record, audit_events_record
from exportdesk.core.bulk import ids_reserve, rows_insert, rows_update
from exportdesk.core.mail import mail_send_template
from exportdesk.core.money import INVOICE_CURRENCIES, ZERO, money_format, quantize
from exportdesk.core.uploads import UploadProblem, UploadRejected, upload_content_type
from exportdesk.messaging.models import ContactEvent
from exportdesk.messaging.services import (
    contact_event_record,
    contact_event_values,
    contact_message,
    contact_text,
)
from exportdesk.payments.ledger import (
    AccountSpec,
    Posting,
    conversion_postings,
    entry_post,
    entry_reverse,
    ledger_account,
    ledger_account_ids,
)
from exportdesk.payments.models import (
    AccountKind,
    Allocation,
    BankTransaction,
    Deposit,
    JournalEntry,
    JournalLine,
    PaymentDeclaration,
    Refund,
)
from exportdesk.payments.selectors import deposit_available, orders_paid, orders_pending
from exportdesk.sales.models import Order, Proforma
from exportdesk.sales.services import order_mark_paid, order_reopen, proforma_release
from exportdesk.stock.pricing import latest_rate


class PaymentRefused(Exception):
    """A payment operation that must not happen; the message is shown to the person as is."""


# --- Declarations -------------------------------------------------------------------------------


_SLIP_PROBLEMS = {
    UploadProblem.TOO_LARGE: gettext_lazy("The slip is too large: the limit is %(mb)s MB."),
    UploadProblem.NOT_ACCEPTED: gettext_lazy("The slip must be a PDF, JPEG or PNG file."),
    UploadProblem.DAMAGED_PDF: gettext_lazy("The slip PDF is incomplete or damaged."),
    UploadProblem.DAMAGED_IMAGE: gettext_lazy("The slip image is damaged or not really an image."),
}


def slip_content_type(upload: UploadedFile) -> str:
    """The slip's real type from its content (never its name): PDF, JPEG or PNG up to the size
    limit. An executable renamed .pdf, or a broken image, is refused."""
    limit = settings.SLIP_MAX_BYTES
    try:
        return upload_content_type(upload, max_bytes=limit)
    except UploadRejected as rejected:
        raise PaymentRefused(rejected.told_with(_SLIP_PROBLEMS, limit)) from rejected


@dataclass(frozen=True)
class DeclarationDraft:
    amount: Decimal
    currency: str
    paid_on: date
    payer_name: str
    payer_bank: str
    reference: str
    orders: list[Order]


def _declaration_check(customer: User, draft: DeclarationDraft) -> Decimal:
    if draft.currency not in INVOICE_CURRENCIES:
        raise PaymentRefused(
            _("We accept transfers in %(list)s.") % {"list": ", ".join(INVOICE_CURRENCIES)}
        )
    amount = quantize(draft.amount, draft.currency)
    if amount <= 0:
        raise PaymentRefused(_("The amount must be more than zero."))
    if draft.paid_on > timezone.localdate():
        raise PaymentRefused(_("The transfer date cannot be in the future."))
    if not draft.orders:
        raise PaymentRefused(_("Choose the order or orders this payment is for."))
    for order in draft.orders:
        if order.customer_id != customer.pk:
            raise PaymentRefused(_("You can only declare payments for your own orders."))
        if order.status != Order.Status.OPEN:
            raise PaymentRefused(
                _("Order %(number)s is not awaiting payment.") % {"number": order.number}
            )
    return amount


def declaration_submit(
    *, customer: User, draft: DeclarationDraft, slip: UploadedFile | None
) -> PaymentDeclaration:
    """The customer's "I have paid"; pending until the bank statement confirms it."""
    amount = _declaration_check(customer, draft)
    content_type = slip_content_type(slip) if slip else ""
    now = timezone.now()
    with transaction.atomic():
        declaration = PaymentDeclaration(
            customer=customer,
            amount=amount,
            currency=draft.currency,
            paid_on=draft.paid_on,
            payer_name=draft.payer_name.strip(),
            payer_bank=draft.payer_bank.strip(),
            reference=draft.reference.strip(),
            slip_content_type=content_type,
            created_at=now,
            updated_at=now,
        )
        if slip:
            declaration.slip.save("slip", slip, save=False)
        declaration.save()
        declaration.orders.set(draft.orders)
        contact_event_record(
            email=customer.email,
            customer=customer,
            kind=ContactEvent.Kind.NOTE,
            direction=ContactEvent.Direction.INBOUND,
            subject=contact_text(
                gettext_noop("Payment declared: %(amount)s"),
                customer=customer,
                amount=money_format(amount, draft.currency),
            ),
            body=", ".join(o.number for o in draft.orders),
            source=declaration,
        )
        audit_event_record(
            action="declaration.submitted", actor=customer, obj=declaration, subject_id=customer.pk
        )
    return declaration


def _pending_locked(declaration: PaymentDeclaration, customer: User) -> PaymentDeclaration:
    locked = PaymentDeclaration.objects.select_for_update().get(pk=declaration.pk)
    if locked.customer_id != customer.pk:
        raise PaymentRefused(_("This declaration is not yours."))
    if locked.status != PaymentDeclaration.Status.PENDING:
        raise PaymentRefused(
            _("Only a pending declaration can be changed; this one is %(status)s.")
            % {"status": locked.get_status_display().lower()}
        )
    return locked


def declaration_update(
    *,
    declaration: PaymentDeclaration,
    customer: User,
    draft: DeclarationDraft,
    slip: UploadedFile | None,
) -> PaymentDeclaration:
    amount = _declaration_check(customer, draft)
    content_type = slip_content_type(slip) if slip else ""
    with transaction.atomic():
        locked = _pending_locked(declaration, customer)
        locked.amount, locked.currency, locked.paid_on = amount, draft.currency, draft.paid_on
        locked.payer_name, locked.payer_bank = draft.payer_name.strip(), draft.payer_bank.strip()
        locked.reference, locked.updated_at = draft.reference.strip(), timezone.now()
        if slip:
            old = locked.slip.name
            locked.slip_content_type = content_type
            locked.slip.save("slip", slip, save=False)
            if old and old != locked.slip.name:
                storage, name = locked.slip.storage, old
                transaction.on_commit(lambda: storage.delete(name))
        locked.save()
        locked.orders.set(draft.orders)
        audit_event_record(
            action="declaration.updated", actor=customer, obj=locked, subject_id=customer.pk
        )
    return locked


def _declaration_close(locked: PaymentDeclaration, status: str) -> None:
    """Withdrawn or expired: the slip is deleted at once, it has no further purpose."""
    locked.status, locked.closed_at = status, timezone.now()
    if locked.slip:
        storage, name = locked.slip.storage, locked.slip.name
        transaction.on_commit(lambda: storage.delete(name))
        locked.slip = ""
    locked.save(update_fields=["status", "closed_at", "slip"])


def declaration_withdraw(*, declaration: PaymentDeclaration, customer: User) -> None:
    with transaction.atomic():
        locked = _pending_locked(declaration, customer)
        _declaration_close(locked, PaymentDeclaration.Status.WITHDRAWN)
        contact_event_record(
            email=customer.email,
            customer=customer,
            kind=ContactEvent.Kind.NOTE,
            direction=ContactEvent.Direction.INBOUND,
            subject=contact_text(
                gettext_noop("Payment declaration withdrawn: %(amount)s"),
                customer=customer,
                amount=money_format(locked.amount, locked.currency),
            ),
            source=locked,
        )
        audit_event_record(
            action="declaration.withdrawn", actor=customer, obj=locked, subject_id=customer.pk
        )


def declarations_expire(*, now: datetime | None = None) -> int:
    """Remove declarations our bank has not confirmed in time; tell each customer. Idempotent."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.DECLARATION_EXPIRY_DAYS)
    stale = PaymentDeclaration.objects.filter(
        status=PaymentDeclaration.Status.PENDING, created_at__lt=cutoff
    ).values_list("pk", flat=True)
    count = 0
    for pk in list(stale):
        with transaction.atomic():
            locked = (
                PaymentDeclaration.objects.select_for_update()
                .select_related("customer")
                .filter(pk=pk, status=PaymentDeclaration.Status.PENDING)
                .first()
            )
            if locked is None:
                continue
            _declaration_close(locked, PaymentDeclaration.Status.EXPIRED)
            customer = locked.customer
            contact_event_record(
                email=customer.email,
                customer=customer,
                kind=ContactEvent.Kind.NOTICE,
                direction=ContactEvent.Direction.OUTBOUND,
                subject=contact_text(
                    ngettext_lazy(
                        "Payment declaration removed: %(amount)s not received within %(days)s day",
                        "Payment declaration removed: %(amount)s not received within %(days)s days",
                        "days",
                    ),
                    customer=customer,
                    amount=money_format(locked.amount, locked.currency),
                    days=settings.DECLARATION_EXPIRY_DAYS,
                ),
                source=locked,
            )
            mail_send_template(
                to=customer.email,
                template="payments/email/declaration_expired",
                context={"declaration": locked, "days": settings.DECLARATION_EXPIRY_DAYS},
                language=customer.language,
            )
            audit_event_record(action="declaration.expired", obj=locked, subject_id=customer.pk)
            count += 1
    return count


# --- Confirming bank credits --------------------------------------------------------------------


@dataclass(frozen=True)
class Confirmation:
    """A bank credit recognised as a customer's payment."""

    transaction: BankTransaction | int
    customer: User | int
    declaration: PaymentDeclaration | int | None = None
    bank_charge: Decimal = ZERO  # intermediary fees we absorb: the customer is credited in full
    third_party: bool = False

    # Records or bare ids alike: a statement's automatic matches have only ids.
    @property
    def transaction_id(self) -> int:
        return _pk(self.transaction)

    @property
    def customer_id(self) -> int:
        return _pk(self.customer)

    @property
    def declaration_id(self) -> int | None:
        return None if self.declaration is None else _pk(self.declaration)


def _pk(value: Model | int) -> int:
    return value if isinstance(value, int) else value.pk


def _confirmation_check(
    item: Confirmation, txn: dict[str, Any], decl: dict[str, Any] | None
) -> None:
    if txn["status"] != BankTransaction.Status.UNMATCHED or txn["amount"] <= 0:
        raise PaymentRefused(_("Only an unmatched incoming payment can be confirmed."))
    if item.bank_charge < 0:
        raise PaymentRefused(_("A bank charge cannot be negative."))
    if decl is not None:
        if decl["customer_id"] != item.customer_id:
            raise PaymentRefused(_("That declaration belongs to another customer."))
        if decl["status"] != PaymentDeclaration.Status.PENDING:
            raise PaymentRefused(_("That declaration is no longer pending."))
        if decl["currency"] != txn["currency"]:
            raise PaymentRefused(_("The declaration is in another currency than the payment."))


_TXN_COLUMNS = (
    "id",
    "status",
    "amount",
    "currency",
    "bank_account_id",
    "booking_date",
    "counterparty_name",
    "counterparty_account",
)


def _locked_rows(
    model: type[Model], ids: list[int], columns: Sequence[str]
) -> dict[int, dict[str, Any]]:
    return {
        row["id"]: row
        for chunk in _chunks(ids)
        for row in model._default_manager.select_for_update().filter(pk__in=chunk).values(*columns)
    }


def _customers_locked(ids: set[int]) -> dict[int, tuple[str, str]]:
    """Lock the customers' accounts (no key update: rows referring to them can still be written)
    and return their e-mail addresses and languages (what they are told is written in theirs)."""
    locked = User.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk")
    return {
        pk: (email, language)
        for pk, email, language in locked.values_list("pk", "email", "language")
    }


def _without_vanished_declarations(
    confirmations: list[Confirmation], decls: dict[int, dict[str, Any]], actor: User | None
) -> list[Confirmation]:
    """A declaration can disappear while a statement is being matched (withdrawn, expired, or
    erased with its owner's data). Accounting's own choice is refused; an automatic match still
    confirms the money for the customer, without the declaration."""
    vanished = [c for c in confirmations if c.declaration_id and c.declaration_id not in decls]
    if not vanished:
        return confirmations
    if actor is not None:
        raise PaymentRefused(_("The payment declaration was withdrawn or removed meanwhile."))
    return [replace(c, declaration=None) if c in vanished else c for c in confirmations]


def credits_confirm(
    *,
    confirmations: list[Confirmation],
    actor: User | None,
    read_back: bool = True,
    written: Mapping[int, dict[str, Any]] | None = None,
) -> list[Deposit]:
    """Confirm bank credits as customers' payments, many at once (a statement's automatic
    matches) or one (accounting's choice): each becomes a deposit, posted bank → customer deposit
    (plus the absorbed bank charge), and its declaration is confirmed. Returns the deposits, in
    the order of `confirmations`; with `read_back=False`, nothing (a statement import confirms
    thousands and needs none of them back: every confirmation became a deposit, or this raised).

    Built for batches: a fixed number of queries and bulk inserts (`core.bulk`) for the whole
    batch, not per payment. Callers may pass unsaved stand-ins carrying only primary keys.

    `written`: the credits' rows by id as the caller's transaction has just inserted them (a
    statement import). No one else can see them yet, so they are neither locked nor read
    back. (A credit confirmed twice still fails: one live deposit per credit is a constraint.)"""
    if not confirmations:
        return []
    now = timezone.now()
    with transaction.atomic():
        txn_ids = sorted(item.transaction_id for item in confirmations)
        decl_ids = sorted(i.declaration_id for i in confirmations if i.declaration_id is not None)
        if len(set(txn_ids)) != len(txn_ids) or len(set(decl_ids)) != len(decl_ids):
            raise PaymentRefused(_("The same payment or declaration appears twice."))
        # The customers first, in key order: an erasure of one of them locks that account before
        # anything else too, so the two wait for each other instead of deadlocking.
        customers = _customers_locked({item.customer_id for item in confirmations})
        txns = (
            _locked_rows(BankTransaction, txn_ids, _TXN_COLUMNS)
            if written is None
            else {pk: written[pk] for pk in txn_ids}
        )
        decls = _locked_rows(
            PaymentDeclaration, decl_ids, ("id", "customer_id", "status", "currency")
        )
        confirmations = _without_vanished_declarations(confirmations, decls, actor)
        for item in confirmations:
            declaration_id = item.declaration_id
            _confirmation_check(
                item,
                txns[item.transaction_id],
                decls[declaration_id] if declaration_id is not None else None,
            )
        # Each confirmation's three accounts, worked out once per bank account, currency and
        # customer: a statement's confirmations share the bank and bank charges accounts, and a
        # customer who paid twice has one deposit account.
        owners = [
            _receipt_owner(txns[item.transaction_id], item.customer_id) for item in confirmations
        ]
        specs = {owner: _receipt_accounts(*owner) for owner in set(owners)}
        ids = ledger_account_ids(spec for triple in specs.values() for spec in triple)
        accounts = {owner: [ids[spec.key] for spec in triple] for owner, triple in specs.items()}
        entry_ids = ids_reserve(JournalEntry, len(confirmations))
        deposit_ids = ids_reserve(Deposit, len(confirmations))
        entries, lines, deposits = [], [], []
        for item, owner, entry_id, deposit_id in zip(
            confirmations, owners, entry_ids, deposit_ids, strict=True
        ):
            txn = txns[item.transaction_id]
            customer_id = item.customer_id
            bank, charges, held = accounts[owner]
            credited = txn["amount"] + item.bank_charge
            entries.append(
                {
                    "id": entry_id,
                    "kind": JournalEntry.Kind.RECEIPT,
                    "memo": f"Payment received {txn['booking_date']} from "
                    f"{txn['counterparty_name'] or '?'} for C{customer_id:06d}"[:200],
                    "created_at": now,
                    "actor_id": actor.pk if actor else None,
                }
            )
            lines.append({"entry_id": entry_id, "account_id": bank, "amount": txn["amount"]})
            if item.bank_charge:
                lines.append(
                    {"entry_id": entry_id, "account_id": charges, "amount": item.bank_charge}
                )
            lines.append({"entry_id": entry_id, "account_id": held, "amount": -credited})
            deposits.append(
                {
                    "id": deposit_id,
                    "customer_id": customer_id,
                    "transaction_id": txn["id"],
                    "declaration_id": item.declaration_id,
                    "currency": txn["currency"],
                    "received": txn["amount"],
                    "bank_charge": item.bank_charge,
                    "amount": credited,
                    "payer_name": txn["counterparty_name"],
                    "payer_account": txn["counterparty_account"],
                    "third_party": item.third_party,
                    "confirmed_by_id": actor.pk if actor else None,
                    "confirmed_at": now,
                    "entry_id": entry_id,
                }
            )
        rows_insert(JournalEntry, entries)
        rows_insert(JournalLine, lines)
        rows_insert(Deposit, deposits)
        rows_update(BankTransaction, txn_ids, {"status": BankTransaction.Status.CONFIRMED})
        rows_update(
            PaymentDeclaration,
            decl_ids,
            {"status": PaymentDeclaration.Status.CONFIRMED, "closed_at": now},
        )
        _receipts_told(deposits, customers, actor)
        transaction.on_commit(lambda: _deposit_notices_enqueue(deposit_ids))
    if not read_back:
        return []
    found = Deposit.objects.in_bulk(deposit_ids)
    return [found[pk] for pk in deposit_ids]


ReceiptOwner = tuple[int, str, int]  # bank account, currency, customer


def _receipt_owner(txn: dict[str, Any], customer_id: int) -> ReceiptOwner:
    return (txn["bank_account_id"], txn["currency"], customer_id)


def _receipt_accounts(
    bank_account_id: int, currency: str, customer_id: int
) -> tuple[AccountSpec, ...]:
    """Bank, bank charges and the customer's deposits, in the credit's currency."""
    return (
        AccountSpec(AccountKind.BANK, currency, bank_account_id=bank_account_id),
        AccountSpec(AccountKind.BANK_CHARGES, currency),
        AccountSpec(AccountKind.CUSTOMER_DEPOSIT, currency, customer_id=customer_id),
    )


_RECEIVED = gettext_noop("Payment received: %(amount)s")
_THIRD_PARTY = gettext_noop(
    "Sent by %(payer)s: we check payments from third parties before the money can be used."
)
_THIRD_PARTY_UNNAMED = gettext_noop(
    "Sent by someone else: we check payments from third parties before the money can be used."
)


def _receipts_told(
    deposits: list[dict[str, Any]], customers: dict[int, tuple[str, str]], actor: User | None
) -> None:
    """Each confirmed payment in the customer's contact history, in their language, and in the
    audit log. `customers`: e-mail address and language by id, as `_customers_locked` gives."""
    events = []
    drafts = []
    # A statement's customers speak a few languages: each message is translated once per
    # language, not per payment (switching the active language for each of thousands of rows
    # would add a few tenths of a second to the import).
    wording = {
        language: (
            contact_message(_RECEIVED, language=language),
            contact_message(_THIRD_PARTY, language=language),
            contact_message(_THIRD_PARTY_UNNAMED, language=language),
        )
        for language in {language for _email, language in customers.values()}
    }
    # Many payments are of the same amount (round prices): each is formatted once per batch,
    # and its subject written once per language.
    formatted: dict[tuple[Decimal, str], str] = {}
    subjects: dict[tuple[str, Decimal, str], str] = {}
    for d in deposits:
        email, language = customers[d["customer_id"]]
        key = (language, d["amount"], d["currency"])
        subject = subjects.get(key)
        if subject is None:
            money = formatted.get(key[1:])
            if money is None:
                money = formatted[key[1:]] = money_format(d["amount"], d["currency"])
            subject = subjects[key] = wording[language][0] % {"amount": money}
        note = ""
        if d["third_party"]:
            _received, named, unnamed = wording[language]
            payer = d["payer_name"]
            note = named % {"payer": payer} if payer else unnamed
        event = contact_event_values(
            email=email,
            customer=d["customer_id"],
            kind=ContactEvent.Kind.NOTICE,
            direction=ContactEvent.Direction.OUTBOUND,
            subject=subject,
            body=note,
            source=(Deposit, d["id"]),
        )
        # Told when confirmed: one moment for the batch, as the deposits have (and one
        # timestamp for the bulk insert to convert instead of one per row).
        event["created_at"] = d["confirmed_at"]
        events.append(event)
        drafts.append(
            AuditDraft(
                action="payment.confirmed",
                actor=actor,
                object_type="payments.deposit",
                object_id=str(d["id"]),
                subject_id=d["customer_id"],
                details={
                    "transaction": d["transaction_id"],
                    "amount": str(d["amount"]),
                    "currency": d["currency"],
                    "automatic": actor is None,
                    "third_party": d["third_party"],
                },
            )
        )
    rows_insert(ContactEvent, events)
    audit_events_record(drafts)


def _chunks(ids: list[int], size: int = 900) -> Iterator[list[int]]:
    """Slices small enough for SQLite's limit on query parameters."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _deposit_notices_enqueue(deposit_ids: list[int]) -> None:
    from exportdesk.payments.tasks import deposit_notices_send

    deposit_notices_send(deposit_ids)


def deposit_notices_send_now(deposit_ids: list[int]) -> None:
    """E-mail each customer that their payment arrived (run by the worker)."""
    for deposit in Deposit.objects.filter(pk__in=deposit_ids).select_related("customer"):
        with transaction.atomic():
            mail_send_template(
                to=deposit.customer.email,
                template="payments/email/payment_received",
                context={"deposit": deposit, "site_url": settings.SITE_URL},
                language=deposit.customer.language,
            )


def transaction_ignore(*, txn: BankTransaction, staff: User, reason: str) -> None:
    """Not a customer payment (interest, a supplier's refund); kept in the ledger of record."""
    with transaction.atomic():
        locked = BankTransaction.objects.select_for_update().get(pk=txn.pk)
        if locked.status != BankTransaction.Status.UNMATCHED:
            raise PaymentRefused(_("Only an unmatched entry can be set aside."))
        locked.status, locked.ignored_reason = BankTransaction.Status.IGNORED, reason[:200]
        locked.save(update_fields=["status", "ignored_reason"])
        audit_event_record(
            action="bank_entry.ignored", actor=staff, obj=locked, details={"reason": reason}
        )


def third_party_clear(*, deposit: Deposit, staff: User) -> None:
    """Accounting has checked why someone else paid (a relative, the customer's company)."""
    with transaction.atomic():
        locked = Deposit.objects.select_for_update().get(pk=deposit.pk)
        if not locked.held_for_review:
            raise PaymentRefused(_("This payment is not held for review."))
        locked.third_party_cleared_by = staff
        locked.save(update_fields=["third_party_cleared_by"])
        audit_event_record(
            action="payment.third_party_cleared",
            actor=staff,
            obj=locked,
            subject_id=locked.customer_id,
        )


def deposit_reverse(*, deposit: Deposit, staff: User, reason: str) -> None:
    """Undo a confirmation made in error: the receipt is reversed, the bank entry waits for
    accounting again and its declaration is pending again. Refused once money from it was used."""
    with transaction.atomic():
        locked = Deposit.objects.select_for_update().get(pk=deposit.pk)
        if locked.reversed_at:
            raise PaymentRefused(_("This confirmation was already reversed."))
        used = locked.allocations.filter(status=Allocation.Status.APPROVED).exists()
        if used or locked.refunds.exists():
            raise PaymentRefused(
                _(
                    "Money from this payment has been used; reverse those allocations or refunds first."
                )
            )
        locked.allocations.filter(status=Allocation.Status.PENDING).update(
            status=Allocation.Status.CANCELLED, decided_by=staff, decided_at=timezone.now()
        )
        entry_reverse(entry=locked.entry, memo=f"Reversal: {reason}"[:200], actor=staff)
        locked.reversed_at = timezone.now()
        locked.save(update_fields=["reversed_at"])
        # The reversed deposit stays as history; the bank entry can be confirmed afresh.
        BankTransaction.objects.filter(pk=locked.transaction_id).update(
            status=BankTransaction.Status.UNMATCHED
        )
        if locked.declaration_id:
            PaymentDeclaration.objects.filter(pk=locked.declaration_id).update(
                status=PaymentDeclaration.Status.PENDING, closed_at=None
            )
        audit_event_record(
            action="payment.reversed",
            actor=staff,
            obj=locked,
            subject_id=locked.customer_id,
            details={"reason": reason},
        )


# --- Allocations --------------------------------------------------------------------------------


def fx_rate_between(source: str, target: str) -> Decimal:
    """Units of `target` per unit of `source` from the staff's latest yen rates."""
    if source == target:
        return Decimal(1)

    def yen(currency: str) -> Decimal:
        if currency == "JPY":
            return Decimal(1)
        rate = latest_rate(currency)
        if rate is None:
            raise PaymentRefused(
                _("No exchange rate for %(currency)s is on file.") % {"currency": currency}
            )
        return rate.jpy_per_unit

    return (yen(source) / yen(target)).quantize(Decimal("0.00000001"))


def allocation_request(
    *, deposit: Deposit, order: Order, amount: Decimal, requested_by: User
) -> Allocation:
    """Ask for deposit money to pay an order; nothing moves until accounting approves."""
    with transaction.atomic():
        locked = Deposit.objects.select_for_update().get(pk=deposit.pk)
        order = Order.objects.select_for_update().get(pk=order.pk)
        if not requested_by.is_staff and requested_by.pk != locked.customer_id:
            raise PaymentRefused(_("This deposit is not yours."))
        if order.customer_id != locked.customer_id:
            raise PaymentRefused(_("Money can only be allocated to the same customer's orders."))
        if order.status != Order.Status.OPEN:
            raise PaymentRefused(
                _("Order %(number)s is not awaiting payment.") % {"number": order.number}
            )
        if locked.reversed_at:
            raise PaymentRefused(_("This payment's confirmation was reversed."))
        amount = quantize(amount, locked.currency)
        if amount <= 0:
            raise PaymentRefused(_("The amount must be more than zero."))
        available = deposit_available(locked)
        if amount > available:
            raise PaymentRefused(
                _("Only %(available)s of this payment is unallocated.")
                % {"available": money_format(available, locked.currency)}
            )
        rate = fx_rate_between(locked.currency, order.currency)
        order_amount = quantize(amount * rate, order.currency)
        owed = (
            order.total - orders_paid([order.pk])[order.pk] - orders_pending([order.pk])[order.pk]
        )
        if order_amount > owed:
            raise PaymentRefused(
                _(
                    "Order %(number)s needs only %(owed)s more (allocations waiting for approval included)."
                )
                % {"number": order.number, "owed": money_format(max(owed, ZERO), order.currency)}
            )
        allocation = Allocation.objects.create(
            deposit=locked,
            order=order,
            amount=amount,
            order_amount=order_amount,
            fx_rate=rate,
            requested_by=requested_by,
            requested_at=timezone.now(),
        )
        customer = order.customer
        contact_event_record(
            email=customer.email,
            customer=customer,
            kind=ContactEvent.Kind.NOTE,
            direction=ContactEvent.Direction.INBOUND
            if not requested_by.is_staff
            else ContactEvent.Direction.OUTBOUND,
            subject=contact_text(
                gettext_noop("Allocation requested: %(amount)s to %(order)s"),
                customer=customer,
                amount=money_format(amount, locked.currency),
                order=order.number,
            ),
            source=allocation,
        )
        audit_event_record(
            action="allocation.requested",
            actor=requested_by,
            obj=allocation,
            subject_id=customer.pk,
            details={"amount": str(amount), "order": order.number},
        )
    return allocation


def _order_booked(order: Order, actor: User | None) -> None:
    """The sale enters the ledger (receivable against sales) the first time money meets it; the
    database's one-entry-per-order rule makes this safe to call twice."""
    if JournalEntry.objects.filter(booked_order=order).exists():
        return
    receivable = ledger_account(AccountKind.RECEIVABLE, order.currency, order=order)
    sales = ledger_account(AccountKind.SALES, order.currency)
    entry_post(
        kind=JournalEntry.Kind.ORDER,
        memo=f"Order {order.number} booked",
        postings=[Posting(receivable, order.total), Posting(sales, -order.total)],
        actor=actor,
        booked_order=order,
    )


def allocation_decide(
    *, allocation: Allocation, staff: User, approve: bool, reason: str = ""
) -> Allocation:
    """Accounting approves (money moves: deposit → order) or rejects a pending allocation.
    Two approvals racing for the same allocation: the row lock lets one through."""
    with transaction.atomic():
        locked = Allocation.objects.select_for_update().get(pk=allocation.pk)
        if locked.status != Allocation.Status.PENDING:
            raise PaymentRefused(_("This allocation has already been decided."))
        deposit = Deposit.objects.select_for_update().get(pk=locked.deposit_id)
        order = Order.objects.select_for_update().get(pk=locked.order_id)
        locked.decided_by, locked.decided_at, locked.reason = staff, timezone.now(), reason[:200]
        if not approve:
            locked.status = Allocation.Status.REJECTED
            locked.save(update_fields=["status", "decided_by", "decided_at", "reason"])
            _allocation_told(locked, order, "rejected", staff)
            return locked
        if deposit.held_for_review:
            raise PaymentRefused(
                _("This payment came from a third party and must be reviewed first.")
            )
        if deposit.reversed_at:
            raise PaymentRefused(_("This payment's confirmation was reversed."))
        if order.status != Order.Status.OPEN:
            raise PaymentRefused(
                _("Order %(number)s is not awaiting payment.") % {"number": order.number}
            )
        paid = orders_paid([order.pk])[order.pk]
        if paid + locked.order_amount > order.total:
            raise PaymentRefused(_("This would pay more than the order's total."))
        _order_booked(order, staff)
        held = ledger_account(
            AccountKind.CUSTOMER_DEPOSIT, deposit.currency, customer=deposit.customer_id
        )
        receivable = ledger_account(AccountKind.RECEIVABLE, order.currency, order=order)
        locked.entry = entry_post(
            kind=JournalEntry.Kind.ALLOCATION,
            memo=f"Deposit {deposit.pk} to order {order.number}",
            postings=conversion_postings(
                source=held,
                source_amount=locked.amount,
                target=receivable,
                target_amount=locked.order_amount,
            ),
            actor=staff,
            fx_rate=locked.fx_rate if deposit.currency != order.currency else None,
        )
        locked.status = Allocation.Status.APPROVED
        locked.save(update_fields=["status", "decided_by", "decided_at", "reason", "entry"])
        if paid + locked.order_amount == order.total:
            order_mark_paid(order=order, actor=staff)
        _allocation_told(locked, order, "approved", staff)
    return locked


# What the customer is told of a decision on an allocation, by verdict and whether the order is
# now paid in full: whole sentences, so each language can word them its own way.
_ALLOCATION_SUBJECTS = {
    ("approved", False): gettext_noop("Allocation approved: %(amount)s to %(order)s"),
    ("approved", True): gettext_noop(
        "Allocation approved: %(amount)s to %(order)s (order paid in full)"
    ),
    ("rejected", False): gettext_noop("Allocation rejected: %(amount)s to %(order)s"),
    ("rejected", True): gettext_noop(
        "Allocation rejected: %(amount)s to %(order)s (order paid in full)"
    ),
    ("reversed", False): gettext_noop("Allocation reversed: %(amount)s to %(order)s"),
    ("reversed", True): gettext_noop(
        "Allocation reversed: %(amount)s to %(order)s (order paid in full)"
    ),
}


def _allocation_told(
    allocation: Allocation, order: Order, verdict: str, staff: User | None
) -> None:
    customer = order.customer
    contact_event_record(
        email=customer.email,
        customer=customer,
        kind=ContactEvent.Kind.NOTICE,
        direction=ContactEvent.Direction.OUTBOUND,
        subject=contact_text(
            _ALLOCATION_SUBJECTS[verdict, order.status == Order.Status.PAID],
            customer=customer,
            amount=money_format(allocation.order_amount, order.currency),
            order=order.number,
        ),
        body=allocation.reason,
        staff=staff,
        source=allocation,
    )
    audit_event_record(
        action=f"allocation.{verdict}",
        actor=staff,
        obj=allocation,
        subject_id=customer.pk,
        details={"reason": allocation.reason},
    )


def allocation_cancel(*, allocation: Allocation, customer: User) -> None:
    """The customer withdraws their own pending request."""
    with transaction.atomic():
        locked = (
            Allocation.objects.select_for_update().select_related("order").get(pk=allocation.pk)
        )
        if locked.order.customer_id != customer.pk:
            raise PaymentRefused(_("This allocation is not yours."))
        if locked.status != Allocation.Status.PENDING:
            raise PaymentRefused(_("Only a request waiting for approval can be cancelled."))
        locked.status, locked.decided_at = Allocation.Status.CANCELLED, timezone.now()
        locked.save(update_fields=["status", "decided_at"])
        audit_event_record(
            action="allocation.cancelled", actor=customer, obj=locked, subject_id=customer.pk
        )


def allocation_reverse(*, allocation: Allocation, staff: User, reason: str) -> None:
    """Take back an approved allocation (approved in error, or its order was cancelled): the
    entry is reversed, the money is unallocated on the deposit again, a paid order reopens."""
    with transaction.atomic():
        locked = Allocation.objects.select_for_update().get(pk=allocation.pk)
        if locked.status != Allocation.Status.APPROVED or locked.entry is None:
            raise PaymentRefused(_("Only an approved allocation can be reversed."))
        Deposit.objects.select_for_update().get(pk=locked.deposit_id)
        order = Order.objects.select_for_update().get(pk=locked.order_id)
        entry_reverse(
            entry=locked.entry, memo=f"Allocation {locked.pk} reversed: {reason}"[:200], actor=staff
        )
        locked.status = Allocation.Status.REVERSED
        locked.save(update_fields=["status"])
        if order.status == Order.Status.PAID:
            order_reopen(order=order, actor=staff)
        _allocation_told(locked, order, "reversed", staff)


def allocation_reallocate(
    *, allocation: Allocation, to_order: Order, actor: User, reason: str = ""
) -> Allocation:
    """Move money to another order with an outstanding balance: a pending request is simply
    redirected; approved money can move only off a cancelled order (surplus), by reversal."""
    with transaction.atomic():
        locked = (
            Allocation.objects.select_for_update().select_related("order").get(pk=allocation.pk)
        )
        if not actor.is_staff and locked.order.customer_id != actor.pk:
            raise PaymentRefused(_("This allocation is not yours."))
        if locked.status == Allocation.Status.PENDING:
            locked.status, locked.decided_at = Allocation.Status.CANCELLED, timezone.now()
            locked.reason = f"Moved to {to_order.number}"[:200]
            locked.save(update_fields=["status", "decided_at", "reason"])
        elif (
            locked.status == Allocation.Status.APPROVED
            and locked.order.status == Order.Status.CANCELLED
        ):
            if not actor.is_staff:
                raise PaymentRefused(_("Accounting moves money from a cancelled order."))
            allocation_reverse(
                allocation=locked, staff=actor, reason=reason or f"moved to {to_order.number}"
            )
        else:
            raise PaymentRefused(
                _("Approved money can only be moved off an order that was cancelled.")
            )
        new = allocation_request(
            deposit=locked.deposit, order=to_order, amount=locked.amount, requested_by=actor
        )
        new.replaces = locked
        new.save(update_fields=["replaces"])
    return new


# --- Refunds ------------------------------------------------------------------------------------


def refund_approve(*, deposit: Deposit, amount: Decimal, staff: User) -> Refund:
    """Unallocated money goes back, only to the account it came from (never to one a caller
    names: that is how refund fraud works)."""
    with transaction.atomic():
        locked = Deposit.objects.select_for_update().get(pk=deposit.pk)
        amount = quantize(amount, locked.currency)
        if amount <= 0:
            raise PaymentRefused(_("The amount must be more than zero."))
        if not locked.payer_account:
            raise PaymentRefused(
                _(
                    "The bank did not tell us the account this payment came from; it cannot be refunded automatically."
                )
            )
        available = deposit_available(locked)
        if amount > available:
            raise PaymentRefused(
                _("Only %(available)s of this payment is unallocated.")
                % {"available": money_format(available, locked.currency)}
            )
        held = ledger_account(
            AccountKind.CUSTOMER_DEPOSIT, locked.currency, customer=locked.customer_id
        )
        payable = ledger_account(AccountKind.REFUNDS_PAYABLE, locked.currency)
        entry = entry_post(
            kind=JournalEntry.Kind.REFUND,
            memo=f"Refund of deposit {locked.pk} to {locked.payer_account}",
            postings=[Posting(held, amount), Posting(payable, -amount)],
            actor=staff,
        )
        refund = Refund.objects.create(
            deposit=locked,
            amount=amount,
            currency=locked.currency,
            to_name=locked.payer_name,
            to_account=locked.payer_account,
            approved_by=staff,
            approved_at=timezone.now(),
            entry=entry,
        )
        customer = locked.customer
        contact_event_record(
            email=customer.email,
            customer=customer,
            kind=ContactEvent.Kind.NOTICE,
            direction=ContactEvent.Direction.OUTBOUND,
            subject=contact_text(
                gettext_noop("Refund approved: %(amount)s to account %(account)s"),
                customer=customer,
                amount=money_format(amount, locked.currency),
                account=locked.payer_account,
            ),
            staff=staff,
            source=refund,
        )
        audit_event_record(
            action="refund.approved", actor=staff, obj=refund, subject_id=customer.pk
        )
    return refund


def refund_mark_paid(*, refund: Refund, staff: User) -> None:
    with transaction.atomic():
        locked = (
            Refund.objects.select_for_update()
            .select_related("deposit__transaction")
            .get(pk=refund.pk)
        )
        if locked.status != Refund.Status.APPROVED:
            raise PaymentRefused(_("This refund is already paid."))
        payable = ledger_account(AccountKind.REFUNDS_PAYABLE, locked.currency)
        bank = ledger_account(
            AccountKind.BANK, locked.currency, bank_account=locked.deposit.transaction.bank_account
        )
        locked.paid_entry = entry_post(
            kind=JournalEntry.Kind.REFUND_PAID,
            memo=f"Refund {locked.pk} paid to {locked.to_account}",
            postings=[Posting(payable, locked.amount), Posting(bank, -locked.amount)],
            actor=staff,
        )
        locked.status = Refund.Status.PAID
        locked.save(update_fields=["status", "paid_entry"])
        audit_event_record(
            action="refund.paid", actor=staff, obj=locked, subject_id=locked.deposit.customer_id
        )


# --- Reservations -------------------------------------------------------------------------------


def reservations_release(*, today: date | None = None) -> int:
    """Proformas past their due date with nothing paid: vehicles back on sale, customer told.
    A proforma with any approved payment stays; accounting and sales settle it by hand."""
    day = today or timezone.localdate()
    due = Proforma.objects.filter(
        status__in=(Proforma.Status.ISSUED, Proforma.Status.ACCEPTED), due_date__lt=day
    )
    paid_orders = Allocation.objects.filter(status=Allocation.Status.APPROVED).values("order_id")
    unpaid = due.exclude(Q(order__in=paid_orders) | Q(order__status=Order.Status.PAID))
    released = 0
    for proforma in unpaid:
        if proforma_release(proforma=proforma, actor=None).status == Proforma.Status.EXPIRED:
            released += 1
    return released

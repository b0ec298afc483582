"""Money in: declarations, bank statements, deposits, allocations, refunds, and the ledger.

The ledger is the truth (DESIGN.md §5): every movement is an immutable journal entry whose lines
balance per currency; balances are sums of lines. Deposits, allocations and refunds are the
business records that say why an entry was posted, and each points at its entry.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from exportdesk.core.models import AppendOnlyModel
from exportdesk.sales.models import BankAccount, Order


class PaymentSettings(models.Model):
    """Accounting's matching knobs; one row."""

    # Automatic confirmation is off until accounting has watched the suggestions and trusts them.
    auto_confirm = models.BooleanField(default=False)
    auto_confirm_threshold = models.PositiveSmallIntegerField(
        default=90, help_text="Score (0-100) a match needs to be confirmed without a person"
    )
    auto_confirm_margin = models.PositiveSmallIntegerField(
        default=15, help_text="How far ahead of the next candidate the best one must be"
    )
    # Intermediary banks take their fee from the transfer; a credit short by at most this much
    # (fraction of the expected amount, and an absolute cap in JPY-equivalent) still pays in full,
    # and the shortfall is booked as a bank charge.
    fee_tolerance_ratio = models.DecimalField(
        max_digits=5, decimal_places=4, default=Decimal("0.01")
    )
    fee_tolerance_max_jpy = models.PositiveIntegerField(default=10000)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "Payment settings"

    @classmethod
    def current(cls) -> PaymentSettings:
        row, _ = cls.objects.get_or_create(pk=1)
        return row


# --- The ledger ---------------------------------------------------------------------------------


class AccountKind(models.TextChoices):
    BANK = "bank", _("Bank")
    CUSTOMER_DEPOSIT = "deposit", _("Customer deposits")
    RECEIVABLE = "receivable", _("Receivable")
    SALES = "sales", pgettext_lazy("ledger account", "Sales")
    BANK_CHARGES = "bank_charges", _("Bank charges")
    FX_DIFFERENCE = "fx", _("FX difference")
    REFUNDS_PAYABLE = "refunds", _("Refunds payable")
    SUSPENSE = "suspense", _("Unidentified receipts")
    BID_HOLD = "bid_hold", _("Deposits held for auction bids")


class LedgerAccount(models.Model):
    """One account of the chart, in one currency; per bank account, customer or order where the
    kind needs it. `key` makes each one unique without nullable unique columns."""

    key = models.CharField(max_length=80, unique=True)
    kind = models.CharField(max_length=12, choices=AccountKind.choices)
    currency = models.CharField(max_length=3)
    bank_account = models.ForeignKey(
        BankAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class JournalEntry(AppendOnlyModel):
    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("Payment received")
        ORDER = "order", _("Order booked")
        ALLOCATION = "allocation", _("Allocation")
        REFUND = "refund", _("Refund")
        REFUND_PAID = "refund_paid", _("Refund paid")
        REVERSAL = "reversal", _("Reversal")
        HOLD = "hold", _("Held for a bid")

    kind = models.CharField(max_length=12, choices=Kind.choices)
    memo = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A correction is a new entry that reverses an old one line for line; never an edit.
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    # For an order's booking entry: at most one per order (the database says so).
    booked_order = models.OneToOneField(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Conversion rate for entries that cross currencies: units of the target per unit of source.
    fx_rate = models.DecimalField(max_digits=18, decimal_places=8, null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "journal entries"

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind}: {self.memo}"


class JournalLine(AppendOnlyModel):
    """Debits positive, credits negative, in the account's currency."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="lines")
    amount = models.DecimalField(max_digits=16, decimal_places=3)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.account.key} {self.amount}"


# --- Bank statements ----------------------------------------------------------------------------


class StatementMapping(models.Model):
    """How to read one bank's CSV export (a saved `statements.CsvMapping`)."""

    bank_account = models.OneToOneField(
        BankAccount, on_delete=models.CASCADE, related_name="csv_mapping"
    )
    mapping = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"CSV mapping for {self.bank_account.code}"


class StatementImport(models.Model):
    bank_account = models.ForeignKey(
        BankAccount, on_delete=models.PROTECT, related_name="statement_imports"
    )
    file_name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    file_format = models.CharField(max_length=10)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    imported_at = models.DateTimeField()
    summary = models.JSONField(default=dict)

    class Meta:
        ordering = ["-imported_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.imported_at:%Y-%m-%d})"


class BankStatement(models.Model):
    statement_import = models.ForeignKey(
        StatementImport, on_delete=models.PROTECT, related_name="statements"
    )
    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="+")
    account_identification = models.CharField(max_length=60)
    reference = models.CharField(max_length=60, blank=True)
    sequence = models.CharField(max_length=30, blank=True)
    currency = models.CharField(max_length=3)
    opening_date = models.DateField()
    opening_balance = models.DecimalField(max_digits=16, decimal_places=3)
    closing_date = models.DateField()
    closing_balance = models.DecimalField(max_digits=16, decimal_places=3)
    entry_count = models.PositiveIntegerField()
    difference = models.DecimalField(max_digits=16, decimal_places=3)
    # Accepted although opening + entries != closing: accounting must look at it again.
    needs_review = models.BooleanField(default=False)
    # Hash of the statement's content: the same statement imported twice is recognised.
    fingerprint = models.CharField(max_length=64)

    class Meta:
        ordering = ["-closing_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["bank_account", "fingerprint"], name="statement_once_per_account"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_identification} {self.opening_date}..{self.closing_date}"

    @property
    def balanced(self) -> bool:
        return self.difference == 0


class BankTransaction(models.Model):
    """One entry of a bank statement. Credits are candidate customer payments."""

    class Status(models.TextChoices):
        UNMATCHED = "unmatched", _("Waiting for accounting")
        CONFIRMED = "confirmed", _("Confirmed as a customer payment")
        IGNORED = "ignored", _("Not a customer payment")
        REFUND = "refund", _("Refund paid out")

    statement = models.ForeignKey(
        BankStatement, on_delete=models.PROTECT, related_name="transactions"
    )
    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="+")
    booking_date = models.DateField(db_index=True)
    value_date = models.DateField(null=True, blank=True)
    amount = models.DecimalField(
        max_digits=16, decimal_places=3, help_text="Credits positive, debits negative"
    )
    currency = models.CharField(max_length=3)
    bank_reference = models.CharField(max_length=100, blank=True)
    customer_reference = models.CharField(max_length=100, blank=True)
    remittance = models.TextField(blank=True)
    counterparty_name = models.CharField(max_length=200, blank=True)
    counterparty_account = models.CharField(max_length=60, blank=True)
    transaction_code = models.CharField(max_length=40, blank=True)
    # The entry's content plus its occurrence number: overlapping statements add nothing twice.
    fingerprint = models.CharField(max_length=64)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.UNMATCHED, db_index=True
    )
    ignored_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-booking_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["bank_account", "fingerprint"], name="bank_entry_once_per_account"
            )
        ]

    def __str__(self) -> str:
        return f"{self.booking_date} {self.currency} {self.amount}"

    @property
    def is_credit(self) -> bool:
        return self.amount > 0


class MatchSuggestion(models.Model):
    """A ranked candidate for an unmatched credit, with the reasons for its score."""

    transaction = models.ForeignKey(
        BankTransaction, on_delete=models.CASCADE, related_name="suggestions"
    )
    rank = models.PositiveSmallIntegerField()
    score = models.PositiveSmallIntegerField()
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    declaration = models.ForeignKey(
        "PaymentDeclaration", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    reasons = models.JSONField(default=list)
    third_party = models.BooleanField(default=False)

    class Meta:
        ordering = ["transaction", "rank"]

    def __str__(self) -> str:
        return f"{self.transaction_id} #{self.rank} ({self.score})"


# --- Declarations, deposits, allocations, refunds -----------------------------------------------


def slip_path(instance: PaymentDeclaration, filename: str) -> str:
    # The customer's file name never reaches storage: it can hold personal data or path tricks.
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
    return f"slips/{instance.public_id}.{extension.get(instance.slip_content_type, 'bin')}"


class PaymentDeclaration(models.Model):
    """The customer's "I have paid": what they sent, from where, for which orders."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending: waiting for our bank")
        CONFIRMED = "confirmed", _("Confirmed")
        WITHDRAWN = "withdrawn", pgettext_lazy("declaration", "Withdrawn")
        EXPIRED = "expired", _("Removed: not received by our bank in time")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payment_declarations"
    )
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=3)
    currency = models.CharField(_("currency"), max_length=3)
    paid_on = models.DateField(_("date of the transfer"))
    payer_name = models.CharField(_("payer name"), max_length=150)
    payer_bank = models.CharField(_("payer's bank"), max_length=150)
    reference = models.CharField(_("reference on the transfer"), max_length=140, blank=True)
    slip = models.FileField(_("transfer slip"), upload_to=slip_path, blank=True)
    slip_content_type = models.CharField(max_length=40, blank=True)
    orders = models.ManyToManyField(Order, related_name="declarations", verbose_name=_("orders"))
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Declaration {self.pk}: {self.currency} {self.amount}"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING


class Deposit(models.Model):
    """Money confirmed as received from a customer: one bank credit, held on their account
    until allocated to orders or refunded."""

    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deposits"
    )
    transaction = models.ForeignKey(
        BankTransaction, on_delete=models.PROTECT, related_name="deposits"
    )
    declaration = models.ForeignKey(
        PaymentDeclaration,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deposits",
    )
    currency = models.CharField(max_length=3)
    received = models.DecimalField(
        max_digits=16, decimal_places=3, help_text="What reached our bank"
    )
    bank_charge = models.DecimalField(
        max_digits=16, decimal_places=3, default=0, help_text="Intermediary fees we absorb"
    )
    amount = models.DecimalField(
        max_digits=16, decimal_places=3, help_text="Credited to the customer"
    )
    payer_name = models.CharField(max_length=200, blank=True)
    payer_account = models.CharField(max_length=60, blank=True)
    # Paid by someone other than the customer: held until accounting has checked why.
    third_party = models.BooleanField(default=False)
    third_party_cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty when confirmed automatically",
    )
    confirmed_at = models.DateTimeField()
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="deposit")
    reversed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-confirmed_at", "-id"]
        # A reversed confirmation stays as history; only one live deposit per credit and
        # per declaration.
        constraints = [
            models.UniqueConstraint(
                fields=["transaction"],
                condition=models.Q(reversed_at__isnull=True),
                name="one_live_deposit_per_credit",
            ),
            models.UniqueConstraint(
                fields=["declaration"],
                condition=models.Q(reversed_at__isnull=True),
                name="one_live_deposit_per_declaration",
            ),
        ]

    def __str__(self) -> str:
        return f"Deposit {self.pk}: {self.currency} {self.amount}"

    @property
    def held_for_review(self) -> bool:
        return self.third_party and self.third_party_cleared_by_id is None


class Allocation(models.Model):
    """A request to use deposit money for an order; moves money only once approved."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")
        REVERSED = "reversed", _("Reversed")

    deposit = models.ForeignKey(Deposit, on_delete=models.PROTECT, related_name="allocations")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(
        max_digits=16, decimal_places=3, help_text="Taken from the deposit, in its currency"
    )
    order_amount = models.DecimalField(
        max_digits=16, decimal_places=3, help_text="Paid on the order, in its currency"
    )
    fx_rate = models.DecimalField(
        max_digits=18, decimal_places=8, default=1, help_text="Order currency per deposit unit"
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    entry = models.OneToOneField(
        JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="allocation"
    )
    replaces = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The allocation this one moved money from (reallocation)",
    )

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"Allocation {self.pk}: {self.amount} to {self.order_id} ({self.status})"


class Refund(models.Model):
    """Unallocated deposit money going back, only ever to the account it came from."""

    class Status(models.TextChoices):
        APPROVED = "approved", _("Approved, to be paid")
        PAID = "paid", _("Paid")

    deposit = models.ForeignKey(Deposit, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(max_digits=16, decimal_places=3)
    currency = models.CharField(max_length=3)
    to_name = models.CharField(max_length=200)
    to_account = models.CharField(max_length=60)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.APPROVED)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField()
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="refund")
    paid_entry = models.OneToOneField(
        JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="refund_paid"
    )

    class Meta:
        ordering = ["-approved_at", "-id"]

    def __str__(self) -> str:
        return f"Refund {self.pk}: {self.currency} {self.amount}"


class DepositHold(models.Model):
    """Part of a deposit set aside while something depends on it (an auction bid request).

    Holding moves the amount from the customer's deposit account to their held-for-bids account
    in the ledger, so it can be neither allocated nor refunded; releasing reverses that entry;
    converting releases it and asks for an allocation to the order the bid became.
    """

    class Status(models.TextChoices):
        HELD = "held", _("Held")
        RELEASED = "released", _("Released")
        CONVERTED = "converted", _("Used for the order")

    deposit = models.ForeignKey(Deposit, on_delete=models.PROTECT, related_name="holds")
    amount = models.DecimalField(max_digits=16, decimal_places=3)
    currency = models.CharField(max_length=3)
    purpose = models.CharField(max_length=200)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.HELD, db_index=True
    )
    created_at = models.DateTimeField()
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="hold")
    released_at = models.DateTimeField(null=True, blank=True)
    release_entry = models.OneToOneField(
        JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="hold_release"
    )
    allocation = models.OneToOneField(
        Allocation, null=True, blank=True, on_delete=models.PROTECT, related_name="from_hold"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Hold of {self.amount} {self.currency} on deposit {self.deposit_id}"

"""Inquiries; the exporter's bank accounts; proformas, the orders they become, and invoices."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from exportdesk.stock.models import Port, Vehicle


class Inquiry(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        ANSWERED = "answered", _("Answered")
        CLOSED = "closed", _("Closed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inquiries",
    )
    vehicle = models.ForeignKey(
        Vehicle, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(_("name"), max_length=150)
    email = models.EmailField(_("e-mail address"), db_index=True)
    country = CountryField(_("country"))
    port = models.ForeignKey(
        Port, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.TextField(_("message"), max_length=4000)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.NEW, db_index=True
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    # The language the visitor wrote in: our answer and its history entry use it (a member's
    # account has its own, which wins).
    language = models.CharField(max_length=10, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "inquiries"

    def __str__(self) -> str:
        return f"Inquiry {self.pk} from {self.email}"


class InquiryReply(models.Model):
    inquiry = models.ForeignKey(Inquiry, on_delete=models.CASCADE, related_name="replies")
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(max_length=8000)
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["sent_at", "id"]

    def __str__(self) -> str:
        return f"Reply to inquiry {self.inquiry_id}"


# --- The exporter's bank accounts ---------------------------------------------------------------


class BankAccount(models.Model):
    """One of the exporter's own accounts: printed on proformas, and where statements import.

    Its details change only through an approved `BankAccountChange` (four-eyes), because a
    swapped account number on an invoice is how fraudsters divert a customer's payment.
    """

    code = models.SlugField(
        _("code"), max_length=40, unique=True, help_text="Short name used by import_statement"
    )
    bank_name = models.CharField(_("bank"), max_length=120)
    branch_name = models.CharField(_("branch"), max_length=120, blank=True)
    bank_address = models.CharField(_("bank address"), max_length=250, blank=True)
    swift_bic = models.CharField(_("SWIFT/BIC"), max_length=11)
    account_number = models.CharField(_("account number"), max_length=40)
    iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    account_holder = models.CharField(_("account holder"), max_length=150)
    currency = models.CharField(_("currency"), max_length=3)
    # What bank statements name the account by (MT940 :25:, camt Acct/Id); an import for this
    # account refuses a file about another one.
    statement_identification = models.CharField(max_length=60, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.bank_name} {self.account_number} ({self.currency})"

    def details(self) -> dict[str, str]:
        """What a customer needs to pay into this account, as printed on a proforma."""
        return {name: str(getattr(self, name)) for name in BANK_DETAIL_FIELDS}


BANK_DETAIL_FIELDS = (
    "bank_name",
    "branch_name",
    "bank_address",
    "swift_bic",
    "account_number",
    "iban",
    "account_holder",
    "currency",
)


class BankAccountChange(models.Model):
    """A proposed new account or change of details; applied only when a second accountant
    (not the proposer) approves it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for a second approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    bank_account = models.ForeignKey(
        BankAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="changes"
    )
    code = models.SlugField(max_length=40)
    proposed = models.JSONField(help_text="The new values of the bank details and is_active")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-proposed_at", "-id"]

    def __str__(self) -> str:
        return f"Change of bank account {self.code} ({self.status})"


# --- Document numbers ---------------------------------------------------------------------------


class DocumentSequence(models.Model):
    """The last number used per document kind and fiscal year.

    Incremented under a row lock in the same transaction that creates the document, so a
    rolled-back document gives its number back and numbers stay gapless; documents are never
    deleted (they are cancelled), so a number is never reused.
    """

    kind = models.CharField(max_length=10)
    fiscal_year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "fiscal_year"], name="one_sequence_per_year")
        ]

    def __str__(self) -> str:
        return f"{self.kind} FY{self.fiscal_year}: {self.last_number}"


# --- Proformas, orders, invoices ----------------------------------------------------------------


class Incoterm(models.TextChoices):
    FOB = "FOB", _("FOB (free on board, Japanese port)")
    CNF = "CNF", _("C&F (cost and freight to your port)")
    CIF = "CIF", _("CIF (cost, insurance and freight to your port)")


class Proforma(models.Model):
    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued, awaiting your acceptance")
        ACCEPTED = "accepted", _("Accepted")
        EXPIRED = "expired", _("Expired unpaid")
        CANCELLED = "cancelled", _("Cancelled")

    number = models.CharField(_("number"), max_length=20, unique=True)
    fiscal_year = models.PositiveSmallIntegerField()
    verification_code = models.CharField(max_length=16, unique=True)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="proformas"
    )
    incoterm = models.CharField(_("incoterm"), max_length=3, choices=Incoterm.choices)
    destination_country = CountryField(_("destination country"))
    port = models.ForeignKey(
        Port,
        verbose_name=_("port of discharge"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    currency = models.CharField(_("currency"), max_length=3)
    # Yen per unit of `currency` used to price the lines (1 for JPY), and the day of that rate.
    jpy_rate = models.DecimalField(max_digits=14, decimal_places=6, default=1)
    rate_date = models.DateField(null=True, blank=True)
    total = models.DecimalField(_("total"), max_digits=16, decimal_places=3)
    due_date = models.DateField(_("due date"))
    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="+")
    # The bank details exactly as printed, so the document never changes after issue.
    bank_details = models.JSONField()
    notes = models.TextField(_("notes"), blank=True, max_length=2000)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.ISSUED, db_index=True
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        indexes = [models.Index(fields=["status", "due_date"])]

    def __str__(self) -> str:
        return f"Proforma {self.number}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.ISSUED


class LineKind(models.TextChoices):
    VEHICLE = "vehicle", _("Vehicle")
    FREIGHT = "freight", _("Freight")
    INSURANCE = "insurance", _("Marine insurance")
    INSPECTION = "inspection", _("Pre-shipment inspection")
    OTHER = "other", _("Other charges")


class ProformaLine(models.Model):
    proforma = models.ForeignKey(Proforma, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=12, choices=LineKind.choices)
    vehicle = models.ForeignKey(
        Vehicle, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    description = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=16, decimal_places=3)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.proforma.number} line {self.position}"


class Order(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Awaiting payment")
        PAID = "paid", _("Paid")
        CANCELLED = "cancelled", _("Cancelled")

    number = models.CharField(_("order number"), max_length=20, unique=True)
    proforma = models.OneToOneField(Proforma, on_delete=models.PROTECT, related_name="order")
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    currency = models.CharField(max_length=3)
    total = models.DecimalField(max_digits=16, decimal_places=3)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    created_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Order {self.number}"

    def mark_paid(self, at: datetime) -> None:
        if self.status != self.Status.OPEN:
            raise ValueError(f"Order {self.number} is {self.status}, not open")
        self.status, self.paid_at = self.Status.PAID, at

    def reopen(self) -> None:
        """A reversed payment puts a paid order back to awaiting payment."""
        if self.status != self.Status.PAID:
            raise ValueError(f"Order {self.number} is {self.status}, not paid")
        self.status, self.paid_at = self.Status.OPEN, None


class Invoice(models.Model):
    """The commercial invoice, issued when an order is paid in full."""

    number = models.CharField(_("invoice number"), max_length=20, unique=True)
    fiscal_year = models.PositiveSmallIntegerField()
    verification_code = models.CharField(max_length=16, unique=True)
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="invoice")
    currency = models.CharField(max_length=3)
    total = models.DecimalField(max_digits=16, decimal_places=3)
    bank_details = models.JSONField()
    issued_at = models.DateTimeField()

    class Meta:
        ordering = ["-issued_at", "-id"]

    def __str__(self) -> str:
        return f"Invoice {self.number}"

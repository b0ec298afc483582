"""Reads of sales shared by views and other apps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils import timezone

from exportdesk.sales.models import BankAccount, Invoice, Proforma


@dataclass(frozen=True)
class VerificationResult:
    """What the public verification page may show: the document's money facts and our genuine
    bank account, never the customer's name, address or vehicles."""

    kind: str  # "proforma" or "invoice"
    number: str
    currency: str
    total: Decimal
    due_date: date | None
    issued_on: date
    status: str
    bank_details: dict[str, str]
    account_still_in_use: bool


def verification_result(document: Proforma | Invoice) -> VerificationResult:
    if isinstance(document, Proforma):
        account_id, kind, due = document.bank_account_id, "proforma", document.due_date
        status = document.get_status_display()
    else:
        account_id, kind, due = document.order.proforma.bank_account_id, "invoice", None
        status = document.order.get_status_display()
    account = BankAccount.objects.filter(pk=account_id).first()
    return VerificationResult(
        kind=kind,
        number=document.number,
        currency=document.currency,
        total=document.total,
        due_date=due,
        issued_on=timezone.localtime(document.issued_at).date(),
        status=str(status),
        bank_details=document.bank_details,
        account_still_in_use=bool(account and account.is_active),
    )

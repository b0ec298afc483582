"""Document numbers (gapless per fiscal year) and verification codes for proformas and invoices."""

from __future__ import annotations

import secrets
from datetime import date

from django.conf import settings
from django.db import transaction

from exportdesk.sales.models import DocumentSequence

PREFIXES = {"proforma": "PF", "order": "ORD", "invoice": "INV"}

# No 0/O, 1/I/L, 8/B, 5/S, 2/Z: a code read aloud or typed from paper cannot be confused.
_CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"


def fiscal_year_of(day: date) -> int:
    """The fiscal year a day belongs to, named by the calendar year it starts in (Japanese
    companies usually start theirs in April: FY2026 runs 2026-04-01 to 2027-03-31)."""
    start_month = settings.FISCAL_YEAR_START_MONTH
    return day.year if day.month >= start_month else day.year - 1


def document_number_next(*, kind: str, day: date) -> tuple[str, int]:
    """The next number for a kind of document, e.g. ("PF-2026-00042", 2026).

    Must run inside the transaction that creates the document: the sequence row stays locked
    until it commits, and a rollback returns the number.
    """
    assert transaction.get_connection().in_atomic_block, "call inside the document's transaction"
    year = fiscal_year_of(day)
    DocumentSequence.objects.get_or_create(kind=kind, fiscal_year=year)
    sequence = DocumentSequence.objects.select_for_update().get(kind=kind, fiscal_year=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return f"{PREFIXES[kind]}-{year}-{sequence.last_number:05d}", year


def verification_code_new() -> str:
    """12 random characters shown as XXXX-XXXX-XXXX: about 55 bits, not guessable."""
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def verification_code_normalise(typed: str) -> str:
    """What someone typed or scanned, in the stored form (case, spaces and dashes forgiven)."""
    raw = "".join(ch for ch in typed.upper() if ch.isalnum())
    if len(raw) != 12:
        return ""
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"

"""Proformas and invoices as documents: one template for the web page and the PDF.

The PDF is WeasyPrint's rendering of `sales/document.html`, the same template the pages include,
so what a customer sees on screen and on paper cannot differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe

from exportdesk.core.qr import qr_svg
from exportdesk.sales.models import Invoice, Proforma, ProformaLine


@dataclass(frozen=True)
class Document:
    """What the document template needs, for a proforma or an invoice alike."""

    kind: str  # "proforma" or "invoice"
    title: str
    number: str
    verification_code: str
    issued_on: date
    due_date: date | None
    proforma: Proforma
    lines: list[ProformaLine]
    currency: str
    total: Decimal
    bank_details: dict[str, str]
    order_number: str = ""

    @property
    def verify_url(self) -> str:
        return settings.SITE_URL + reverse("sales:verify_code", args=[self.verification_code])

    @property
    def qr(self) -> SafeString:
        # Our own SVG from the qrcode library, holding only our verification address.
        return mark_safe(qr_svg(self.verify_url, box_size=4))


def proforma_document(proforma: Proforma) -> Document:
    return Document(
        kind="proforma",
        title="Proforma invoice",
        number=proforma.number,
        verification_code=proforma.verification_code,
        issued_on=timezone.localtime(proforma.issued_at).date(),
        due_date=proforma.due_date,
        proforma=proforma,
        lines=list(proforma.lines.select_related("vehicle")),
        currency=proforma.currency,
        total=proforma.total,
        bank_details=proforma.bank_details,
    )


def invoice_document(invoice: Invoice) -> Document:
    proforma = invoice.order.proforma
    return Document(
        kind="invoice",
        title="Commercial invoice",
        number=invoice.number,
        verification_code=invoice.verification_code,
        issued_on=timezone.localtime(invoice.issued_at).date(),
        due_date=None,
        proforma=proforma,
        lines=list(proforma.lines.select_related("vehicle")),
        currency=invoice.currency,
        total=invoice.total,
        bank_details=invoice.bank_details,
        order_number=invoice.order.number,
    )


def document_pdf(document: Document, *, language: str) -> bytes:
    from weasyprint import HTML  # imported late: it loads Pango, which only PDFs need

    with translation.override(language or settings.LANGUAGE_CODE):
        html = render_to_string(
            "sales/document_pdf.html", {"doc": document, "site_name": settings.SITE_NAME}
        )
    pdf: bytes = HTML(string=html, base_url=settings.SITE_URL).write_pdf()
    return pdf


def document_context(document: Document) -> dict[str, Any]:
    return {"doc": document, "site_name": settings.SITE_NAME}

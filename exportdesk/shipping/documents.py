"""Export documents: logistics upload them per order, release rules say when the customer may
download each kind, and every download is logged.

Services (every write, atomic and audited) and the selectors the customer pages, the back
office and the `shipping_documents` template tags share. The files live in private storage under
random names; they leave only through `document_views`, after these checks.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from exportdesk.accounts.models import User
from exportdesk.core.audit import audit_event_record
from exportdesk.core.uploads import EXTENSIONS, UploadProblem, UploadRejected, upload_content_type
from exportdesk.payments.selectors import order_balances
from exportdesk.sales.models import Order
from exportdesk.shipping.models import DocumentDownload, DocumentKind, DocumentRule, ExportDocument


class DocumentRefused(Exception):
    """An upload, replacement or deletion that must not happen; the message is shown as is."""


# --- The file itself ---------------------------------------------------------------------------


_DOCUMENT_PROBLEMS = {
    UploadProblem.TOO_LARGE: gettext_lazy("The file is too large: the limit is %(mb)s MB."),
    UploadProblem.NOT_ACCEPTED: gettext_lazy("The document must be a PDF, JPEG or PNG file."),
    UploadProblem.DAMAGED_PDF: gettext_lazy("The PDF is incomplete or damaged."),
    UploadProblem.DAMAGED_IMAGE: gettext_lazy("The image is damaged or not really an image."),
}


def document_file_check(upload: UploadedFile) -> str:
    """The file's real type from its content (never its name): PDF, JPEG or PNG up to
    EXPORT_DOCUMENT_MAX_BYTES. An executable renamed .pdf, or a broken file, is refused."""
    limit = settings.EXPORT_DOCUMENT_MAX_BYTES
    try:
        return upload_content_type(upload, max_bytes=limit)
    except UploadRejected as rejected:
        raise DocumentRefused(rejected.told_with(_DOCUMENT_PROBLEMS, limit)) from rejected


def _stored_name(content_type: str) -> str:
    # Nothing of the uploaded name reaches storage: it can hold personal data or path tricks.
    return f"{uuid.uuid4().hex}.{EXTENSIONS[content_type]}"


def document_filename(document: ExportDocument) -> str:
    """What the customer's browser saves it as: order number, kind and type, nothing else."""
    number = re.sub(r"[^A-Za-z0-9-]+", "-", document.order.number).strip("-") or "order"
    kind = document.kind.replace("_", "-")
    return f"{number}-{kind}.{EXTENSIONS.get(document.content_type, 'bin')}"


# --- Release rules -----------------------------------------------------------------------------

# Originals that hand over the car: the export certificate (deregistration) and the B/L.
RELEASED_AFTER_FULL_PAYMENT = frozenset(
    {DocumentKind.EXPORT_CERTIFICATE.value, DocumentKind.BILL_OF_LADING.value}
)


def document_rules() -> dict[str, bool]:
    """Each kind → "only after the order is fully paid". Missing rules are created with the
    defaults on first use (also after a test flush); concurrent first uses create each once."""
    rules = dict(DocumentRule.objects.values_list("kind", "after_full_payment"))
    missing = [kind for kind in DocumentKind.values if kind not in rules]
    if missing:
        DocumentRule.objects.bulk_create(
            [
                DocumentRule(kind=kind, after_full_payment=kind in RELEASED_AFTER_FULL_PAYMENT)
                for kind in missing
            ],
            ignore_conflicts=True,
        )
        rules = dict(DocumentRule.objects.values_list("kind", "after_full_payment"))
    return rules


def document_rules_set(*, rules: Mapping[str, bool], actor: User) -> list[str]:
    """Change the release rules; returns the kinds that changed (each one audited)."""
    changed: list[str] = []
    with transaction.atomic():
        document_rules()
        for rule in DocumentRule.objects.select_for_update().filter(kind__in=list(rules)):
            wanted = bool(rules[rule.kind])
            if rule.after_full_payment == wanted:
                continue
            rule.after_full_payment = wanted
            rule.save(update_fields=["after_full_payment"])
            audit_event_record(
                action="document_rule.changed",
                actor=actor,
                obj=rule,
                details={"kind": rule.kind, "after_full_payment": wanted},
            )
            changed.append(rule.kind)
    return changed


# --- Upload, replace, delete -------------------------------------------------------------------


def _kind_check(kind: str) -> None:
    if kind not in DocumentKind.values:
        raise DocumentRefused(_("Choose what kind of document this is."))


def document_upload(
    *, order: Order, kind: str, title: str, upload: UploadedFile, actor: User
) -> ExportDocument:
    """Store a document of an order privately; the customer sees it at once (or locked until
    paid, as the rule for its kind says)."""
    _kind_check(kind)
    content_type = document_file_check(upload)
    if order.status == Order.Status.CANCELLED:
        raise DocumentRefused(_("Order %(number)s is cancelled.") % {"number": order.number})
    document = ExportDocument(
        order=order,
        kind=kind,
        title=title.strip()[:120],
        content_type=content_type,
        size=upload.size or 0,
        uploaded_by=actor,
        uploaded_at=timezone.now(),
    )
    document.file.save(_stored_name(content_type), upload, save=False)
    stored = document.file.name or ""
    try:
        with transaction.atomic():
            document.save()
            audit_event_record(
                action="export_document.uploaded",
                actor=actor,
                obj=document,
                subject_id=order.customer_id,
                details=_audit_details(document),
            )
    except BaseException:
        # Nothing was recorded, so nothing may stay stored.
        document.file.storage.delete(stored)
        raise
    return document


def document_replace(
    *, document: ExportDocument, upload: UploadedFile, title: str | None, actor: User
) -> ExportDocument:
    """A corrected file for the same document: same link for the customer, download log kept.
    The old file leaves storage once the change is committed."""
    content_type = document_file_check(upload)
    with transaction.atomic():
        locked = (
            ExportDocument.objects.select_for_update().select_related("order").get(pk=document.pk)
        )
        old = locked.file.name or ""
        locked.file.save(_stored_name(content_type), upload, save=False)
        new = locked.file.name or ""
        storage = locked.file.storage
        if old:
            transaction.on_commit(lambda: storage.delete(old))
        locked.content_type, locked.size = content_type, upload.size or 0
        locked.uploaded_by, locked.uploaded_at = actor, timezone.now()
        if title is not None:
            locked.title = title.strip()[:120]
        try:
            locked.save()
            audit_event_record(
                action="export_document.replaced",
                actor=actor,
                obj=locked,
                subject_id=locked.order.customer_id,
                details=_audit_details(locked),
            )
        except BaseException:
            storage.delete(new)
            raise
    return locked


def document_delete(*, document: ExportDocument, actor: User) -> None:
    """Remove a document uploaded by mistake. Once the customer has downloaded it, it is part of
    what they were given: replace it with a corrected file instead."""
    with transaction.atomic():
        locked = (
            ExportDocument.objects.select_for_update().select_related("order").get(pk=document.pk)
        )
        if locked.downloads.filter(user_id=locked.order.customer_id).exists():
            raise DocumentRefused(
                _(
                    "The customer has already downloaded this document: upload a corrected file "
                    "with Replace instead of deleting it."
                )
            )
        details = _audit_details(locked)
        # Staff downloads (checks before release) go with it; the audit log still has them.
        details["staff_downloads"] = locked.downloads.all().delete()[0]
        audit_event_record(
            action="export_document.deleted",
            actor=actor,
            obj=locked,
            subject_id=locked.order.customer_id,
            details=details,
        )
        name, storage = locked.file.name or "", locked.file.storage
        locked.delete()
        if name:
            transaction.on_commit(lambda: storage.delete(name))


def _audit_details(document: ExportDocument) -> dict[str, object]:
    return {
        "order": document.order.number,
        "kind": document.kind,
        "title": document.title,
        "content_type": document.content_type,
        "size": document.size,
    }


# --- Downloads ---------------------------------------------------------------------------------


def document_download_record(
    *, document: ExportDocument, user: User, ip_address: str | None
) -> DocumentDownload:
    """Every download, by the customer or by staff, is logged and audited before the file goes."""
    with transaction.atomic():
        download = DocumentDownload.objects.create(
            document=document, user=user, downloaded_at=timezone.now(), ip_address=ip_address
        )
        audit_event_record(
            action="export_document.downloaded",
            actor=user,
            obj=document,
            subject_id=document.order.customer_id,
            ip_address=ip_address,
            details={
                "order": document.order.number,
                "kind": document.kind,
                "by_staff": user.is_staff,
            },
        )
    return download


# --- Selectors ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentView:
    """A document as its customer sees it: downloadable now, or locked until full payment."""

    document: ExportDocument
    locked: bool


def document_locked(document: ExportDocument, rules: Mapping[str, bool] | None = None) -> bool:
    """Fully paid means the order's status is paid (approved allocations cover it)."""
    after_payment = (rules if rules is not None else document_rules()).get(document.kind, True)
    return after_payment and document.order.status != Order.Status.PAID


def order_documents(order: Order, rules: Mapping[str, bool] | None = None) -> list[DocumentView]:
    """The order's documents, newest first within each kind. Uses prefetched documents when the
    caller prefetched `export_documents`."""
    rules = rules if rules is not None else document_rules()
    position = {kind: n for n, kind in enumerate(DocumentKind.values)}
    # Through the reverse manager, so documents prefetched by `orders_with_documents_of` cost
    # no query.
    related = order.export_documents.all()
    documents = sorted(related, key=lambda d: (position[d.kind], -d.pk))
    views = []
    for document in documents:
        document.order = order  # spares a query per document
        views.append(DocumentView(document, document_locked(document, rules)))
    return views


def documents_of(customer: User) -> QuerySet[ExportDocument]:
    """Every document the customer may ask for: those of their own orders, nobody else's."""
    return ExportDocument.objects.filter(order__customer=customer).select_related("order")


def orders_with_documents_of(customer: User) -> QuerySet[Order]:
    return (
        Order.objects.filter(customer=customer, export_documents__isnull=False)
        .distinct()
        .prefetch_related("export_documents")
        .order_by("-created_at", "-pk")
    )


def order_outstanding(order: Order) -> Decimal:
    """What is still owed on the order (its total less approved allocations)."""
    (balance,) = order_balances([order])
    return balance.outstanding


def order_documents_staff(order: Order) -> QuerySet[ExportDocument]:
    return (
        ExportDocument.objects.filter(order=order)
        .select_related("uploaded_by")
        .annotate(download_count=Count("downloads"))
        .order_by("kind", "-uploaded_at", "-pk")
    )


def order_downloads(order: Order) -> QuerySet[DocumentDownload]:
    return DocumentDownload.objects.filter(document__order=order).select_related("document", "user")


def orders_for_documents(query: str = "") -> QuerySet[Order]:
    """The logistics list: orders not cancelled, with how many documents each has, newest first;
    `query` matches the order number or the customer's e-mail address or name."""
    orders = (
        Order.objects.exclude(status=Order.Status.CANCELLED)
        .select_related("customer")
        .annotate(
            document_count=Count("export_documents"),
            last_upload=Max("export_documents__uploaded_at"),
        )
        .order_by("-created_at", "-pk")
    )
    if query:
        orders = orders.filter(
            Q(number__icontains=query)
            | Q(customer__email__icontains=query)
            | Q(customer__name__icontains=query)
        )
    return orders

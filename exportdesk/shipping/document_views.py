"""Export documents: the customer's downloads and the logistics desk (upload, replace, delete,
release rules, the download log). Thin: the checks and writes are in `documents.py`."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from exportdesk.accounts.models import User
from exportdesk.accounts.otp import staff_required
from exportdesk.core.audit import audit_event_record
from exportdesk.core.http import client_ip
from exportdesk.sales.models import Order
from exportdesk.shipping.documents import (
    DocumentRefused,
    document_delete,
    document_download_record,
    document_filename,
    document_locked,
    document_replace,
    document_rules,
    document_rules_set,
    document_upload,
    documents_of,
    order_documents_staff,
    order_downloads,
    order_outstanding,
    orders_for_documents,
    orders_with_documents_of,
)
from exportdesk.shipping.forms_documents import (
    DocumentReplaceForm,
    DocumentRulesForm,
    DocumentUploadForm,
)
from exportdesk.shipping.models import ExportDocument


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _file_response(request: HttpRequest, document: ExportDocument) -> FileResponse:
    """Log the download, then send the file as an attachment that is never cached or sniffed."""
    try:
        handle = document.file.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    document_download_record(document=document, user=_user(request), ip_address=client_ip(request))
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=document_filename(document),
        content_type=document.content_type,
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Customers ---------------------------------------------------------------------------------


@login_required
def my_documents(request: HttpRequest) -> HttpResponse:
    """Every order of the customer's that has documents, each with its list."""
    orders = orders_with_documents_of(_user(request))
    return render(
        request,
        "shipping/documents/my_documents.html",
        {"orders": orders, "document_rules": document_rules()},
    )


@login_required
def download(request: HttpRequest, public_id: UUID) -> HttpResponseBase:
    """Only the order's customer; anyone else (other customers, staff) gets the same 404 as for
    an id that does not exist. Locked originals get 403 with what is still owed."""
    document = get_object_or_404(documents_of(_user(request)), public_id=public_id)
    if document_locked(document):
        context = {
            "document": document,
            "order": document.order,
            "outstanding": order_outstanding(document.order),
        }
        return render(request, "shipping/documents/locked.html", context, status=403)
    return _file_response(request, document)


# --- Logistics ---------------------------------------------------------------------------------


@staff_required("shipping.view_exportdocument")
def order_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    page = Paginator(orders_for_documents(query), 50).get_page(request.GET.get("page"))
    return render(request, "shipping/documents/order_list.html", {"page": page, "query": query})


@dataclass(frozen=True)
class _Row:
    document: ExportDocument
    locked: bool
    replace_form: DocumentReplaceForm


def _replace_form(
    document: ExportDocument, request: HttpRequest | None = None
) -> DocumentReplaceForm:
    # One form per document on the page: the prefix keeps their fields and labels apart.
    prefix = f"replace-{document.pk}"
    if request is None:
        return DocumentReplaceForm(prefix=prefix)
    return DocumentReplaceForm(request.POST, request.FILES, prefix=prefix)


def _order_page(
    request: HttpRequest,
    order: Order,
    *,
    upload_form: DocumentUploadForm | None = None,
    replace_form: DocumentReplaceForm | None = None,
    replacing: ExportDocument | None = None,
) -> HttpResponse:
    rules = document_rules()
    rows = []
    for document in order_documents_staff(order):
        document.order = order
        form = replace_form if replacing and replacing.pk == document.pk else None
        rows.append(
            _Row(document, document_locked(document, rules), form or _replace_form(document))
        )
    invalid = bool((upload_form and upload_form.errors) or (replace_form and replace_form.errors))
    context = {
        "order": order,
        "rows": rows,
        "downloads": order_downloads(order)[:200],
        "upload_form": upload_form or DocumentUploadForm(),
    }
    return render(request, "shipping/documents/order.html", context, status=400 if invalid else 200)


def _order(number: str) -> Order:
    return get_object_or_404(Order.objects.select_related("customer"), number=number)


@staff_required("shipping.view_exportdocument")
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    order = _order(number)
    # The page shows the customer's downloads with their IP addresses: staff access is recorded.
    audit_event_record(
        action="export_documents.viewed",
        actor=request.user,
        obj=order,
        subject_id=order.customer_id,
        ip_address=client_ip(request),
    )
    return _order_page(request, order)


@staff_required("shipping.add_exportdocument")
@require_POST
def upload(request: HttpRequest, number: str) -> HttpResponse:
    order = _order(number)
    form = DocumentUploadForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            document = document_upload(
                order=order,
                kind=data["kind"],
                title=data["title"],
                upload=data["file"],
                actor=_user(request),
            )
        except DocumentRefused as refused:
            form.add_error("file", str(refused))
        else:
            messages.success(
                request,
                _("%(document)s uploaded.") % {"document": document.get_kind_display()},
            )
            return redirect("shipping_documents:order", number=order.number)
    return _order_page(request, order, upload_form=form)


def _document(public_id: UUID) -> ExportDocument:
    return get_object_or_404(
        ExportDocument.objects.select_related("order__customer"), public_id=public_id
    )


@staff_required("shipping.change_exportdocument")
@require_POST
def replace(request: HttpRequest, public_id: UUID) -> HttpResponse:
    document = _document(public_id)
    form = _replace_form(document, request)
    if form.is_valid():
        try:
            document_replace(
                document=document,
                upload=form.cleaned_data["file"],
                title=form.cleaned_data["title"] or None,
                actor=_user(request),
            )
        except DocumentRefused as refused:
            form.add_error("file", str(refused))
        else:
            messages.success(
                request,
                _("%(document)s replaced.") % {"document": document.get_kind_display()},
            )
            return redirect("shipping_documents:order", number=document.order.number)
    return _order_page(request, document.order, replace_form=form, replacing=document)


@staff_required("shipping.delete_exportdocument")
@require_POST
def delete(request: HttpRequest, public_id: UUID) -> HttpResponse:
    document = _document(public_id)
    try:
        document_delete(document=document, actor=_user(request))
    except DocumentRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(
            request, _("%(document)s deleted.") % {"document": document.get_kind_display()}
        )
    return redirect("shipping_documents:order", number=document.order.number)


# staff_required is typed for HttpResponse; the streamed FileResponse passes through it unchanged.
@staff_required("shipping.view_exportdocument")  # type: ignore[arg-type]
def staff_download(request: HttpRequest, public_id: UUID) -> HttpResponseBase:
    """Staff download whatever the release rule says (to check a file); logged like any other."""
    return _file_response(request, _document(public_id))


@staff_required("shipping.change_documentrule")
def rules(request: HttpRequest) -> HttpResponse:
    form = DocumentRulesForm(request.POST or None, rules=document_rules())
    if request.method == "POST" and form.is_valid():
        changed = document_rules_set(rules=form.rules(), actor=_user(request))
        if changed:
            messages.success(request, _("Release rules saved."))
        else:
            messages.info(request, _("Nothing changed."))
        return redirect("shipping_documents:rules")
    return render(request, "shipping/documents/rules.html", {"form": form})

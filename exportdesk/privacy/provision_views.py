"""Recipient registry, records of provision and receipt (staff), and the customer's own records."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django_countries import countries

from exportdesk.accounts.models import User
from exportdesk.accounts.otp import staff_required
from exportdesk.core.audit import audit_event_record
from exportdesk.core.http import client_ip
from exportdesk.core.personal_data import LEGAL_BASIS_LABELS, LegalBasis
from exportdesk.privacy.forms_provision import (
    ProvisionFilterForm,
    ProvisionForm,
    ReceiptFilterForm,
    ReceiptForm,
    RecipientForm,
)
from exportdesk.privacy.models import ProvisionRecord, Recipient
from exportdesk.privacy.provision import (
    DisclosureRestricted,
    customer_find,
    provisions_filtered,
    provisions_for_customer,
    receipts_filtered,
    receipts_for_customer,
    recipient_save,
    record_provision,
    record_receipt,
)

PAGE_SIZE = 50


def _signed_in(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Show a service's refusal next to the field it concerns, or above the form."""
    for field, problems in error.message_dict.items():
        form.add_error(field if field in form.fields else None, problems)


def _country(code: str) -> str:
    return str(countries.name(code)) or code


def _basis(code: str) -> str:
    try:
        return str(LEGAL_BASIS_LABELS[LegalBasis(code)])
    except ValueError:
        return code


# --- recipient registry -----------------------------------------------------------------------


@staff_required("privacy.view_recipient")
def recipient_list(request: HttpRequest) -> HttpResponse:
    recipients = Recipient.objects.order_by("-is_active", "name")
    page = Paginator(recipients, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(r, _country(r.country)) for r in page]
    return render(request, "privacy/provision/recipient_list.html", {"page": page, "rows": rows})


@staff_required("privacy.add_recipient")
def recipient_create(request: HttpRequest) -> HttpResponse:
    return _recipient_form(request, Recipient())


@staff_required("privacy.change_recipient")
def recipient_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _recipient_form(request, get_object_or_404(Recipient, pk=pk))


def _recipient_form(request: HttpRequest, recipient: Recipient) -> HttpResponse:
    is_new = recipient.pk is None
    form = RecipientForm(request.POST or None, instance=recipient)
    if request.method == "POST" and form.is_valid():
        try:
            saved = recipient_save(
                recipient=form.save(commit=False),
                actor=_signed_in(request),
                changed=form.changed_data,
            )
        except ValidationError as error:
            _service_errors(form, error)
        else:
            text = _("Recipient %(name)s added.") if is_new else _("Recipient %(name)s saved.")
            messages.success(request, text % {"name": saved.name})
            return redirect("provision:recipient_list")
    return render(
        request,
        "privacy/provision/recipient_form.html",
        {"form": form, "recipient": None if is_new else recipient},
        status=400 if form.errors else 200,
    )


# --- records of provision ---------------------------------------------------------------------


def _audit_lookup(request: HttpRequest, subject: str, action: str) -> None:
    """Staff looking up one person's records is itself recorded (DESIGN.md §4)."""
    found = customer_find(subject)
    audit_event_record(
        action=action,
        actor=request.user,
        subject_id=found.pk if found is not None else None,
        ip_address=client_ip(request),
        details={"by": "customer" if found is not None else "name or address"},
    )


@staff_required("privacy.view_provisionrecord")
def provision_list(request: HttpRequest) -> HttpResponse:
    filters = ProvisionFilterForm(request.GET or None)
    recipient_id, subject = None, ""
    if filters.is_valid():
        recipient = filters.cleaned_data["recipient"]
        recipient_id = recipient.pk if recipient is not None else None
        subject = filters.cleaned_data["subject"].strip()
    if subject:
        _audit_lookup(request, subject, "privacy.provision_records_searched")
    records = provisions_filtered(recipient_id=recipient_id, subject=subject)
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "privacy/provision/provision_list.html",
        {
            "filters": filters,
            "page": page,
            "rows": [(r, _basis(r.legal_basis)) for r in page],
            "query": _query_without_page(request),
        },
    )


@staff_required("privacy.add_provisionrecord")
def provision_create(request: HttpRequest) -> HttpResponse:
    form = ProvisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            record = record_provision(
                recipient=data["recipient"],
                data_items=data["data_items"],
                legal_basis=data["legal_basis"],
                subject_user=data["customer"],
                subject_name=data["subject_name"],
                subject_email=data["subject_email"],
                consent_reference=data["consent_reference"],
                purpose=data["purpose"],
                actor=_signed_in(request),
                provided_at=data["provided_at"],
                source=ProvisionRecord.Source.MANUAL,
            )
        except ValidationError as error:
            _service_errors(form, error)
        except DisclosureRestricted as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(
                request,
                _("Disclosure to %(recipient)s recorded.") % {"recipient": record.recipient.name},
            )
            return redirect("provision:provision_list")
    return render(
        request,
        "privacy/provision/provision_form.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


# --- records of receipt -----------------------------------------------------------------------


@staff_required("privacy.view_receiptrecord")
def receipt_list(request: HttpRequest) -> HttpResponse:
    filters = ReceiptFilterForm(request.GET or None)
    provider, subject = "", ""
    if filters.is_valid():
        provider = filters.cleaned_data["provider"].strip()
        subject = filters.cleaned_data["subject"].strip()
    if subject:
        _audit_lookup(request, subject, "privacy.receipt_records_searched")
    records = receipts_filtered(provider=provider, subject=subject)
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "privacy/provision/receipt_list.html",
        {"filters": filters, "page": page, "query": _query_without_page(request)},
    )


@staff_required("privacy.add_receiptrecord")
def receipt_create(request: HttpRequest) -> HttpResponse:
    form = ReceiptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            record = record_receipt(
                provider_name=data["provider_name"],
                provider_address=data["provider_address"],
                how_obtained=data["how_obtained"],
                data_items=data["data_items"],
                subject_user=data["customer"],
                subject_name=data["subject_name"],
                subject_email=data["subject_email"],
                actor=_signed_in(request),
                received_at=data["received_at"],
            )
        except ValidationError as error:
            _service_errors(form, error)
        else:
            messages.success(
                request,
                _("Data received from %(provider)s recorded.") % {"provider": record.provider_name},
            )
            return redirect("provision:receipt_list")
    return render(
        request,
        "privacy/provision/receipt_form.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- the customer's own records ---------------------------------------------------------------


@login_required
def my_records(request: HttpRequest) -> HttpResponse:
    """Who received my data, when, what and why; and what others gave the exporter about me."""
    user = _signed_in(request)
    provisions: list[dict[str, Any]] = [
        {
            "record": record,
            "basis": _basis(record.legal_basis),
            "country": _country(record.recipient.country),
        }
        for record in provisions_for_customer(user).order_by("-provided_at", "-pk")
    ]
    receipts = list(receipts_for_customer(user).order_by("-received_at", "-pk"))
    return render(
        request,
        "privacy/provision/my_records.html",
        {"provisions": provisions, "receipts": receipts},
    )

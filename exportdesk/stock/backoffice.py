"""Back office for stock: vehicles, photos, status, CSV import, and the reference tables
(destination rules, freight, exchange rates, ports, pricing) staff keep current."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from exportdesk.accounts.http import staff_of
from exportdesk.accounts.otp import staff_required
from exportdesk.core.audit import audit_event_record
from exportdesk.stock.forms import (
    DestinationRuleForm,
    ExchangeRateForm,
    FreightRateForm,
    ImportForm,
    PhotoForm,
    PortForm,
    PricingSettingsForm,
    StatusForm,
    VehicleForm,
)
from exportdesk.stock.imports import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, vehicles_import_csv
from exportdesk.stock.models import (
    DestinationRule,
    ExchangeRate,
    FreightRate,
    InvalidTransition,
    Port,
    PricingSettings,
    Vehicle,
    VehiclePhoto,
    VehicleStatus,
)
from exportdesk.stock.services import (
    photo_add,
    photo_remove,
    vehicle_fields_changed,
    vehicle_save,
    vehicle_status_change,
)

IMPORT_MAX_BYTES = 20 * 1024 * 1024


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


@staff_required("stock.view_vehicle")
def vehicle_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:60]
    status = request.GET.get("status", "")
    vehicles = Vehicle.objects.select_related("make", "model").order_by("-created_at", "-id")
    if query:
        vehicles = vehicles.filter(
            Q(stock_number__icontains=query) | Q(chassis_number__icontains=query.upper())
        )
    if status in VehicleStatus.values:
        vehicles = vehicles.filter(status=status)
    page = Paginator(vehicles, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "stock/backoffice/vehicle_list.html",
        {"page": page, "query": query, "status": status, "statuses": VehicleStatus.choices},
    )


@staff_required("stock.add_vehicle")
def vehicle_create(request: HttpRequest) -> HttpResponse:
    form = VehicleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        vehicle = vehicle_save(vehicle=form.save(commit=False), actor=staff_of(request))
        messages.success(request, _("Vehicle %(number)s added.") % {"number": vehicle.stock_number})
        return redirect("stock_backoffice:vehicle_edit", pk=vehicle.pk)
    return render(
        request,
        "stock/backoffice/vehicle_form.html",
        {"form": form, "vehicle": None},
        status=400 if form.errors else 200,
    )


@staff_required("stock.change_vehicle")
def vehicle_edit(request: HttpRequest, pk: int) -> HttpResponse:
    vehicle = get_object_or_404(Vehicle.objects.select_related("make", "model"), pk=pk)
    before = {name: getattr(vehicle, name) for name in VehicleForm.base_fields}
    form = VehicleForm(request.POST or None, instance=vehicle)
    if request.method == "POST" and form.is_valid():
        updated = form.save(commit=False)
        vehicle_save(
            vehicle=updated,
            actor=staff_of(request),
            changed=vehicle_fields_changed(before, updated),
        )
        messages.success(request, _("Vehicle %(number)s saved.") % {"number": updated.stock_number})
        return redirect("stock_backoffice:vehicle_edit", pk=updated.pk)
    return render(
        request,
        "stock/backoffice/vehicle_form.html",
        {
            "form": form,
            "vehicle": vehicle,
            "status_form": StatusForm(initial={"status": vehicle.status}),
            "photo_form": PhotoForm(),
            "photos": vehicle.photos.all(),
        },
        status=400 if form.errors else 200,
    )


@staff_required("stock.change_vehicle")
def vehicle_status(request: HttpRequest, pk: int) -> HttpResponse:
    vehicle = get_object_or_404(Vehicle, pk=pk)
    form = StatusForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            vehicle_status_change(
                vehicle=vehicle, new_status=form.cleaned_data["status"], actor=staff_of(request)
            )
        except InvalidTransition as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Status changed."))
    return redirect("stock_backoffice:vehicle_edit", pk=vehicle.pk)


@staff_required("stock.add_vehiclephoto")
def photo_upload(request: HttpRequest, pk: int) -> HttpResponse:
    vehicle = get_object_or_404(Vehicle, pk=pk)
    form = PhotoForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            photo_add(
                vehicle=vehicle,
                upload=form.cleaned_data["image"],
                actor=staff_of(request),
                caption=form.cleaned_data["caption"],
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Photo added."))
    elif request.method == "POST":
        messages.error(request, _("Choose a photo to upload."))
    return redirect("stock_backoffice:vehicle_edit", pk=vehicle.pk)


@staff_required("stock.delete_vehiclephoto")
def photo_delete(request: HttpRequest, pk: int) -> HttpResponse:
    photo = get_object_or_404(VehiclePhoto, pk=pk)
    vehicle_pk = photo.vehicle_id
    if request.method == "POST":
        photo_remove(photo=photo, actor=staff_of(request))
        messages.success(request, _("Photo removed."))
    return redirect("stock_backoffice:vehicle_edit", pk=vehicle_pk)


@staff_required("stock.add_vehicle")
def vehicle_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    status = 200
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > IMPORT_MAX_BYTES:
            form.add_error("file", _("The file is larger than 20 MB; split it."))
        else:
            report = vehicles_import_csv(data=upload.read(), actor=staff_of(request))
            if report.ok:
                messages.success(
                    request,
                    _("Imported: %(created)s new vehicles, %(updated)s updated.")
                    % {"created": report.created, "updated": report.updated},
                )
                return redirect("stock_backoffice:vehicle_list")
    if form.errors or (report and not report.ok):
        status = 400
    return render(
        request,
        "stock/backoffice/vehicle_import.html",
        {
            "form": form,
            "report": report,
            "required": REQUIRED_COLUMNS,
            "optional": OPTIONAL_COLUMNS,
        },
        status=status,
    )


# --- reference tables ------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    model: type[models.Model]
    form: type[forms.ModelForm]
    title: Any
    columns: tuple[str, ...]
    note: Any = ""


TABLES: dict[str, Table] = {
    "rules": Table(
        DestinationRule,
        DestinationRuleForm,
        gettext_lazy("Destination rules"),
        ("country", "kind", "effective_from", "effective_to", "source"),
        gettext_lazy(
            "Import and export rules change. Check each rule against its source regularly and "
            "add an end date when a rule stops applying; customers are refused or warned by them."
        ),
    ),
    "freight": Table(
        FreightRate,
        FreightRateForm,
        gettext_lazy("Freight rates"),
        ("port", "method", "basis", "per_m3_jpy", "valid_from"),
    ),
    "rates": Table(
        ExchangeRate,
        ExchangeRateForm,
        gettext_lazy("Exchange rates"),
        ("currency", "jpy_per_unit", "rate_date", "source"),
        gettext_lazy("Prices are shown in these currencies at the newest rate of each."),
    ),
    "ports": Table(Port, PortForm, gettext_lazy("Ports"), ("country", "name", "code")),
}


def _table(slug: str) -> Table:
    table = TABLES.get(slug)
    if table is None:
        raise Http404
    return table


def _perm(table: Table, action: str) -> str:
    return f"stock.{action}_{table.model._meta.model_name}"


@staff_required()
def table_list(request: HttpRequest, slug: str) -> HttpResponse:
    table = _table(slug)
    _require(request, _perm(table, "view"))
    rows = table.model._default_manager.all()
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    cells = [
        (
            row,
            [
                getattr(row, f"get_{c}_display", lambda c=c, row=row: getattr(row, c))()
                for c in table.columns
            ],
        )
        for row in page
    ]
    headers = [getattr(table.model._meta.get_field(c), "verbose_name", c) for c in table.columns]
    return render(
        request,
        "stock/backoffice/table_list.html",
        {
            "table": table,
            "slug": slug,
            "page": page,
            "cells": cells,
            "headers": headers,
            "can_add": request.user.has_perm(_perm(table, "add")),
        },
    )


@staff_required()
def table_edit(request: HttpRequest, slug: str, pk: int | None = None) -> HttpResponse:
    table = _table(slug)
    instance = get_object_or_404(table.model, pk=pk) if pk else None
    _require(request, _perm(table, "change" if instance else "add"))
    form = table.form(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        row = form.save(commit=False)
        if isinstance(row, DestinationRule):
            row.updated_by = staff_of(request)
        row.save()
        audit_event_record(
            action=f"{slug}.{'changed' if instance else 'added'}",
            actor=staff_of(request),
            obj=row,
            details={"fields": list(form.changed_data)},
        )
        messages.success(request, _("Saved."))
        return redirect("stock_backoffice:table_list", slug=slug)
    return render(
        request,
        "stock/backoffice/table_form.html",
        {"table": table, "slug": slug, "form": form, "instance": instance},
        status=400 if form.errors else 200,
    )


@staff_required("stock.change_pricingsettings")
def pricing(request: HttpRequest) -> HttpResponse:
    current = PricingSettings.current()
    form = PricingSettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        form.save()
        audit_event_record(
            action="pricing.changed",
            actor=staff_of(request),
            obj=current,
            details={"insurance_rate": str(current.insurance_rate)},
        )
        messages.success(request, _("Saved."))
        return redirect("stock_backoffice:pricing")
    return render(
        request, "stock/backoffice/pricing.html", {"form": form}, status=400 if form.errors else 200
    )

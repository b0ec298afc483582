"""The public stock search: filters from the URL, validated, turned into one indexed query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from exportdesk.core.forms import NoLabelSuffix
from exportdesk.stock.models import (
    PUBLIC_STATUSES,
    BodyType,
    Drive,
    Fuel,
    Steering,
    Transmission,
    Vehicle,
    VehicleMake,
    VehicleModel,
    VehiclePhoto,
)

PAGE_SIZES = (20, 50, 100)
SORTS = {
    "newest": ("-created_at", "-id"),
    "price_asc": ("fob_price_jpy", "id"),
    "price_desc": ("-fob_price_jpy", "-id"),
    "year_desc": ("-first_registration_year", "-id"),
    "mileage_asc": ("mileage_km", "id"),
}
SORT_LABELS = {
    "newest": _("Newest first"),
    "price_asc": _("Price: low to high"),
    "price_desc": _("Price: high to low"),
    "year_desc": _("Year: newest first"),
    "mileage_asc": _("Mileage: lowest first"),
}


def _choices(enum: Any) -> list[tuple[str, str]]:
    return [("", _("Any")), *enum.choices]


class StockSearchForm(NoLabelSuffix, forms.Form):
    q = forms.CharField(
        label=_("Keyword"),
        required=False,
        max_length=60,
        help_text=_("Stock number, chassis number, model or grade"),
    )
    make = forms.ModelChoiceField(
        label=_("Make"),
        queryset=VehicleMake.objects.all(),
        required=False,
        to_field_name="slug",
        empty_label=_("Any"),
    )
    model = forms.ModelChoiceField(
        label=_("Model"),
        queryset=VehicleModel.objects.select_related("make"),
        required=False,
        empty_label=_("Any"),
    )
    body_type = forms.ChoiceField(label=_("Body type"), choices=_choices(BodyType), required=False)
    year_min = forms.IntegerField(
        label=_("Year from"), required=False, min_value=1950, max_value=2100
    )
    year_max = forms.IntegerField(
        label=_("Year to"), required=False, min_value=1950, max_value=2100
    )
    price_min = forms.IntegerField(
        label=_("Price from (JPY)"), required=False, min_value=0, max_value=1_000_000_000
    )
    price_max = forms.IntegerField(
        label=_("Price to (JPY)"), required=False, min_value=0, max_value=1_000_000_000
    )
    mileage_min = forms.IntegerField(
        label=_("Mileage from (km)"), required=False, min_value=0, max_value=2_000_000
    )
    mileage_max = forms.IntegerField(
        label=_("Mileage to (km)"), required=False, min_value=0, max_value=2_000_000
    )
    cc_min = forms.IntegerField(
        label=_("Engine from (cc)"), required=False, min_value=0, max_value=30000
    )
    cc_max = forms.IntegerField(
        label=_("Engine to (cc)"), required=False, min_value=0, max_value=30000
    )
    fuel = forms.ChoiceField(label=_("Fuel"), choices=_choices(Fuel), required=False)
    transmission = forms.ChoiceField(
        label=_("Transmission"), choices=_choices(Transmission), required=False
    )
    drive = forms.ChoiceField(label=_("Drive"), choices=_choices(Drive), required=False)
    steering = forms.ChoiceField(label=_("Steering"), choices=_choices(Steering), required=False)
    colour = forms.CharField(label=_("Colour"), required=False, max_length=40)
    seats = forms.IntegerField(
        label=_("Seats (at least)"), required=False, min_value=1, max_value=80
    )
    sort = forms.ChoiceField(label=_("Sort"), choices=list(SORT_LABELS.items()), required=False)
    per_page = forms.TypedChoiceField(
        label=_("Per page"), choices=[(n, n) for n in PAGE_SIZES], coerce=int, required=False
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for low, high, label in (
            ("year_min", "year_max", _("year")),
            ("price_min", "price_max", _("price")),
            ("mileage_min", "mileage_max", _("mileage")),
            ("cc_min", "cc_max", _("engine size")),
        ):
            a, b = cleaned.get(low), cleaned.get(high)
            if a is not None and b is not None and a > b:
                self.add_error(
                    high, _("The upper %(what)s limit is below the lower one.") % {"what": label}
                )
        model, make = cleaned.get("model"), cleaned.get("make")
        if model is not None and make is not None and model.make_id != make.pk:
            self.add_error("model", _("That model is not made by %(make)s.") % {"make": make.name})
        return cleaned


@dataclass
class SearchResult:
    form: StockSearchForm
    page: Page
    problems: list[str]
    sort: str
    widened: bool = False


def _keyword(qs: QuerySet[Vehicle], raw: str) -> QuerySet[Vehicle]:
    """Stock and chassis numbers by indexed prefix range; words by make/model name, then grade."""
    text = raw.strip()
    upper = text.upper()
    by_number = Q(stock_number__gte=upper, stock_number__lt=upper + "\uffff") | Q(
        chassis_number__gte=upper, chassis_number__lt=upper + "\uffff"
    )
    model_ids = list(
        VehicleModel.objects.filter(
            Q(name__icontains=text) | Q(make__name__icontains=text)
        ).values_list("id", flat=True)[:500]
    )
    condition = by_number | Q(grade__icontains=text)
    if model_ids:
        condition |= Q(model_id__in=model_ids)
    return qs.filter(condition)


def public_vehicles() -> QuerySet[Vehicle]:
    first_photo = Prefetch(
        "photos",
        queryset=VehiclePhoto.objects.order_by("position", "id").only(
            "id", "vehicle_id", "position", "thumbnail", "caption"
        ),
        to_attr="photo_list",
    )
    return (
        Vehicle.objects.filter(status__in=PUBLIC_STATUSES)
        .select_related("make", "model")
        .prefetch_related(first_photo)
    )


def _apply(qs: QuerySet[Vehicle], data: dict[str, Any]) -> QuerySet[Vehicle]:
    exact = {
        "make": "make",
        "model": "model",
        "body_type": "body_type",
        "fuel": "fuel",
        "transmission": "transmission",
        "drive": "drive",
        "steering": "steering",
    }
    for field, lookup in exact.items():
        if data.get(field):
            qs = qs.filter(**{lookup: data[field]})
    ranges = {
        "year_min": "first_registration_year__gte",
        "year_max": "first_registration_year__lte",
        "price_min": "fob_price_jpy__gte",
        "price_max": "fob_price_jpy__lte",
        "mileage_min": "mileage_km__gte",
        "mileage_max": "mileage_km__lte",
        "cc_min": "engine_cc__gte",
        "cc_max": "engine_cc__lte",
        "seats": "seats__gte",
    }
    for field, lookup in ranges.items():
        if data.get(field) is not None:
            qs = qs.filter(**{lookup: data[field]})
    if data.get("colour"):
        qs = qs.filter(colour__iexact=data["colour"].strip())
    if data.get("q"):
        qs = _keyword(qs, data["q"])
    return qs


def stock_search(params: Any) -> SearchResult:
    form = StockSearchForm(params)
    form.is_valid()
    # Invalid filters are reported and left out; the valid ones still apply.
    data = {k: v for k, v in form.cleaned_data.items() if k not in form.errors}
    problems = [
        f"{form.fields[name].label}: {' '.join(str(e) for e in errors)}"
        if name in form.fields
        else " ".join(str(e) for e in errors)
        for name, errors in form.errors.items()
    ]
    sort = data.get("sort") or "newest"
    per_page = data.get("per_page") or PAGE_SIZES[0]
    qs = _apply(public_vehicles(), data).order_by(*SORTS[sort])
    paginator = Paginator(qs, per_page)
    requested = params.get("page", "1")
    try:
        number = int(requested)
    except (TypeError, ValueError):
        problems.append(str(_("Page: enter a whole number.")))
        number = 1
    if number < 1:
        problems.append(str(_("Page: there is no page before the first one.")))
        number = 1
    if number > paginator.num_pages:
        if paginator.count:
            problems.append(
                str(_("Page %(asked)s does not exist; showing the last page, %(last)s."))
                % {"asked": number, "last": paginator.num_pages}
            )
        number = paginator.num_pages
    return SearchResult(form=form, page=paginator.page(number), problems=problems, sort=sort)

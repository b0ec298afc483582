"""The public stock search: filters from the URL, validated, turned into one indexed query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, Q, QuerySet
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from exportdesk.core.forms import NoLabelSuffix
from exportdesk.stock.models import (
    BodyType,
    Drive,
    Fuel,
    Steering,
    Transmission,
    Vehicle,
    VehicleMake,
    VehicleModel,
    VehiclePhoto,
    normalise_colour,
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
    """Numbers (ED0012345, ZVW30-1234567) by indexed prefix range on stock and chassis number;
    words by make or model name; anything else by grade."""
    text = raw.strip()
    if any(ch.isdigit() for ch in text):
        upper = text.upper()
        return qs.filter(
            Q(stock_number__gte=upper, stock_number__lt=upper + "\uffff")
            | Q(chassis_number__gte=upper, chassis_number__lt=upper + "\uffff")
        )
    model_ids = list(
        VehicleModel.objects.filter(
            Q(name__icontains=text) | Q(make__name__icontains=text)
        ).values_list("id", flat=True)[:500]
    )
    if model_ids:
        return qs.filter(model_id__in=model_ids)
    return qs.filter(grade__icontains=text)


class CappedPaginator(Paginator):
    """Counts matches only up to a cap: "more than 10,000" costs a bounded index scan where an
    exact count of a broad search would read every listed car. The cap grows with the page
    asked for, so every existing page stays reachable."""

    def __init__(self, object_list: Any, per_page: int, *, cap: int, count_from: Any) -> None:
        super().__init__(object_list, per_page)
        self.cap = cap
        self.count_from = count_from  # the same filters, free to use any index for counting
        self.more = False

    @cached_property
    def count(self) -> int:
        # Without ORDER BY, so counting can use whichever filter index is narrowest.
        found: int = self.count_from.order_by()[: self.cap + 1].count()
        self.more = found > self.cap
        return min(found, self.cap)


COUNT_CAP = 10_000
# What a card shows and what the destination rules read (no deferred-field query per card).
CARD_FIELDS = (
    "id",
    "body_type",
    "first_registration_month",
    "manufacture_year",
    "stock_number",
    "make",
    "model",
    "grade",
    "first_registration_year",
    "mileage_km",
    "engine_cc",
    "fuel",
    "transmission",
    "steering",
    "fob_price_jpy",
    "status",
    "created_at",
)


def public_vehicles() -> QuerySet[Vehicle]:
    first_photo = Prefetch(
        "photos",
        queryset=VehiclePhoto.objects.order_by("position", "id").only(
            "id", "vehicle_id", "position", "thumbnail", "caption"
        ),
        to_attr="photo_list",
    )
    # Makes and models are prefetched, not joined: a join tempts SQLite's planner to start from
    # the makes table and sort every match instead of reading the sort index in order.
    return Vehicle.objects.filter(listed=1).prefetch_related("make", "model", first_photo)


def _apply(qs: QuerySet[Vehicle], data: dict[str, Any], *, for_page: bool) -> QuerySet[Vehicle]:
    """Filter by the valid fields. For the page query (for_page) the attribute filters are
    kept out of SQLite's index choice so it reads the sort index in order (see lookups.py);
    makes and models keep their indexes, which also serve the newest and price sorts."""
    exact = "noindex_exact" if for_page else "exact"
    gte = "noindex_gte" if for_page else "gte"
    lte = "noindex_lte" if for_page else "lte"
    for field in ("make", "model"):
        if data.get(field):
            qs = qs.filter(**{field: data[field]})
    for field in ("body_type", "fuel", "transmission", "drive", "steering"):
        if data.get(field):
            qs = qs.filter(**{f"{field}__{exact}": data[field]})
    ranges = {
        "year_min": f"first_registration_year__{gte}",
        "year_max": f"first_registration_year__{lte}",
        "price_min": f"fob_price_jpy__{gte}",
        "price_max": f"fob_price_jpy__{lte}",
        "mileage_min": f"mileage_km__{gte}",
        "mileage_max": f"mileage_km__{lte}",
        "cc_min": f"engine_cc__{gte}",
        "cc_max": f"engine_cc__{lte}",
        "seats": f"seats__{gte}",
    }
    for field, lookup in ranges.items():
        if data.get(field) is not None:
            qs = qs.filter(**{lookup: data[field]})
    if data.get("colour"):
        qs = qs.filter(**{f"colour__{exact}": normalise_colour(data["colour"])})
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
    # Only what a card shows: fewer columns to read, and the generated column is not compiled.
    qs = _apply(public_vehicles(), data, for_page=True).only(*CARD_FIELDS).order_by(*SORTS[sort])
    count_qs = _apply(Vehicle.objects.filter(listed=1), data, for_page=False)
    requested = params.get("page", "1")
    try:
        number = int(requested)
    except (TypeError, ValueError):
        problems.append(str(_("Page: enter a whole number.")))
        number = 1
    cap = max(COUNT_CAP, min(number, 1_000_000) * per_page)
    paginator = CappedPaginator(qs, per_page, cap=cap, count_from=count_qs)
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


# --- what the page shows, prepared in Python: template loops stay cheap at 100 cards a page ----


@dataclass(frozen=True)
class FilterField:
    name: str
    label: str
    kind: str  # "select", "number" or "text"
    value: str
    options: list[tuple[str, str, bool]]
    help_text: str = ""


def filter_panel(form: StockSearchForm) -> list[FilterField]:
    data = form.data
    panel: list[FilterField] = []
    for name, field in form.fields.items():
        value = str(data.get(name, "") or "")
        label = str(field.label)
        if name == "make":
            options = [("", str(_("Any")), not value)] + [
                (slug, make_name, slug == value)
                for slug, make_name in VehicleMake.objects.values_list("slug", "name")
            ]
            panel.append(FilterField(name, label, "select", value, options))
        elif name == "model":
            rows = VehicleModel.objects.select_related("make").values_list(
                "pk", "make__name", "name"
            )
            options = [("", str(_("Any")), not value)] + [
                (str(pk), f"{make_name} {model_name}", str(pk) == value)
                for pk, make_name, model_name in rows
            ]
            panel.append(FilterField(name, label, "select", value, options))
        elif isinstance(field, forms.ChoiceField):
            choices: list[tuple[Any, Any]] = list(field.choices)  # type: ignore[arg-type]
            options = [(str(v), str(lbl), str(v) == value) for v, lbl in choices]
            panel.append(FilterField(name, label, "select", value, options))
        elif isinstance(field, forms.IntegerField):
            panel.append(FilterField(name, label, "number", value, []))
        else:
            panel.append(FilterField(name, label, "text", value, [], str(field.help_text or "")))
    return panel


@dataclass(frozen=True)
class Card:
    stock_number: str
    title: str
    url: str
    thumb_url: str
    specs: str
    price: str
    reserved: bool
    favourite: bool
    favourite_url: str
    verdict: Any


def cards_for(page: Page, *, favourites: set[int], verdicts: dict[int, Any]) -> list[Card]:
    from django.urls import reverse
    from django.utils.formats import number_format

    def grouped(n: int) -> str:
        return number_format(n, force_grouping=True)

    vehicle_url = reverse("stock:vehicle", args=["__SN__"])
    favourite_url = reverse("stock:favourite", args=["__SN__"])
    thumb_url = reverse("stock:photo", args=[0, "thumb"]).replace("/0/", "/__PK__/")
    # Translate each choice label once per page (get_FOO_display rebuilds its map per call).
    fuel = {v: str(label) for v, label in Fuel.choices}
    transmission = {v: str(label) for v, label in Transmission.choices}
    steering = {v: str(label) for v, label in Steering.choices}
    cards = []
    for v in page:
        photos = getattr(v, "photo_list", [])
        specs = " · ".join(
            [
                v.stock_number,
                f"{grouped(v.mileage_km)} km",
                f"{grouped(v.engine_cc)} cc",
                fuel.get(v.fuel, v.fuel),
                transmission.get(v.transmission, v.transmission),
                steering.get(v.steering, v.steering),
            ]
        )
        cards.append(
            Card(
                stock_number=v.stock_number,
                title=v.title,
                url=vehicle_url.replace("__SN__", v.stock_number),
                thumb_url=thumb_url.replace("__PK__", str(photos[0].pk)) if photos else "",
                specs=specs,
                price=grouped(v.fob_price_jpy),
                reserved=v.status == "reserved",
                favourite=v.pk in favourites,
                favourite_url=favourite_url.replace("__SN__", v.stock_number),
                verdict=verdicts.get(v.pk),
            )
        )
    return cards

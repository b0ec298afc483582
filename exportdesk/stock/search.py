"""The public stock search: filters from the URL, validated, turned into one indexed query.

Where the time of a search page goes, and why the code is shaped the way it is (measured with
`python -m bench search`, 200,000 vehicles on SQLite):

- Each query reads one index in order. The page query keeps attribute filters out of SQLite's
  index choice (lookups.py) so it reads the sort index and skips non-matching rows; the count
  uses the filter indexes, which cover the filtered columns so counting never reads table rows.
- The count stops at COUNT_CAP; a page that lies beyond the cap needs no count at all: one
  extra row on the page query says whether more follow.
- The result rows are plain tuples (no model instances, no prefetch machinery) and carry the
  first photo's id; make and model names come from the small reference tables the filter panel
  lists anyway.
- Cards and select options are rendered here with str.format and escape: Django's template
  engine spends about 10 µs per variable, which at 100 cards and 100 model options is most of
  the page's time. The markup is the same as the templates had.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from django import forms
from django.db import connection
from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils.formats import get_format, number_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
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
# The range filters on the column a sort reads: these may seek in the sort's own index.
SORT_RANGES = {
    "price_asc": ("price_min", "price_max"),
    "price_desc": ("price_min", "price_max"),
    "year_desc": ("year_min", "year_max"),
    "mileage_asc": ("mileage_min", "mileage_max"),
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


# --- the reference data a page names cars and fills the filter panel with -----------------------


@dataclass(frozen=True)
class Reference:
    """Makes and models: a few hundred rows at most, read in two small queries per page."""

    makes: list[tuple[int, str, str]]  # (id, slug, name), by name
    models: list[tuple[int, int, str]]  # (id, make id, name), by make name and name

    @classmethod
    def load(cls) -> Reference:
        return cls(
            makes=list(VehicleMake.objects.order_by("name").values_list("pk", "slug", "name")),
            models=list(
                VehicleModel.objects.order_by("make__name", "name").values_list(
                    "pk", "make_id", "name"
                )
            ),
        )

    def make_names(self) -> dict[int, str]:
        return {pk: name for pk, _slug, name in self.makes}

    def model_names(self) -> dict[int, str]:
        return {pk: name for pk, _make, name in self.models}


def public_vehicles() -> QuerySet[Vehicle]:
    """Cars the public may see, with what a vehicle page or a favourites list shows."""
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


# --- the query --------------------------------------------------------------------------------


# Distinct grades are looked up by skipping through the (listed, grade) index one value at a
# time; past this many the keyword falls back to a substring scan.
GRADE_WALK_LIMIT = 1000


def _listed_grades() -> list[str] | None:
    """Every distinct grade among listed cars, or None when there are more than the limit.

    One index seek per distinct grade (a recursive "skip scan"), so a grade keyword becomes an
    indexed `grade IN (...)` instead of a substring test on every listed car."""
    table = connection.ops.quote_name(Vehicle._meta.db_table)
    sql = f"""
        WITH RECURSIVE grades(grade, n) AS (
            SELECT (SELECT MIN(grade) FROM {table} WHERE listed = 1), 1
            UNION ALL
            SELECT (SELECT MIN(grade) FROM {table} WHERE listed = 1 AND grade > grades.grade),
                   n + 1
            FROM grades WHERE grades.grade IS NOT NULL AND n <= %s
        )
        SELECT grade FROM grades WHERE grade IS NOT NULL
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [GRADE_WALK_LIMIT])
        found = [row[0] for row in cursor.fetchall()]
    return None if len(found) > GRADE_WALK_LIMIT else found


@dataclass(frozen=True)
class Keyword:
    """What a keyword filters on, worked out once for both the count and the page query."""

    ranges: str = ""  # a prefix of stock and chassis numbers (upper case)
    model_ids: tuple[int, ...] = ()
    grades: tuple[str, ...] | None = None  # exact grades that contain the text
    grade_text: str = ""  # substring of the grade, when there are too many grades to list

    @classmethod
    def parse(cls, raw: str) -> Keyword:
        """Numbers (ED0012345, ZVW30-1234567) by indexed prefix range on stock and chassis
        number; words by make or model name; anything else by grade."""
        text = raw.strip()
        if any(ch.isdigit() for ch in text):
            return cls(ranges=text.upper())
        model_ids = tuple(
            VehicleModel.objects.filter(
                Q(name__icontains=text) | Q(make__name__icontains=text)
            ).values_list("id", flat=True)[:500]
        )
        if model_ids:
            return cls(model_ids=model_ids)
        grades = _listed_grades()
        if grades is None:
            return cls(grade_text=text)
        needle = text.casefold()
        return cls(grades=tuple(g for g in grades if needle in g.casefold()))

    def apply(self, qs: QuerySet[Vehicle], *, for_page: bool) -> QuerySet[Vehicle]:
        if self.ranges:
            upper = self.ranges
            return qs.filter(
                Q(stock_number__gte=upper, stock_number__lt=upper + "\uffff")
                | Q(chassis_number__gte=upper, chassis_number__lt=upper + "\uffff")
            )
        if self.model_ids:
            return qs.filter(model_id__in=self.model_ids)
        if self.grades is not None:
            return qs.filter(**{"grade__noindex_in" if for_page else "grade__in": self.grades})
        return qs.filter(grade__icontains=self.grade_text)


def _apply(
    qs: QuerySet[Vehicle],
    data: dict[str, Any],
    keyword: Keyword | None,
    *,
    for_page: bool,
    sort: str = "",
) -> QuerySet[Vehicle]:
    """Filter by the valid fields. For the page query (for_page) the attribute filters are
    kept out of SQLite's index choice so it reads the sort index in order (see lookups.py),
    except a range on the sorted column itself, which seeks in that same index; makes and
    models keep their indexes, which also serve the newest and price sorts."""
    exact = "noindex_exact" if for_page else "exact"
    sort_ranges = SORT_RANGES.get(sort, ()) if for_page else ()
    # A valid model belongs to the valid make (the form checks), so the model alone narrows.
    if data.get("model"):
        qs = qs.filter(model=data["model"])
    elif data.get("make"):
        qs = qs.filter(make=data["make"])
    for field in ("body_type", "fuel", "transmission", "drive", "steering"):
        if data.get(field):
            qs = qs.filter(**{f"{field}__{exact}": data[field]})
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
            if for_page and field not in sort_ranges:
                lookup = lookup.replace("__", "__noindex_")
            qs = qs.filter(**{lookup: data[field]})
    if data.get("colour"):
        qs = qs.filter(**{f"colour__{exact}": normalise_colour(data["colour"])})
    if keyword is not None:
        qs = keyword.apply(qs, for_page=for_page)
    return qs


COUNT_CAP = 10_000
# Pages past this are answered by counting to the last page (a bounded, if slow, exception).
MAX_PAGE = 1_000_000

# What a card shows and what the destination rules read, in this order.
ROW_FIELDS = (
    "id",
    "stock_number",
    "make_id",
    "model_id",
    "grade",
    "first_registration_year",
    "mileage_km",
    "engine_cc",
    "fuel",
    "transmission",
    "steering",
    "fob_price_jpy",
    "status",
    "body_type",
    "first_registration_month",
    "manufacture_year",
)
# A row of the page query: ROW_FIELDS, then the first photo's id (or None).
Row = tuple[Any, ...]


@dataclass
class ResultPage:
    """One page of results and what is known about the rest: the count stops at a cap, and
    `more` says that more cars than `count` match."""

    rows: list[Row]
    number: int
    per_page: int
    count: int
    more: bool

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.count // self.per_page))

    def has_next(self) -> bool:
        return self.more or self.number < self.num_pages

    def has_previous(self) -> bool:
        return self.number > 1

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1

    def __iter__(self) -> Any:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class SearchResult:
    form: StockSearchForm
    page: ResultPage
    problems: list[str]
    sort: str


def _capped_count(qs: QuerySet[Vehicle], cap: int) -> tuple[int, bool]:
    """Counts matches only up to a cap: "more than 10,000" costs a bounded index scan where an
    exact count of a broad search would read every listed car. Without ORDER BY, so counting
    can use whichever filter index is narrowest."""
    found: int = qs.order_by()[: cap + 1].count()
    return min(found, cap), found > cap


def _page_rows(qs: QuerySet[Vehicle], offset: int, limit: int) -> list[Row]:
    first_photo = (
        VehiclePhoto.objects.filter(vehicle=OuterRef("pk")).order_by("position", "id").values("pk")
    )
    return list(
        qs.annotate(photo=Subquery(first_photo[:1])).values_list(*ROW_FIELDS, "photo")[
            offset : offset + limit
        ]
    )


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
    keyword = Keyword.parse(data["q"]) if data.get("q") else None
    listed = Vehicle.objects.filter(listed=1)
    page_qs = _apply(listed, data, keyword, for_page=True, sort=sort).order_by(*SORTS[sort])
    count_qs = _apply(listed, data, keyword, for_page=False)
    requested = params.get("page", "1")
    try:
        number = int(requested)
    except (TypeError, ValueError):
        problems.append(str(_("Page: enter a whole number.")))
        number = 1
    if number < 1:
        problems.append(str(_("Page: there is no page before the first one.")))
        number = 1

    rows: list[Row] = []
    if number * per_page >= COUNT_CAP and number <= MAX_PAGE:
        # Deep in the results the count would cost as much as the page: one row past the page
        # tells whether more follow, and the page's own position gives the count.
        offset = (number - 1) * per_page
        rows = _page_rows(page_qs, offset, per_page + 1)
        if rows:
            more = len(rows) > per_page
            rows = rows[:per_page]
            count = number * per_page if more else offset + len(rows)
            return SearchResult(
                form=form,
                page=ResultPage(rows, number, per_page, count, more),
                problems=problems,
                sort=sort,
            )
    cap = max(COUNT_CAP, min(number, MAX_PAGE) * per_page)
    count, more = _capped_count(count_qs, cap)
    page = ResultPage([], number, per_page, count, more)
    if number > page.num_pages:
        if count:
            problems.append(
                str(_("Page %(asked)s does not exist; showing the last page, %(last)s."))
                % {"asked": number, "last": page.num_pages}
            )
        page.number = page.num_pages
    if count:
        page.rows = _page_rows(page_qs, (page.number - 1) * per_page, per_page)
    return SearchResult(form=form, page=page, problems=problems, sort=sort)


# --- what the page shows, rendered in Python: this is the hot loop of the page ---------------


@dataclass(frozen=True)
class FilterField:
    name: str
    label: str
    kind: str  # "select", "number" or "text"
    value: str
    options_html: SafeString  # the <option>s of a select, already escaped
    help_text: str = ""


def _options(options: Iterable[tuple[str, str]], value: str) -> SafeString:
    return mark_safe(  # noqa: S308 - every value and label is escaped here
        "".join(
            f'<option value="{escape(v)}"{" selected" if v == value else ""}>{escape(label)}'
            "</option>"
            for v, label in options
        )
    )


def filter_panel(form: StockSearchForm, reference: Reference) -> list[FilterField]:
    data = form.data
    any_label = str(_("Any"))
    makes = reference.make_names()
    panel: list[FilterField] = []
    for name, field in form.fields.items():
        value = str(data.get(name, "") or "")
        label = str(field.label)
        if name == "make":
            options = [("", any_label)] + [(slug, n) for _pk, slug, n in reference.makes]
            panel.append(FilterField(name, label, "select", value, _options(options, value)))
        elif name == "model":
            options = [("", any_label)] + [
                (str(pk), f"{makes.get(make_id, '')} {model_name}")
                for pk, make_id, model_name in reference.models
            ]
            panel.append(FilterField(name, label, "select", value, _options(options, value)))
        elif isinstance(field, forms.ChoiceField):
            choices: list[tuple[Any, Any]] = list(field.choices)  # type: ignore[arg-type]
            options = [(str(v), str(lbl)) for v, lbl in choices]
            panel.append(FilterField(name, label, "select", value, _options(options, value)))
        elif isinstance(field, forms.IntegerField):
            panel.append(FilterField(name, label, "number", value, mark_safe("")))
        else:
            panel.append(
                FilterField(name, label, "text", value, mark_safe(""), str(field.help_text or ""))
            )
    return panel


def vehicles_for_rules(rows: Sequence[Row]) -> list[Vehicle]:
    """Unsaved vehicles with the fields the destination rules read (rules.verdict_for)."""
    names = ROW_FIELDS
    return [Vehicle(**dict(zip(names, row[: len(names)], strict=True))) for row in rows]


_CARD = (
    '<li class="vehicle-card">\n'
    '  <a href="{url}" class="vehicle-link">\n'
    "    {picture}\n"
    "    <h2>{title}</h2>\n"
    "  </a>\n"
    '  <p class="specs">{specs}</p>\n'
    '  <p class="price">FOB <strong>JPY {price}</strong>{reserved}</p>\n'
    "  {verdict}\n"
    '  <form method="post" action="{favourite_url}" class="inline">'
    '<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
    '<input type="hidden" name="next" value="{here}">\n'
    '    <button type="submit" class="secondary small" aria-pressed="{pressed}">'
    "{favourite_label}</button>\n"
    "  </form>\n"
    "</li>"
)


def _grouper() -> Any:
    """Thousands grouping as number_format(force_grouping=True) does it in the active language,
    without its per-call settings look-ups."""
    separator, grouping = get_format("THOUSAND_SEPARATOR"), get_format("NUMBER_GROUPING")
    if grouping == 3:
        return lambda n: f"{n:,}".replace(",", separator)
    return lambda n: number_format(n, force_grouping=True)


def cards_html(
    rows: Sequence[Row],
    *,
    reference: Reference,
    favourites: set[int],
    verdicts: dict[int, Any],
    allowed_text: str,
    csrf_token: str,
    here: str,
) -> SafeString:
    """The result cards, in the markup the search page's stylesheet and tests know."""
    from django.urls import reverse

    grouped = _grouper()
    vehicle_url = reverse("stock:vehicle", args=["__SN__"])
    favourite_url = reverse("stock:favourite", args=["__SN__"])
    thumb_url = reverse("stock:photo", args=[0, "thumb"]).replace("/0/", "/__PK__/")
    fuels = {v: str(label) for v, label in Fuel.choices}
    transmissions = {v: str(label) for v, label in Transmission.choices}
    steerings = {v: str(label) for v, label in Steering.choices}
    make_names, model_names = reference.make_names(), reference.model_names()
    no_photo = f'<span class="no-photo">{escape(gettext("No photo yet"))}</span>'
    reserved = f' <span class="badge">{escape(gettext("Reserved"))}</span>'
    in_favourites = f"★ {escape(gettext('In favourites'))}"
    add_favourite = f"☆ {escape(gettext('Add to favourites'))}"
    allowed = f'<p class="verdict ok">✓ {escape(allowed_text)}</p>'
    csrf, here = escape(csrf_token), escape(here)
    out = []
    for row in rows:
        pk, stock_number, make_id, model_id, grade, year, mileage, cc = row[:8]
        fuel, transmission, steering, price, status = row[8:13]
        photo = row[-1]
        title = escape(
            f"{year} {make_names.get(make_id, '')} {model_names.get(model_id, '')} {grade}".strip()
        )
        sn = escape(stock_number)
        specs = " · ".join(
            (
                stock_number,
                f"{grouped(mileage)} km",
                f"{grouped(cc)} cc",
                fuels.get(fuel, fuel),
                transmissions.get(transmission, transmission),
                steerings.get(steering, steering),
            )
        )
        verdict = verdicts.get(pk)
        if verdict is None:
            verdict_html = ""
        elif verdict.allowed:
            verdict_html = allowed
        else:
            verdict_html = f'<p class="verdict banned">✗ {escape(str(verdict.reasons[0]))}</p>'
        favourite = pk in favourites
        out.append(
            _CARD.format(
                url=vehicle_url.replace("__SN__", sn),
                picture=(
                    f'<img src="{thumb_url.replace("__PK__", str(photo))}" alt="{title}" '
                    'loading="lazy" width="320" height="240">'
                    if photo is not None
                    else no_photo
                ),
                title=title,
                specs=escape(specs),
                price=escape(grouped(price)),
                reserved=reserved if status == "reserved" else "",
                verdict=verdict_html,
                favourite_url=favourite_url.replace("__SN__", sn),
                csrf=csrf,
                here=here,
                pressed="true" if favourite else "false",
                favourite_label=in_favourites if favourite else add_favourite,
            )
        )
    return mark_safe("\n".join(out))  # noqa: S308 - every value is escaped above

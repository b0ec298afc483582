"""The public stock search: filters from the URL, validated, turned into indexed queries.

Where the time of a search page goes, and why the code is shaped the way it is (measured with
`python -m bench search`, 200,000 vehicles on SQLite; see also bench/search.py):

- Every query reads one index. The page query keeps attribute filters out of SQLite's index
  choice so it reads the sort index in order and skips non-matching rows; the count uses the
  filter indexes, which hold the filtered columns, so counting never reads table rows.
- The count stops at COUNT_CAP. A page beyond the cap needs no count at all: one extra row on
  the page query says whether more follow (deep pages cost one OFFSET scan, not two).
- A grade keyword becomes `grade IN (...)` over the listed grades that contain it, found by
  skipping through the grade index, instead of a substring test on every listed car.
- The two statements are written out in SQL (SearchQuery): the ORM spent longer compiling them
  than SQLite spends running them. The result rows are plain tuples carrying the first
  photo's id; make and model names come from the reference query the filter panel needs.
- The cards and the filter panel are rendered here with str.format and escape, in the markup
  the templates had: Django's template engine spends about 10 µs per variable, which at 100
  cards and a hundred model options was most of the page's time.
- Per process, only what comes from code is kept: the panel's translated labels and choices
  (per language) and the form's fields (shared, not deep-copied per request). Makes, models,
  grades, counts and rows are read on every request, so every change shows at once.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from django import forms
from django.db import connection
from django.db.models import Prefetch, QuerySet
from django.utils.formats import get_format, number_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext
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


class _SharedFields(dict[str, forms.Field]):
    """The search form's fields, shared by every instance instead of deep-copied for each:
    copying 21 fields with their translated choices was half the form's cost on every page
    view. Nothing changes a field of this form per request; anything that ever needs to must
    replace the field in form.fields (a per-instance dict), never modify the shared one."""

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, forms.Field]:
        return dict(self)


StockSearchForm.base_fields = _SharedFields(StockSearchForm.base_fields)


# --- the reference data a page names cars and fills the filter panel with -----------------------


@dataclass(frozen=True)
class Reference:
    """Makes and their models: a few hundred rows at most, read in one small query per page.

    Raw SQL on purpose: Django's compiler costs more than this query does."""

    makes: list[tuple[int, str, str]]  # (id, slug, name), by name
    models: list[tuple[int, int, str]]  # (id, make id, name), by make name and name

    @classmethod
    def load(cls) -> Reference:
        make_table = connection.ops.quote_name(VehicleMake._meta.db_table)
        model_table = connection.ops.quote_name(VehicleModel._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT k.id, k.slug, k.name, m.id, m.name FROM {make_table} k "  # noqa: S608 - quoted table names only
                f"LEFT JOIN {model_table} m ON m.make_id = k.id ORDER BY k.name, m.name, m.id"
            )
            rows = cursor.fetchall()
        makes: dict[int, tuple[int, str, str]] = {}
        models = []
        for make_id, slug, make_name, model_id, model_name in rows:
            makes.setdefault(make_id, (make_id, slug, make_name))
            if model_id is not None:
                models.append((model_id, make_id, model_name))
        return cls(makes=list(makes.values()), models=models)

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
    """  # noqa: S608 - a quoted table name; the limit is a parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, [GRADE_WALK_LIMIT])
        found = [row[0] for row in cursor.fetchall()]
    return None if len(found) > GRADE_WALK_LIMIT else found


@dataclass(frozen=True)
class Keyword:
    """What a keyword filters on, worked out once for both the count and the page query."""

    prefix: str = ""  # a prefix of stock and chassis numbers (upper case)
    model_ids: tuple[int, ...] = ()
    grades: tuple[str, ...] | None = None  # exact grades that contain the text
    grade_text: str = ""  # substring of the grade, when there are too many grades to list

    @classmethod
    def parse(cls, raw: str, reference: Reference) -> Keyword:
        """Numbers (ED0012345, ZVW30-1234567) by indexed prefix range on stock and chassis
        number; words by make or model name; anything else by grade. Names and grades match
        case-insensitively anywhere in the name."""
        text = raw.strip()
        if any(ch.isdigit() for ch in text):
            return cls(prefix=text.upper())
        needle = text.casefold()
        makes = reference.make_names()
        model_ids = tuple(
            pk
            for pk, make_id, name in reference.models
            if needle in name.casefold() or needle in makes.get(make_id, "").casefold()
        )
        if model_ids:
            return cls(model_ids=model_ids)
        grades = _listed_grades()
        if grades is None:
            return cls(grade_text=text)
        return cls(grades=tuple(g for g in grades if needle in g.casefold()))


COUNT_CAP = 10_000
# Pages past this are answered by counting to the last page (a bounded, if slow, exception).
MAX_PAGE = 1_000_000

# What a card shows and what the destination rules read, in this order; the page query adds
# the first photo's id.
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
Row = tuple[Any, ...]

# Cleaned form field -> column it must equal.
_EXACT = {
    "body_type": "body_type",
    "fuel": "fuel",
    "transmission": "transmission",
    "drive": "drive",
    "steering": "steering",
}
# Cleaned form field -> (column, comparison).
_RANGES = {
    "year_min": ("first_registration_year", ">="),
    "year_max": ("first_registration_year", "<="),
    "price_min": ("fob_price_jpy", ">="),
    "price_max": ("fob_price_jpy", "<="),
    "mileage_min": ("mileage_km", ">="),
    "mileage_max": ("mileage_km", "<="),
    "cc_min": ("engine_cc", ">="),
    "cc_max": ("engine_cc", "<="),
    "seats": ("seats", ">="),
}


class NothingMatches(Exception):
    """The filters exclude every car (e.g. a keyword no grade contains): no query needed."""


class SearchQuery:
    """The search as SQL: the capped count and the page's rows.

    Written out rather than built with the ORM: the ORM spent about a millisecond compiling
    these two statements on every request, several times what SQLite needs to run them. The
    SQL is the same on SQLite and PostgreSQL except for SQLite's unary plus (see _term)."""

    def __init__(self, data: dict[str, Any], keyword: Keyword | None, sort: str) -> None:
        self.data, self.keyword, self.sort = data, keyword, sort
        quote = connection.ops.quote_name
        self.table = quote(Vehicle._meta.db_table)
        self.photos = quote(VehiclePhoto._meta.db_table)
        self.sqlite = connection.vendor == "sqlite"

    def _col(self, name: str) -> str:
        return f"{self.table}.{connection.ops.quote_name(name)}"

    def _term(self, column: str, op: str, *, indexed: bool) -> str:
        # "+col = ?" keeps a term out of SQLite's index choice (it is still applied to every
        # row): the page query then reads its sort index in order and skips non-matching
        # rows, where an attribute index would make it sort tens of thousands of matches.
        plus = "" if indexed or not self.sqlite else "+"
        return f"{plus}{self._col(column)} {op} %s"

    def where(self, *, for_page: bool) -> tuple[str, list[Any]]:
        """Filter by the valid fields. The count uses every index it can; the page query
        keeps attribute filters out of index choice, except a range on the sorted column,
        which seeks in the sort's own index. Makes and models keep their indexes, which also
        serve the newest and price sorts."""
        data = self.data
        parts = [f"{self._col('listed')} = 1"]
        params: list[Any] = []
        index_all = not for_page
        sort_ranges = SORT_RANGES.get(self.sort, ())
        # A valid model belongs to the valid make (the form checks), so the model alone narrows.
        if data.get("model"):
            parts.append(f"{self._col('model_id')} = %s")
            params.append(data["model"].pk)
        elif data.get("make"):
            parts.append(f"{self._col('make_id')} = %s")
            params.append(data["make"].pk)
        for field, column in _EXACT.items():
            if data.get(field):
                parts.append(self._term(column, "=", indexed=index_all))
                params.append(data[field])
        for field, (column, op) in _RANGES.items():
            if data.get(field) is not None:
                indexed = index_all or field in sort_ranges
                parts.append(self._term(column, op, indexed=indexed))
                params.append(data[field])
        if data.get("colour"):
            parts.append(self._term("colour", "=", indexed=index_all))
            params.append(normalise_colour(data["colour"]))
        if self.keyword is not None:
            sql, more = self._keyword(self.keyword, for_page=for_page)
            parts.append(sql)
            params.extend(more)
        return " AND ".join(parts), params

    def _keyword(self, keyword: Keyword, *, for_page: bool) -> tuple[str, list[Any]]:
        if keyword.prefix:
            # Indexed prefix ranges: everything from the prefix up to the prefix followed by
            # the highest character.
            low, high = keyword.prefix, keyword.prefix + "\uffff"
            stock, chassis = self._col("stock_number"), self._col("chassis_number")
            return (
                f"(({stock} >= %s AND {stock} < %s) OR ({chassis} >= %s AND {chassis} < %s))",
                [low, high, low, high],
            )
        if keyword.model_ids:
            marks = ", ".join(["%s"] * len(keyword.model_ids))
            return f"{self._col('model_id')} IN ({marks})", list(keyword.model_ids)
        if keyword.grades is not None:
            if not keyword.grades:
                raise NothingMatches
            marks = ", ".join(["%s"] * len(keyword.grades))
            plus = "+" if for_page and self.sqlite else ""
            return f"{plus}{self._col('grade')} IN ({marks})", list(keyword.grades)
        # Case-insensitive substring, written the way Django's icontains writes it.
        ops = connection.ops
        lhs = ops.lookup_cast("icontains", "CharField") % self._col("grade")
        pattern = f"%{ops.prep_for_like_query(keyword.grade_text)}%"
        return f"{lhs} {connection.operators['icontains'] % '%s'}", [pattern]

    def count(self, cap: int) -> tuple[int, bool]:
        """Counts matches only up to a cap: "more than 10,000" costs a bounded index scan
        where an exact count of a broad search would read every listed car. Without ORDER BY,
        so counting can use whichever filter index is narrowest."""
        try:
            where, params = self.where(for_page=False)
        except NothingMatches:
            return 0, False
        sql = f"SELECT COUNT(*) FROM (SELECT 1 FROM {self.table} WHERE {where} LIMIT %s) matches"  # noqa: S608 - quoted names; values are parameters
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, cap + 1])
            found: int = cursor.fetchone()[0]
        return min(found, cap), found > cap

    def rows(self, offset: int, limit: int) -> list[Row]:
        """One page of rows in the chosen order, each with its first photo's id (one index
        seek a row, for the rows of the page only)."""
        try:
            where, params = self.where(for_page=True)
        except NothingMatches:
            return []
        columns = ", ".join(self._col(name) for name in ROW_FIELDS)
        order = ", ".join(
            f"{self._col(name.lstrip('-'))} {'DESC' if name.startswith('-') else 'ASC'}"
            for name in SORTS[self.sort]
        )
        photo = (
            f"(SELECT p.id FROM {self.photos} p WHERE p.vehicle_id = {self._col('id')} "  # noqa: S608 - quoted names
            "ORDER BY p.position, p.id LIMIT 1)"
        )
        sql = (
            f"SELECT {columns}, {photo} FROM {self.table} WHERE {where} "  # noqa: S608 - quoted names; values are parameters
            f"ORDER BY {order} LIMIT %s OFFSET %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, limit, offset])
            return cursor.fetchall()


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


@dataclass
class SearchResult:
    form: StockSearchForm
    page: ResultPage
    problems: list[str]
    sort: str


def stock_search(params: Any, reference: Reference | None = None) -> SearchResult:
    """Search the listed stock with the filters in `params` (a query dict). `reference`, the
    makes and models, is read here unless the caller has it already."""
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
    keyword = None
    if data.get("q"):
        keyword = Keyword.parse(data["q"], reference or Reference.load())
    query = SearchQuery(data, keyword, sort)
    requested = params.get("page", "1")
    try:
        number = int(requested)
    except (TypeError, ValueError):
        problems.append(str(_("Page: enter a whole number.")))
        number = 1
    if number < 1:
        problems.append(str(_("Page: there is no page before the first one.")))
        number = 1

    if number * per_page >= COUNT_CAP and number <= MAX_PAGE:
        # Deep in the results a count would cost as much as the page: one row past the page
        # tells whether more follow, and the page's own position gives the count.
        offset = (number - 1) * per_page
        rows = query.rows(offset, per_page + 1)
        if rows:
            more = len(rows) > per_page
            rows = rows[:per_page]
            count = number * per_page if more else offset + len(rows)
            page = ResultPage(rows, number, per_page, count, more)
            return SearchResult(form=form, page=page, problems=problems, sort=sort)
    # The cap grows with the page asked for, so every existing page stays reachable.
    cap = max(COUNT_CAP, min(number, MAX_PAGE) * per_page)
    count, more = query.count(cap)
    page = ResultPage([], number, per_page, count, more)
    if number > page.num_pages:
        if count:
            problems.append(
                str(_("Page %(asked)s does not exist; showing the last page, %(last)s."))
                % {"asked": number, "last": page.num_pages}
            )
        page.number = page.num_pages
    if count:
        page.rows = query.rows((page.number - 1) * per_page, per_page)
    return SearchResult(form=form, page=page, problems=problems, sort=sort)


# --- what the page shows, rendered in Python: this is the hot loop of the page ---------------


def _options(options: Iterable[tuple[str, str]], value: str) -> str:
    """<option>s from (value, escaped label) pairs, the visitor's choice selected."""
    return "".join(
        f'<option value="{escape(v)}"{" selected" if v == value else ""}>{label}</option>'
        for v, label in options
    )


# (name, escaped label, kind, escaped help text, options as (value, escaped label))
PanelField = tuple[str, str, str, str, tuple[tuple[str, str], ...]]


@functools.lru_cache(maxsize=16)
def _panel_fields(language: str | None) -> tuple[PanelField, ...]:
    """The filter panel's labels and fixed choices, translated once per language and process:
    they come from code, not from the database, so they change only with a deploy."""
    fields: list[PanelField] = []
    for name, field in StockSearchForm.base_fields.items():
        label, help_text = escape(str(field.label)), escape(str(field.help_text or ""))
        if name in ("make", "model"):  # reference data: filled in per request
            fields.append((name, label, "select", "", ()))
        elif isinstance(field, forms.ChoiceField):
            choices: list[tuple[Any, Any]] = list(field.choices)  # type: ignore[arg-type]
            options = tuple((str(v), escape(str(lbl))) for v, lbl in choices)
            fields.append((name, label, "select", "", options))
        elif isinstance(field, forms.IntegerField):
            fields.append((name, label, "number", "", ()))
        else:
            fields.append((name, label, "search", help_text, ()))
    return tuple(fields)


def filter_panel_html(form: StockSearchForm, reference: Reference) -> SafeString:
    """The filter panel's fields with the visitor's values (the form in search.html)."""
    data = form.data
    any_label = escape(gettext("Any"))
    makes = reference.make_names()
    out = []
    for name, label, kind, help_text, options in _panel_fields(get_language()):
        value = str(data.get(name, "") or "")
        if name == "make":
            options = (("", any_label), *((slug, escape(n)) for _pk, slug, n in reference.makes))
        elif name == "model":
            options = (
                ("", any_label),
                *(
                    (str(pk), escape(f"{makes.get(make_id, '')} {model_name}"))
                    for pk, make_id, model_name in reference.models
                ),
            )
        if kind == "select":
            control = f'<select name="{name}" id="f-{name}">{_options(options, value)}</select>'
        elif help_text:
            control = (
                f'<input type="{kind}" name="{name}" id="f-{name}" value="{escape(value)}" '
                f'aria-describedby="f-{name}-help">\n'
                f'        <span class="helptext" id="f-{name}-help">{help_text}</span>'
            )
        else:
            control = f'<input type="{kind}" name="{name}" id="f-{name}" value="{escape(value)}">'
        out.append(
            f'<div class="field field-{name}">\n'
            f'        <label for="f-{name}">{label}</label>\n'
            f"        {control}\n"
            "      </div>"
        )
    return mark_safe("\n      ".join(out))


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


@dataclass(frozen=True)
class _CardTexts:
    """What every card of a page says the same way, in one language."""

    fuels: dict[str, str]
    transmissions: dict[str, str]
    steerings: dict[str, str]
    no_photo: str
    reserved: str
    in_favourites: str
    add_favourite: str
    separator: str  # thousands separator; "" when the language does not group by threes


@functools.lru_cache(maxsize=16)
def _card_texts(language: str | None) -> _CardTexts:
    """Translated once per language and process, like the filter panel's labels: they come
    from code, so they change only with a deploy."""
    grouping = get_format("NUMBER_GROUPING")
    return _CardTexts(
        fuels={str(v): str(label) for v, label in Fuel.choices},
        transmissions={str(v): str(label) for v, label in Transmission.choices},
        steerings={str(v): str(label) for v, label in Steering.choices},
        no_photo=f'<span class="no-photo">{escape(gettext("No photo yet"))}</span>',
        reserved=f' <span class="badge">{escape(gettext("Reserved"))}</span>',
        in_favourites=f"★ {escape(gettext('In favourites'))}",
        add_favourite=f"☆ {escape(gettext('Add to favourites'))}",
        separator=str(get_format("THOUSAND_SEPARATOR")) if grouping == 3 else "",
    )


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

    texts = _card_texts(get_language())
    separator = texts.separator

    def grouped(n: int) -> str:
        # As number_format(n, force_grouping=True) in the active language, without its
        # settings look-ups on every call.
        if separator:
            return f"{n:,}".replace(",", separator)
        return str(number_format(n, force_grouping=True))

    vehicle_url = reverse("stock:vehicle", args=["__SN__"])
    favourite_url = reverse("stock:favourite", args=["__SN__"])
    thumb_url = reverse("stock:photo", args=[0, "thumb"]).replace("/0/", "/__PK__/")
    fuels, transmissions, steerings = texts.fuels, texts.transmissions, texts.steerings
    make_names, model_names = reference.make_names(), reference.model_names()
    no_photo, reserved = texts.no_photo, texts.reserved
    in_favourites, add_favourite = texts.in_favourites, texts.add_favourite
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
                fuels.get(fuel, str(fuel)),
                transmissions.get(transmission, str(transmission)),
                steerings.get(steering, str(steering)),
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
    return mark_safe("\n".join(out))

"""CSV import of auction lots: every row is checked with the lot form first, then all rows are
written in one transaction or none is. A dry run checks and previews without writing.

Auction houses publish their lists as spreadsheets; staff save one as CSV UTF-8 with the columns
below. Errors name the line as the spreadsheet shows it (the header is line 1) and the reason.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from exportdesk.accounts.models import User
from exportdesk.auctions.forms import LotForm
from exportdesk.auctions.models import AuctionLot
from exportdesk.auctions.selectors import JAPAN
from exportdesk.core.audit import audit_event_record
from exportdesk.stock.models import BodyType, Drive, Fuel, Steering, Transmission, VehicleMake

OPTIONAL_COLUMNS = ["grade", "sheet_notes"]
REQUIRED_COLUMNS = [
    "auction_house",
    "auction_date",
    "auction_time",
    "lot_number",
    "make",
    "model",
    "year",
    "body_type",
    "chassis_number",
    "engine_cc",
    "fuel",
    "transmission",
    "drive",
    "steering",
    "mileage_km",
    "colour",
    "seats",
    "doors",
    "length_mm",
    "width_mm",
    "height_mm",
    "weight_kg",
    "auction_grade",
    "start_price_jpy",
]
# What each column holds, for the import page.
COLUMN_NOTES = {
    "auction_date": "2025-06-12 (Japan date)",
    "auction_time": "13:30 (Japan time, 24-hour)",
    "make": "as in our stock tables, e.g. Toyota",
    "model": "a model of that make in our stock tables, e.g. Prius",
    "body_type": ", ".join(BodyType.values),
    "fuel": ", ".join(Fuel.values),
    "transmission": ", ".join(Transmission.values),
    "drive": ", ".join(Drive.values),
    "steering": ", ".join(Steering.values),
    "start_price_jpy": "whole yen; 1,200,000 or 1200000",
    "sheet_notes": "the sheet's translation; \\n starts a new line",
}
_CHOICES = {
    "body_type": BodyType,
    "fuel": Fuel,
    "transmission": Transmission,
    "drive": Drive,
    "steering": Steering,
}
_NUMBERS = [
    "year",
    "engine_cc",
    "mileage_km",
    "seats",
    "doors",
    "length_mm",
    "width_mm",
    "height_mm",
    "weight_kg",
    "start_price_jpy",
]
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{1,2}:\d{2}$")
MAX_ROWS = 5000


@dataclass
class LotImportReport:
    created: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    preview: list[AuctionLot] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ValueError(
            f"line {line} is not UTF-8 text: save the file as CSV UTF-8 and try again"
        ) from None


class _Makes:
    """Makes and models by name or slug, loaded once for the whole file."""

    def __init__(self) -> None:
        self.makes = {m.slug: m for m in VehicleMake.objects.prefetch_related("models")}

    def resolve(self, make_name: str, model_name: str) -> tuple[int, int]:
        make = self.makes.get(slugify(make_name))
        if make is None:
            raise ValueError(f"make: unknown make {make_name.strip()!r}")
        wanted = slugify(model_name)
        model = next((m for m in make.models.all() if m.slug == wanted), None)
        if model is None:
            raise ValueError(f"model: {make.name} has no model {model_name.strip()!r}")
        return make.pk, model.pk


def _code(column: str, raw: str) -> str:
    """A code given as code or label in any case ("AT", "Automatic" → "at")."""
    wanted = raw.strip().casefold()
    for value, label in _CHOICES[column].choices:
        if wanted in (str(value).casefold(), str(label).casefold()):
            return str(value)
    return raw.strip()


def _form_data(row: dict[str, str], makes: _Makes) -> dict[str, object]:
    """The lot form's input for one row; ValueError names a column it cannot read."""
    problems = []
    data: dict[str, object] = {name: (row.get(name) or "").strip() for name in row}
    if not _DATE.match(str(data["auction_date"])):
        problems.append(f"auction_date: {data['auction_date']!r} is not a date like 2025-06-12")
    if not _TIME.match(str(data["auction_time"])):
        problems.append(f"auction_time: {data['auction_time']!r} is not a time like 13:30")
    for name in _NUMBERS:
        data[name] = str(data[name]).replace(",", "")
    for name in _CHOICES:
        data[name] = _code(name, str(data[name]))
    data["sheet_notes"] = str(data.get("sheet_notes", "")).replace("\\n", "\n")
    try:
        data["make"], data["model"] = makes.resolve(str(row["make"]), str(row["model"]))
    except ValueError as error:
        problems.append(str(error))
    if problems:
        raise ValueError("; ".join(problems))
    return data


def _describe(form: LotForm) -> str:
    return "; ".join(
        f"{name if name != '__all__' else 'row'}: {' '.join(str(m) for m in messages)}"
        for name, messages in form.errors.items()
    )


def _header_errors(header: list[str]) -> str:
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    parts = []
    if missing:
        parts.append("missing columns: " + ", ".join(missing))
    if unknown:
        parts.append("unknown columns: " + ", ".join(unknown))
    return "; ".join(parts)


def _lot_key(lot: AuctionLot) -> tuple[str, date, str]:
    return (
        lot.auction_house.casefold(),
        lot.auction_at.astimezone(JAPAN).date(),
        lot.lot_number.casefold(),
    )


def _check_rows(rows: list[dict[str, str]], report: LotImportReport) -> list[AuctionLot]:
    makes = _Makes()
    seen: dict[tuple[str, date, str], int] = {}
    planned: list[AuctionLot] = []
    for index, row in enumerate(rows):
        line = index + 2  # the header is line 1
        if None in row or any(value is None for value in row.values()):
            report.errors.append((line, "the row does not have as many columns as the header"))
            continue
        try:
            data = _form_data(row, makes)
        except ValueError as error:
            report.errors.append((line, str(error)))
            continue
        form = LotForm(data=data)
        if not form.is_valid():
            report.errors.append((line, _describe(form)))
            continue
        lot = form.save(commit=False)
        key = _lot_key(lot)
        if key in seen:
            report.errors.append(
                (line, f"lot_number: lot {lot.lot_number} is already on line {seen[key]}")
            )
            continue
        seen[key] = line
        planned.append(lot)
    return planned


def lots_import_csv(*, data: bytes, actor: User, dry_run: bool = False) -> LotImportReport:
    """Check every row; unless `dry_run`, write them all in one transaction when none is wrong."""
    report = LotImportReport()
    try:
        reader = csv.DictReader(io.StringIO(_text(data), newline=""))
        header = [h.strip() for h in (reader.fieldnames or [])]
        if _header_errors(header):
            report.errors.append((1, _header_errors(header)))
            return report
        reader.fieldnames = header
        rows = list(reader)
    except (ValueError, csv.Error) as error:
        report.errors.append((0, str(error)))
        return report
    if not rows:
        report.errors.append((2, "the file has no lots below the header"))
    if len(rows) > MAX_ROWS:
        report.errors.append((1, f"the file has {len(rows)} lots; import at most {MAX_ROWS}"))
        return report
    planned = _check_rows(rows, report)
    if report.errors:
        report.errors.sort()
        return report
    report.preview = planned
    if dry_run:
        return report
    return _write(planned, actor, report)


def _write(planned: list[AuctionLot], actor: User, report: LotImportReport) -> LotImportReport:
    now = timezone.now()
    for lot in planned:
        lot.created_at, lot.created_by = now, actor
    try:
        with transaction.atomic():
            AuctionLot.objects.bulk_create(planned)
            audit_event_record(
                action="auction_lots.imported",
                actor=actor,
                object_type="auctions.auctionlot",
                details={"created": len(planned)},
            )
    except IntegrityError:
        # Another import or a colleague's form saved one of these lots since the check.
        report.errors.append((0, "some of these lots were listed meanwhile; check and try again"))
        report.preview = []
        return report
    report.created = len(planned)
    return report

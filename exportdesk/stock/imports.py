"""CSV import of vehicles: every row is validated first; all rows are written or none.

Re-importing a file updates the vehicles it names (keyed on stock number) instead of adding
duplicates. Errors name the line (as the spreadsheet shows it, header = line 1) and the reason.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from exportdesk.accounts.models import User
from exportdesk.core.audit import audit_event_record
from exportdesk.stock.forms import VehicleForm
from exportdesk.stock.models import Vehicle, VehicleMake, VehicleModel, normalise_colour

OPTIONAL_COLUMNS = ["yard_location", "features", "condition_notes"]
# The columns are the vehicle form's fields, so a new vehicle field reaches the import too; the
# first registration is one "2019-03" column instead of a year and a month.
REQUIRED_COLUMNS = [
    "first_registration" if name == "first_registration_year" else name
    for name in VehicleForm.Meta.fields
    if name not in OPTIONAL_COLUMNS and name != "first_registration_month"
]
_INTEGER_COLUMNS = [
    "manufacture_year",
    "engine_cc",
    "mileage_km",
    "seats",
    "doors",
    "length_mm",
    "width_mm",
    "height_mm",
    "weight_kg",
    "fob_price_jpy",
]
MAX_ROWS = 20_000


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ValidationError(
            f"Line {line}: the file is not UTF-8 text. Save it from your spreadsheet as "
            '"CSV UTF-8" and try again.'
        ) from None


def _row_to_vehicle(
    row: dict[str, str], makes: dict[str, VehicleMake], existing: Vehicle | None
) -> tuple[Vehicle, str | None]:
    """Build (not save) the vehicle for one row; returns a new model name to create, if any."""
    errors: dict[str, str] = {}
    make = makes.get(slugify(row["make"]))
    if make is None:
        errors["make"] = f"unknown make {row['make']!r}"
    values: dict[str, Any] = {}
    for column in _INTEGER_COLUMNS:
        raw = row[column].replace(",", "").strip()
        try:
            values[column] = int(raw)
        except ValueError:
            errors[column] = f"{raw!r} is not a whole number"
    year_month = row["first_registration"].strip()
    try:
        year, month = (int(part) for part in year_month.split("-"))
        values["first_registration_year"], values["first_registration_month"] = year, month
    except ValueError:
        errors["first_registration"] = f"{year_month!r} is not a year and month like 2019-03"
    if errors:
        raise ValidationError(errors)
    vehicle = existing or Vehicle(stock_number=row["stock_number"].strip())
    vehicle.grade = row["grade"].strip()
    # Codes are lower case; colours title case, as the search matches them exactly.
    for name in ("body_type", "fuel", "transmission", "drive", "steering"):
        setattr(vehicle, name, row[name].strip().lower())
    vehicle.colour = normalise_colour(row["colour"])
    vehicle.chassis_number = row["chassis_number"].strip().upper()
    for name, value in values.items():
        setattr(vehicle, name, value)
    for name in OPTIONAL_COLUMNS:
        if name in row and row[name] is not None:
            setattr(vehicle, name, row[name].replace("\\n", "\n").strip())
    assert make is not None
    vehicle.make = make
    model_name = row["model"].strip()
    model = next((m for m in make.models.all() if m.slug == slugify(model_name)), None)
    if model is not None:
        vehicle.model = model
        return vehicle, None
    return vehicle, model_name


def _describe(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(
            f"{name}: {' '.join(str(m) for m in messages)}"
            for name, messages in error.message_dict.items()
        )
    return " ".join(str(m) for m in error.messages)


def vehicles_import_csv(*, data: bytes, actor: User | None, dry_run: bool = False) -> ImportReport:
    report = ImportReport()
    try:
        text = _decode(data)
    except ValidationError as error:
        report.errors.append((0, " ".join(error.messages)))
        return report
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        parts = []
        if missing:
            parts.append("missing columns: " + ", ".join(missing))
        if unknown:
            parts.append("unknown columns: " + ", ".join(unknown))
        report.errors.append((1, "; ".join(parts)))
        return report
    reader.fieldnames = header
    makes = {m.slug: m for m in VehicleMake.objects.prefetch_related("models")}
    rows = list(reader)
    if len(rows) > MAX_ROWS:
        report.errors.append(
            (1, f"the file has {len(rows)} rows; import at most {MAX_ROWS} at a time")
        )
        return report
    numbers = [(row.get("stock_number") or "").strip() for row in rows]
    existing = {
        v.stock_number: v
        for v in Vehicle.objects.filter(stock_number__in=numbers).select_related("make", "model")
    }
    first_line: dict[str, int] = {}
    planned: list[tuple[Vehicle, str | None, bool]] = []
    live_chassis: dict[str, int] = {}
    for index, row in enumerate(rows):
        line = index + 2  # the header is line 1
        if None in row or any(value is None for value in row.values()):
            report.errors.append(
                (line, "the row does not have the same number of columns as the header")
            )
            continue
        number = numbers[index]
        if not number:
            report.errors.append((line, "stock_number is empty"))
            continue
        if number in first_line:
            report.errors.append(
                (line, f"stock number {number} is already on line {first_line[number]}")
            )
            continue
        first_line[number] = line
        try:
            vehicle, new_model = _row_to_vehicle(row, makes, existing.get(number))
            exclude = ["make", "model"] if new_model else ["make"]
            vehicle.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            report.errors.append((line, _describe(error)))
            continue
        if vehicle.chassis_number in live_chassis:
            report.errors.append(
                (
                    line,
                    f"chassis number {vehicle.chassis_number} is already on line {live_chassis[vehicle.chassis_number]}",
                )
            )
            continue
        live_chassis[vehicle.chassis_number] = line
        planned.append((vehicle, new_model, vehicle.pk is None))
    clash = _chassis_clashes(planned, first_line)
    report.errors.extend(clash)
    if report.errors or dry_run:
        report.errors.sort()
        report.created = sum(1 for _, _, new in planned if new) if not report.errors else 0
        report.updated = sum(1 for _, _, new in planned if not new) if not report.errors else 0
        return report
    with transaction.atomic():
        for vehicle, new_model, new in planned:
            if new_model:
                vehicle.model, _ = VehicleModel.objects.get_or_create(
                    make=vehicle.make, slug=slugify(new_model), defaults={"name": new_model}
                )
            vehicle.save()
            report.created += new
            report.updated += not new
        audit_event_record(
            action="vehicles.imported",
            actor=actor,
            object_type="stock.vehicle",
            details={"created": report.created, "updated": report.updated},
        )
    return report


def _chassis_clashes(
    planned: list[tuple[Vehicle, str | None, bool]], first_line: dict[str, int]
) -> list[tuple[int, str]]:
    """A chassis number may belong to only one live vehicle, across the file and the database."""
    wanted = {
        v.chassis_number: v for v, _, _ in planned if v.status in ("available", "reserved", "sold")
    }
    clashes = []
    for other in Vehicle.objects.filter(
        chassis_number__in=list(wanted), status__in=["available", "reserved", "sold"]
    ):
        mine = wanted[other.chassis_number]
        if other.stock_number != mine.stock_number:
            clashes.append(
                (
                    first_line[mine.stock_number],
                    f"chassis number {other.chassis_number} already belongs to vehicle {other.stock_number}",
                )
            )
    return clashes

"""Clocks shared by erasure and retention: periods, fiscal years, legal holds, field paths, and
the files rows leave behind."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.core.files.storage import default_storage
from django.db import models
from django.db.models import QuerySet
from django.utils import timezone

from exportdesk.core.personal_data import LegalHold

_PERIOD = re.compile(r"^(\d+)([dmy])$")


def before(moment: datetime, period: str) -> datetime:
    """`moment` minus a period such as "90d", "24m" or "3y" (calendar months and years; the
    29th-31st become the month's last day)."""
    match = _PERIOD.match(period)
    if match is None:
        raise ValueError(f"not a retention period: {period!r} (use 90d, 24m or 3y)")
    amount, unit = int(match[1]), match[2]
    if unit == "d":
        return moment - timedelta(days=amount)
    months = amount * (12 if unit == "y" else 1)
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, _days_in_month(year, month + 1))
    return moment.replace(year=year, month=month + 1, day=day)


def _days_in_month(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def fiscal_year_start(moment: datetime) -> datetime:
    """Midnight on the first day of the fiscal year `moment` falls in (local time)."""
    start_month = settings.FISCAL_YEAR_START_MONTH
    year = moment.year if moment.month >= start_month else moment.year - 1
    return moment.replace(
        year=year, month=start_month, day=1, hour=0, minute=0, second=0, microsecond=0
    )


def hold_cutoff(hold: LegalHold, now: datetime) -> datetime:
    """The earliest start date whose hold still runs at `now`. A record counted from the end of
    its fiscal year is kept until that end + N years, so everything in the fiscal year that
    contained "N years ago" is still held."""
    moment = before(timezone.localtime(now), f"{hold.years}y")
    return fiscal_year_start(moment) if hold.from_fiscal_year_end else moment


def hold_until(hold: LegalHold, started: date | datetime | None) -> date | None:
    """The last day a record that started on `started` is kept under `hold`."""
    if started is None:
        return None
    day = timezone.localtime(started).date() if isinstance(started, datetime) else started
    if hold.from_fiscal_year_end:
        start_month = settings.FISCAL_YEAR_START_MONTH
        end_year = day.year + (1 if day.month >= start_month else 0)
        day = date(end_year, start_month, 1) - timedelta(days=1)
    return _years_after(day, hold.years)


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def field_at(model: type[models.Model], path: str) -> Any:
    """The field a lookup path ("deposit__confirmed_at") ends at; FieldDoesNotExist otherwise."""
    current: Any = model
    target: Any = None
    for part in path.split("__"):
        if current is None:
            raise FieldDoesNotExist(f"{model.__name__} has no field {path!r}")
        target = current._meta.get_field(part)
        current = target.related_model
    return target


def stored_files(model: type[models.Model], rows: QuerySet[Any], names: Any) -> list[str]:
    """The storage names of the files these rows hold in the fields named."""
    file_fields = [
        f.name
        for f in model._meta.concrete_fields
        if isinstance(f, models.FileField) and f.name in names
    ]
    if not file_fields:
        return []
    return [value for values in rows.values_list(*file_fields) for value in values if value]


def stored_files_delete(names: list[str]) -> None:
    """Call on commit: a rolled-back erasure or purge must not lose the files."""
    for name in names:
        default_storage.delete(name)

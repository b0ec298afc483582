"""Vehicles, photos and price tables as the exporter has them, for the stock tests."""

from __future__ import annotations

import itertools
import re
from datetime import date
from decimal import Decimal
from io import BytesIO
from typing import Any

from django.utils import timezone
from PIL import Image

from exportdesk.stock.models import (
    ExchangeRate,
    FreightRate,
    Port,
    Vehicle,
    VehicleMake,
    VehicleModel,
)

_numbers = itertools.count(1)


def this_year() -> int:
    return timezone.localdate().year


def vehicle(*, make: str = "toyota", model: str = "prius", **fields: Any) -> Vehicle:
    """A saved vehicle, a two-year-old right-hand-drive Prius unless told otherwise; young enough
    for every destination with an age limit whatever today's date is."""
    n = next(_numbers)
    the_make = VehicleMake.objects.get(slug=make)
    the_model = VehicleModel.objects.get(make=the_make, slug=model)
    year = this_year() - 2
    values: dict[str, Any] = {
        "stock_number": f"TS{n:06d}",
        "make": the_make,
        "model": the_model,
        "grade": "S",
        "body_type": "hatchback",
        "first_registration_year": year,
        "first_registration_month": 6,
        "manufacture_year": year,
        "chassis_number": f"ZVW30-{n:07d}",
        "engine_cc": 1800,
        "fuel": "petrol",
        "transmission": "cvt",
        "drive": "2wd",
        "steering": "rhd",
        "mileage_km": 40_000,
        "colour": "Pearl White",
        "seats": 5,
        "doors": 5,
        "length_mm": 4480,
        "width_mm": 1745,
        "height_mm": 1490,
        "weight_kg": 1380,
        "fob_price_jpy": 1_000_000,
        "status": "available",
        "yard_location": "Yokohama Daikoku",
        "features": "Air conditioning\nNavigation",
    }
    values.update(fields)
    return Vehicle.objects.create(**values)


def mombasa() -> Port:
    return Port.objects.get(country="KE", code="KEMBA")


def vladivostok() -> Port:
    return Port.objects.get(country="RU", code="RUVVO")


def kingston() -> Port:
    return Port.objects.get(country="JM", code="JMKIN")


def roro_rate(port: Port, per_m3_jpy: int = 9500) -> FreightRate:
    return FreightRate.objects.create(
        port=port, method="roro", basis="per_m3", per_m3_jpy=per_m3_jpy
    )


def container_rate(port: Port) -> FreightRate:
    return FreightRate.objects.create(
        port=port,
        method="container",
        basis="size_class",
        small_jpy=90_000,
        medium_jpy=120_000,
        large_jpy=150_000,
        extra_large_jpy=190_000,
    )


def usd_rate(jpy_per_unit: str = "152.3000", rate_date: date | None = None) -> ExchangeRate:
    return ExchangeRate.objects.create(
        currency="USD",
        jpy_per_unit=Decimal(jpy_per_unit),
        rate_date=rate_date or timezone.localdate(),
        source="MUFG TTM",
    )


def jpeg_bytes(size: tuple[int, int] = (1200, 900), colour: str = "#2f5fa8") -> bytes:
    """A real photo-sized JPEG drawn in memory."""
    image = Image.new("RGB", size, colour)
    for x in range(0, size[0], 40):
        image.paste("#ffffff", (x, size[1] // 2, x + 20, size[1] // 2 + 20))
    out = BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def noisy_jpeg_bytes(size: tuple[int, int] = (1200, 1200)) -> bytes:
    """A JPEG that does not compress well: random pixels make it several megabytes."""
    import random

    rng = random.Random(7)
    image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    out = BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


_CARD = re.compile(r'<a href="/stock/([^/"]+)/" class="vehicle-link">')


def listed(response: Any) -> list[str]:
    """Stock numbers of the vehicle cards on a search page, in page order."""
    return _CARD.findall(response.content.decode())

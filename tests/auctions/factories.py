"""Auction lots as an auction house lists them, for the auction tests."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from exportdesk.auctions.models import AuctionLot
from exportdesk.stock.models import VehicleMake, VehicleModel
from tests.stock.factories import this_year

_numbers = itertools.count(1)


def lot(
    *, days_ahead: float = 3, make: str = "toyota", model: str = "prius", **fields: Any
) -> AuctionLot:
    """A saved upcoming lot: a two-year-old Prius at USS Tokyo in `days_ahead` days."""
    n = next(_numbers)
    the_make = VehicleMake.objects.get(slug=make)
    values: dict[str, Any] = {
        "auction_house": "USS Tokyo",
        "auction_at": timezone.now() + timedelta(days=days_ahead),
        "lot_number": f"{10000 + n}",
        "make": the_make,
        "model": VehicleModel.objects.get(make=the_make, slug=model),
        "year": this_year() - 2,
        "grade": "S",
        "body_type": "hatchback",
        "chassis_number": f"ZVW50-{n + 5000000:07d}",
        "engine_cc": 1800,
        "fuel": "hybrid",
        "transmission": "cvt",
        "drive": "2wd",
        "steering": "rhd",
        "mileage_km": 38_000,
        "colour": "Pearl White",
        "seats": 5,
        "doors": 5,
        "length_mm": 4540,
        "width_mm": 1760,
        "height_mm": 1470,
        "weight_kg": 1370,
        "auction_grade": "4.5",
        "sheet_notes": "Small scratch on the rear bumper (A1). Interior B.",
        "start_price_jpy": 800_000,
        "created_at": timezone.now(),
    }
    values.update(fields)
    return AuctionLot.objects.create(**values)


def at_japan(value: str) -> datetime:
    """'2030-06-12 13:30' in Japan time."""
    from exportdesk.auctions.selectors import JAPAN

    return datetime.fromisoformat(value).replace(tzinfo=JAPAN)

"""Realistic, deterministic stock for demos, tests and benchmarks (same seed, same cars)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction

from exportdesk.stock.models import Vehicle, VehicleModel


# Frame-number prefixes, engine sizes, body and dimensions (mm) of common export models.
@dataclass(frozen=True)
class Spec:
    frame: str
    engines: tuple[int, ...]
    body: str
    fuel: str
    dims: tuple[int, int, int]
    weight: int
    seats: int
    doors: int
    base_price: int


SPECS: dict[str, Spec] = {
    "prius": Spec(
        "ZVW30", (1800,), "hatchback", "hybrid", (4480, 1745, 1490), 1380, 5, 5, 1_400_000
    ),
    "aqua": Spec("NHP10", (1500,), "hatchback", "hybrid", (3995, 1695, 1455), 1090, 5, 5, 900_000),
    "corolla-fielder": Spec(
        "NZE161G", (1500, 1800), "wagon", "petrol", (4410, 1695, 1510), 1120, 5, 5, 950_000
    ),
    "corolla-axio": Spec(
        "NZE161", (1500,), "sedan", "petrol", (4400, 1695, 1460), 1100, 5, 4, 850_000
    ),
    "vitz": Spec(
        "KSP130", (1000, 1300), "hatchback", "petrol", (3885, 1695, 1500), 980, 5, 5, 550_000
    ),
    "probox": Spec("NCP160V", (1500,), "van", "petrol", (4245, 1690, 1525), 1100, 5, 5, 700_000),
    "hiace-van": Spec(
        "KDH201V", (2500, 3000), "van", "diesel", (4695, 1695, 1980), 1900, 6, 5, 2_200_000
    ),
    "land-cruiser-prado": Spec(
        "TRJ150W", (2700, 2800), "suv", "petrol", (4760, 1885, 1850), 2100, 7, 5, 3_800_000
    ),
    "rav4": Spec("ACA31W", (2400,), "suv", "petrol", (4570, 1855, 1685), 1500, 5, 5, 1_600_000),
    "harrier": Spec("ZSU60W", (2000,), "suv", "petrol", (4720, 1835, 1690), 1580, 5, 5, 2_300_000),
    "noah": Spec("ZRR70G", (2000,), "minivan", "petrol", (4595, 1695, 1850), 1550, 8, 5, 1_200_000),
    "hilux": Spec("GUN125", (2400,), "pickup", "diesel", (5335, 1855, 1800), 2080, 5, 4, 2_800_000),
    "note": Spec("E12", (1200,), "hatchback", "petrol", (4100, 1695, 1525), 1030, 5, 5, 600_000),
    "x-trail": Spec("NT32", (2000,), "suv", "petrol", (4640, 1820, 1715), 1500, 5, 5, 1_500_000),
    "serena": Spec("C26", (2000,), "minivan", "petrol", (4770, 1735, 1865), 1650, 8, 5, 1_100_000),
    "leaf": Spec("ZE1", (0,), "hatchback", "electric", (4480, 1790, 1540), 1490, 5, 5, 1_700_000),
    "caravan": Spec("VR2E26", (2500,), "van", "diesel", (4695, 1695, 1990), 1950, 6, 5, 2_000_000),
    "fit": Spec(
        "GP5", (1300, 1500), "hatchback", "hybrid", (3955, 1695, 1525), 1080, 5, 5, 800_000
    ),
    "vezel": Spec("RU3", (1500,), "suv", "hybrid", (4295, 1770, 1605), 1270, 5, 5, 1_500_000),
    "demio": Spec("DJ5FS", (1500,), "hatchback", "diesel", (4060, 1695, 1500), 1130, 5, 5, 700_000),
    "cx-5": Spec("KE2FW", (2200,), "suv", "diesel", (4540, 1840, 1705), 1610, 5, 5, 1_600_000),
    "forester": Spec("SJ5", (2000,), "suv", "petrol", (4595, 1795, 1695), 1480, 5, 5, 1_300_000),
    "outlander": Spec("GG2W", (2000,), "suv", "phev", (4655, 1800, 1680), 1810, 5, 5, 1_800_000),
    "swift": Spec("ZC72S", (1200,), "hatchback", "petrol", (3850, 1695, 1510), 960, 5, 5, 500_000),
    "elf": Spec("NKR85", (3000,), "truck", "diesel", (4690, 1695, 2250), 2600, 3, 2, 2_500_000),
    "canter": Spec("FBA20", (3000,), "truck", "diesel", (4690, 1695, 2200), 2500, 3, 2, 2_400_000),
    "coaster": Spec("XZB50", (4000,), "bus", "diesel", (6990, 2080, 2635), 4200, 29, 2, 4_500_000),
}
COLOURS = (
    "White",
    "Pearl White",
    "Black",
    "Silver",
    "Grey",
    "Blue",
    "Red",
    "Wine Red",
    "Beige",
    "Green",
)
GRADES = ("S", "G", "X", "L", "Touring", "4WD", "S Package", "Premium", "Standard", "Hybrid G")
BASE_TIME = datetime(2026, 10, 1, tzinfo=UTC)


def _models() -> list[VehicleModel]:
    models = list(
        VehicleModel.objects.select_related("make").filter(slug__in=SPECS).order_by("slug")
    )
    if not models:
        raise RuntimeError("no reference models: run migrations first")
    return models


def generate_vehicles(*, count: int, seed: int, start: int = 1) -> Iterator[Vehicle]:
    """Yield unsaved vehicles; stock numbers and chassis numbers are unique within the run."""
    rng = random.Random(seed)  # noqa: S311 - demo data must repeat exactly, not be secret
    models = _models()
    for n in range(start, start + count):
        model = rng.choice(models)
        spec = SPECS[model.slug]
        year = rng.choices(range(2008, 2026), weights=[1 + (y - 2008) for y in range(2008, 2026)])[
            0
        ]
        age = 2026 - year
        mileage = max(1000, int(rng.gauss(12_000 * max(age, 1), 8_000)))
        price = int(spec.base_price * (0.9**age) * (1.15 - min(mileage, 250_000) / 500_000))
        status = rng.choices(["available", "reserved", "sold", "withdrawn"], weights=[88, 6, 4, 2])[
            0
        ]
        fuel = spec.fuel
        yield Vehicle(
            stock_number=f"ED{n:07d}",
            make=model.make,
            model=model,
            grade=rng.choice(GRADES),
            body_type=spec.body,
            first_registration_year=year,
            first_registration_month=rng.randint(1, 12),
            manufacture_year=year if rng.random() < 0.8 else year - 1,
            chassis_number=f"{spec.frame}-{n:07d}",
            engine_cc=rng.choice(spec.engines),
            fuel=fuel,
            transmission=rng.choices(["at", "cvt", "mt"], weights=[60, 30, 10])[0],
            drive=rng.choices(["2wd", "4wd"], weights=[75, 25])[0],
            steering="rhd" if rng.random() < 0.97 else "lhd",
            mileage_km=mileage,
            colour=rng.choice(COLOURS),
            seats=spec.seats,
            doors=spec.doors,
            length_mm=spec.dims[0],
            width_mm=spec.dims[1],
            height_mm=spec.dims[2],
            weight_kg=spec.weight,
            fob_price_jpy=max(150_000, round(price, -3)),
            status=status,
            yard_location=rng.choice(
                ["Yokohama Daikoku", "Nagoya Tobishima", "Kobe Rokko", "Osaka Nanko"]
            ),
            features="Air conditioning\nPower steering\nABS"
            + ("\nNavigation" if rng.random() < 0.5 else ""),
            created_at=BASE_TIME - timedelta(minutes=rng.randint(0, 60 * 24 * 730)),
        )


def seed_stock(*, count: int, seed: int = 20261121, batch: int = 5000) -> int:
    """Add `count` generated vehicles after the highest existing ED stock number."""
    last = (
        Vehicle.objects.filter(stock_number__startswith="ED")
        .order_by("-stock_number")
        .values_list("stock_number", flat=True)
        .first()
    )
    start = int(last[2:]) + 1 if last and last[2:].isdigit() else 1
    created = 0
    pending: list[Vehicle] = []
    with transaction.atomic():
        for vehicle in generate_vehicles(count=count, seed=seed + start, start=start):
            pending.append(vehicle)
            if len(pending) >= batch:
                created += len(Vehicle.objects.bulk_create(pending))
                pending = []
        if pending:
            created += len(Vehicle.objects.bulk_create(pending))
    return created


DEMO_RATES = {"USD": "152.3000", "EUR": "163.9000", "GBP": "193.4000"}
# RoRo yen per m³ and container prices by size class, by UN/LOCODE of the port (illustrative).
DEMO_FREIGHT = {
    "KEMBA": 9500,
    "TZDAR": 9800,
    "JMKIN": 11500,
    "TTPOS": 11800,
    "GYGEO": 12500,
    "CLIQQ": 10500,
    "NZAKL": 8500,
    "FJSUV": 10000,
    "ZADUR": 9000,
    "NAWVB": 9500,
    "MZMPM": 9700,
    "RUVVO": 6000,
    "CNTXG": 7000,
}
DEMO_VEHICLES = 60


def _demo_photo(vehicle: Vehicle, angle: int) -> bytes:
    """A plain drawn picture standing in for a real photo (no image files in the repository)."""
    from io import BytesIO

    from PIL import Image, ImageDraw

    colours = {
        "White": "#f2f2f2",
        "Black": "#222",
        "Silver": "#b8bcc2",
        "Blue": "#2f5fa8",
        "Red": "#b3261e",
    }
    image = Image.new("RGB", (800, 600), "#cfd8e3")
    draw = ImageDraw.Draw(image)
    body = colours.get(vehicle.colour, "#8a8f99")
    draw.rectangle((0, 430, 800, 600), fill="#6b6f75")
    draw.rounded_rectangle(
        (120 + angle * 10, 250, 680 - angle * 10, 420),
        radius=40,
        fill=body,
        outline="#333",
        width=4,
    )
    draw.rounded_rectangle((220, 170, 560, 270), radius=30, fill=body, outline="#333", width=4)
    for x in (220, 580):
        draw.ellipse((x - 50, 380, x + 50, 480), fill="#1b1b1b")
    draw.text((30, 30), f"{vehicle.stock_number}  {vehicle.title}", fill="#1d2430")
    out = BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def seed_demo() -> list[str]:
    from datetime import date
    from decimal import Decimal

    from django.core.files.uploadedfile import SimpleUploadedFile

    from exportdesk.stock.models import ExchangeRate, FreightRate, Port
    from exportdesk.stock.services import photo_add

    lines = []
    today = date.today()
    for currency, rate in DEMO_RATES.items():
        ExchangeRate.objects.get_or_create(
            currency=currency,
            rate_date=today,
            defaults={"jpy_per_unit": Decimal(rate), "source": "demo rate"},
        )
    for port in Port.objects.all():
        per_m3 = DEMO_FREIGHT.get(port.code)
        if per_m3 is None:
            continue
        FreightRate.objects.get_or_create(
            port=port, method="roro", defaults={"basis": "per_m3", "per_m3_jpy": per_m3}
        )
        FreightRate.objects.get_or_create(
            port=port,
            method="container",
            defaults={
                "basis": "size_class",
                "small_jpy": per_m3 * 9,
                "medium_jpy": per_m3 * 12,
                "large_jpy": per_m3 * 15,
                "extra_large_jpy": per_m3 * 19,
            },
        )
    if not Vehicle.objects.exists():
        seed_stock(count=DEMO_VEHICLES)
        for vehicle in Vehicle.objects.select_related("make", "model").order_by("stock_number")[
            :DEMO_VEHICLES
        ]:
            for angle in range(2):
                upload = SimpleUploadedFile(
                    f"{vehicle.stock_number}-{angle}.jpg", _demo_photo(vehicle, angle), "image/jpeg"
                )
                photo_add(vehicle=vehicle, upload=upload, actor=None)
        lines.append(
            f"Added {DEMO_VEHICLES} demo vehicles with photos, freight rates and exchange rates."
        )
    return lines

"""Vehicles in stock, their photos, and the reference data that prices them to a port."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField


class VehicleMake(models.Model):
    name = models.CharField(max_length=60, unique=True)
    slug = models.SlugField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class VehicleModel(models.Model):
    make = models.ForeignKey(VehicleMake, on_delete=models.PROTECT, related_name="models")
    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=80)

    class Meta:
        ordering = ["make__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["make", "slug"], name="one_model_slug_per_make")
        ]

    def __str__(self) -> str:
        return f"{self.make.name} {self.name}"


class BodyType(models.TextChoices):
    SEDAN = "sedan", _("Sedan")
    HATCHBACK = "hatchback", _("Hatchback")
    WAGON = "wagon", _("Wagon")
    SUV = "suv", _("SUV")
    MINIVAN = "minivan", _("Minivan")
    VAN = "van", _("Van")
    PICKUP = "pickup", _("Pick-up")
    TRUCK = "truck", _("Truck")
    BUS = "bus", _("Bus")
    COUPE = "coupe", _("Coupé")
    CONVERTIBLE = "convertible", _("Convertible")
    KEI = "kei", _("Kei car")


class Fuel(models.TextChoices):
    PETROL = "petrol", _("Petrol")
    DIESEL = "diesel", _("Diesel")
    HYBRID = "hybrid", _("Hybrid")
    PLUGIN_HYBRID = "phev", _("Plug-in hybrid")
    ELECTRIC = "electric", _("Electric")
    LPG = "lpg", _("LPG")


class Transmission(models.TextChoices):
    AUTOMATIC = "at", _("Automatic")
    MANUAL = "mt", _("Manual")
    CVT = "cvt", _("CVT")


class Drive(models.TextChoices):
    TWO_WD = "2wd", _("2WD")
    FOUR_WD = "4wd", _("4WD")


# Body types that count as passenger cars (HS 8703) for rules that name them.
PASSENGER_BODY_TYPES = frozenset(
    {"sedan", "hatchback", "wagon", "suv", "minivan", "coupe", "convertible", "kei"}
)


class Steering(models.TextChoices):
    RIGHT = "rhd", _("Right-hand drive")
    LEFT = "lhd", _("Left-hand drive")


class VehicleStatus(models.TextChoices):
    AVAILABLE = "available", _("Available")
    RESERVED = "reserved", _("Reserved")
    SOLD = "sold", _("Sold")
    SHIPPED = "shipped", _("Shipped")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# Which status may follow which; anything else is refused by Vehicle.change_status.
STATUS_TRANSITIONS: dict[str, set[str]] = {
    VehicleStatus.AVAILABLE: {VehicleStatus.RESERVED, VehicleStatus.SOLD, VehicleStatus.WITHDRAWN},
    VehicleStatus.RESERVED: {VehicleStatus.AVAILABLE, VehicleStatus.SOLD, VehicleStatus.WITHDRAWN},
    VehicleStatus.SOLD: {VehicleStatus.SHIPPED, VehicleStatus.AVAILABLE},
    VehicleStatus.SHIPPED: set(),
    VehicleStatus.WITHDRAWN: {VehicleStatus.AVAILABLE},
}
PUBLIC_STATUSES = (VehicleStatus.AVAILABLE, VehicleStatus.RESERVED)

LIVE_STATUSES = (VehicleStatus.AVAILABLE, VehicleStatus.RESERVED, VehicleStatus.SOLD)

# Japanese frame numbers ("ZVW30-1234567") or 17-character VINs (no I, O or Q).
_FRAME_NUMBER = re.compile(r"^[A-Z0-9]{2,8}-[0-9]{5,8}$")
_VIN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")


def validate_chassis_number(value: str) -> None:
    if not (_FRAME_NUMBER.match(value) or _VIN.match(value)):
        raise ValidationError(
            _(
                "Enter a Japanese frame number such as ZVW30-1234567 or a 17-character VIN "
                "(capital letters and digits, no I, O or Q)."
            ),
            code="chassis",
        )


class InvalidTransition(Exception):
    pass


# The columns the public search sorts by (see the number-search indexes in Vehicle.Meta).
_SORT_KEYS = ["created_at", "fob_price_jpy", "first_registration_year", "mileage_km"]


class Vehicle(models.Model):
    stock_number = models.CharField(_("stock number"), max_length=20, unique=True)
    make = models.ForeignKey(VehicleMake, on_delete=models.PROTECT, related_name="+")
    model = models.ForeignKey(VehicleModel, on_delete=models.PROTECT, related_name="vehicles")
    grade = models.CharField(_("grade"), max_length=80, blank=True)
    body_type = models.CharField(_("body type"), max_length=20, choices=BodyType.choices)
    first_registration_year = models.PositiveSmallIntegerField(
        _("first registration year"),
        validators=[MinValueValidator(1950), MaxValueValidator(2100)],
    )
    first_registration_month = models.PositiveSmallIntegerField(
        _("first registration month"), validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    manufacture_year = models.PositiveSmallIntegerField(
        _("manufacture year"), validators=[MinValueValidator(1950), MaxValueValidator(2100)]
    )
    chassis_number = models.CharField(
        _("chassis number"), max_length=20, validators=[validate_chassis_number]
    )
    engine_cc = models.PositiveIntegerField(
        _("engine (cc)"), validators=[MaxValueValidator(30000)], help_text="0 for electric"
    )
    fuel = models.CharField(_("fuel"), max_length=10, choices=Fuel.choices)
    transmission = models.CharField(_("transmission"), max_length=5, choices=Transmission.choices)
    drive = models.CharField(_("drive"), max_length=5, choices=Drive.choices)
    steering = models.CharField(_("steering"), max_length=5, choices=Steering.choices)
    mileage_km = models.PositiveIntegerField(
        _("mileage (km)"), validators=[MaxValueValidator(2_000_000)]
    )
    colour = models.CharField(_("colour"), max_length=40)
    seats = models.PositiveSmallIntegerField(_("seats"), validators=[MaxValueValidator(80)])
    doors = models.PositiveSmallIntegerField(_("doors"), validators=[MaxValueValidator(6)])
    length_mm = models.PositiveIntegerField(_("length (mm)"), validators=[MaxValueValidator(20000)])
    width_mm = models.PositiveIntegerField(_("width (mm)"), validators=[MaxValueValidator(3000)])
    height_mm = models.PositiveIntegerField(_("height (mm)"), validators=[MaxValueValidator(5000)])
    weight_kg = models.PositiveIntegerField(_("weight (kg)"), validators=[MaxValueValidator(40000)])
    condition_notes = models.TextField(_("condition notes"), blank=True)
    features = models.TextField(_("features"), blank=True, help_text="One per line")
    fob_price_jpy = models.PositiveIntegerField(
        _("FOB price (JPY)"), validators=[MaxValueValidator(1_000_000_000)]
    )
    status = models.CharField(
        _("status"), max_length=12, choices=VehicleStatus.choices, default=VehicleStatus.AVAILABLE
    )
    yard_location = models.CharField(_("yard location"), max_length=80, blank=True)
    # 1 when shown to the public (available or reserved), else 0; computed by the database from
    # status. An integer, not a boolean, so filters compare with "= 1", which indexes can seek.
    listed = models.GeneratedField(
        expression=models.Case(
            models.When(status__in=["available", "reserved"], then=models.Value(1)),
            default=models.Value(0),
        ),
        output_field=models.PositiveSmallIntegerField(),
        db_persist=True,
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["chassis_number"],
                condition=models.Q(status__in=["available", "reserved", "sold"]),
                name="chassis_unique_among_live_stock",
                violation_error_message=_(
                    "Another vehicle in stock already has this chassis number."
                ),
            )
        ]
        # The public search filters on `listed` (a stored generated column: an equality the
        # planner can use with bound parameters, unlike a partial index on status IN (...)).
        # Each sort has an index that reads in order (no sort step; deep pages skip index
        # entries only), and the selective filters get a narrow index of their own.
        indexes = [
            models.Index(fields=["listed", "-created_at", "-id"], name="pub_newest"),
            models.Index(fields=["listed", "fob_price_jpy", "id"], name="pub_price"),
            models.Index(fields=["listed", "first_registration_year", "id"], name="pub_year"),
            models.Index(fields=["listed", "mileage_km", "id"], name="pub_mileage"),
            models.Index(fields=["listed", "make", "-created_at", "-id"], name="pub_make_newest"),
            models.Index(fields=["listed", "make", "fob_price_jpy", "id"], name="pub_make_price"),
            models.Index(fields=["listed", "model", "-created_at", "-id"], name="pub_model"),
            models.Index(fields=["listed", "body_type", "drive"], name="pub_body"),
            models.Index(fields=["listed", "fuel", "transmission"], name="pub_fuel"),
            models.Index(fields=["listed", "steering"], name="pub_steering"),
            models.Index(fields=["listed", "colour", "seats"], name="pub_colour"),
            models.Index(fields=["chassis_number"], name="stock_chassis"),
            # Counting reads index entries only, never table rows, when the index holds every
            # filtered column: make with year and budget, fuel with engine size, grade.
            models.Index(
                fields=["listed", "make", "first_registration_year", "fob_price_jpy"],
                name="pub_make_year",
            ),
            models.Index(fields=["listed", "fuel", "engine_cc"], name="pub_fuel_cc"),
            models.Index(fields=["listed", "grade"], name="pub_grade"),
            # Stock and chassis number prefixes ("ZVW30" is every Prius) carry the sort keys,
            # so thousands of matches are counted and sorted in the index and only the page's
            # rows are read from the table.
            models.Index(fields=["listed", "stock_number", *_SORT_KEYS], name="pub_stock_number"),
            models.Index(fields=["listed", "chassis_number", *_SORT_KEYS], name="pub_chassis"),
        ]

    def __str__(self) -> str:
        return f"{self.stock_number} {self.title}"

    @property
    def title(self) -> str:
        return f"{self.first_registration_year} {self.make.name} {self.model.name} {self.grade}".strip()

    @property
    def first_registration(self) -> date:
        return date(self.first_registration_year, self.first_registration_month, 1)

    @property
    def volume_m3(self) -> Decimal:
        """Freight volume: length by width by height, in cubic metres to two decimals."""
        cubic_mm = Decimal(self.length_mm) * self.width_mm * self.height_mm
        return (cubic_mm / Decimal(1_000_000_000)).quantize(Decimal("0.01"))

    @property
    def feature_list(self) -> list[str]:
        return [line.strip() for line in self.features.splitlines() if line.strip()]

    @property
    def is_public(self) -> bool:
        return self.status in PUBLIC_STATUSES

    def change_status(self, new_status: str) -> None:
        if new_status not in STATUS_TRANSITIONS.get(self.status, set()):
            raise InvalidTransition(
                _("A vehicle that is %(old)s cannot become %(new)s.")
                % {
                    "old": VehicleStatus(self.status).label,
                    "new": VehicleStatus(new_status).label,
                }
            )
        self.status = new_status


def normalise_colour(raw: str) -> str:
    """ "pearl  white" and "Pearl White" are one colour: stored in title case."""
    return " ".join(raw.split()).title()


def live_vehicle_with_chassis(chassis: str, *, exclude_pk: int | None = None) -> Vehicle | None:
    """The vehicle in live stock (available, reserved, sold) that has this chassis number."""
    found = Vehicle.objects.filter(chassis_number=chassis, status__in=LIVE_STATUSES)
    if exclude_pk is not None:
        found = found.exclude(pk=exclude_pk)
    return found.first()


def photo_path(instance: VehiclePhoto, filename: str) -> str:
    return f"stock/{instance.vehicle_id}/{filename}"


class VehiclePhoto(models.Model):
    vehicle = models.ForeignKey(Vehicle, on_delete=models.CASCADE, related_name="photos")
    position = models.PositiveSmallIntegerField(default=0)
    image = models.ImageField(upload_to=photo_path)
    thumbnail = models.ImageField(upload_to=photo_path, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    caption = models.CharField(max_length=120, blank=True)
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["vehicle", "position", "id"]
        # A car's first photo is one seek (search cards, the vehicle page's gallery order).
        indexes = [models.Index(fields=["vehicle", "position", "id"], name="photo_order")]

    def __str__(self) -> str:
        return f"Photo {self.position} of {self.vehicle_id}"


class Port(models.Model):
    """A port of discharge for a destination country. Landlocked countries get their transit
    ports (Uganda: Mombasa, Dar es Salaam), so one real port may serve several countries."""

    country = CountryField(help_text="The destination country this port serves")
    name = models.CharField(max_length=80)
    code = models.CharField(max_length=5, help_text="UN/LOCODE of the port, e.g. KEMBA")

    class Meta:
        ordering = ["country", "name"]
        constraints = [
            models.UniqueConstraint(fields=["country", "code"], name="one_port_per_country")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.country.name})"


class ShippingMethod(models.TextChoices):
    RORO = "roro", _("RoRo")
    CONTAINER = "container", _("Container")


class FreightRate(models.Model):
    """Ocean freight from Japan to one port by one method, priced by volume or size class."""

    class Basis(models.TextChoices):
        PER_M3 = "per_m3", _("Per cubic metre")
        SIZE_CLASS = "size_class", _("By size class")

    port = models.ForeignKey(Port, on_delete=models.CASCADE, related_name="freight_rates")
    method = models.CharField(max_length=10, choices=ShippingMethod.choices)
    basis = models.CharField(max_length=12, choices=Basis.choices, default=Basis.PER_M3)
    per_m3_jpy = models.PositiveIntegerField(null=True, blank=True)
    # Size classes by volume: small < 8 m³ ≤ medium < 12 m³ ≤ large < 16 m³ ≤ extra large.
    small_jpy = models.PositiveIntegerField(null=True, blank=True)
    medium_jpy = models.PositiveIntegerField(null=True, blank=True)
    large_jpy = models.PositiveIntegerField(null=True, blank=True)
    extra_large_jpy = models.PositiveIntegerField(null=True, blank=True)
    valid_from = models.DateField(default=date.today)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["port", "method"], name="one_freight_rate_per_method"),
            models.CheckConstraint(
                condition=(
                    models.Q(basis="per_m3", per_m3_jpy__isnull=False)
                    | models.Q(
                        basis="size_class",
                        small_jpy__isnull=False,
                        medium_jpy__isnull=False,
                        large_jpy__isnull=False,
                        extra_large_jpy__isnull=False,
                    )
                ),
                name="freight_rate_has_its_prices",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} to {self.port}"

    def price_for(self, volume_m3: Decimal) -> int:
        if self.basis == self.Basis.PER_M3:
            assert self.per_m3_jpy is not None
            return int((volume_m3 * self.per_m3_jpy).to_integral_value())
        thresholds = [
            (Decimal(8), self.small_jpy),
            (Decimal(12), self.medium_jpy),
            (Decimal(16), self.large_jpy),
        ]
        for limit, price in thresholds:
            if volume_m3 < limit:
                assert price is not None
                return price
        assert self.extra_large_jpy is not None
        return self.extra_large_jpy


class PricingSettings(models.Model):
    """Exporter-wide pricing knobs; one row."""

    insurance_rate = models.DecimalField(
        max_digits=6,
        decimal_places=5,
        default=Decimal("0.01500"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal("0.2"))],
        help_text="Marine insurance as a fraction of the C&F amount, e.g. 0.015 for 1.5 %",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "Pricing settings"

    @classmethod
    def current(cls) -> PricingSettings:
        settings_row, _ = cls.objects.get_or_create(pk=1)
        return settings_row


class ExchangeRate(models.Model):
    """How many yen one unit of a display currency costs, as of a date (staff-maintained)."""

    currency = models.CharField(max_length=3, help_text="ISO 4217 code, e.g. USD")
    jpy_per_unit = models.DecimalField(
        max_digits=12, decimal_places=4, validators=[MinValueValidator(Decimal("0.0001"))]
    )
    rate_date = models.DateField()
    source = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["currency", "-rate_date"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "rate_date"], name="one_rate_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.currency} = {self.jpy_per_unit} JPY on {self.rate_date}"


class DestinationRule(models.Model):
    """One import or export rule for a destination country; staff keep these current."""

    class Kind(models.TextChoices):
        AGE_LIMIT = "age_limit", _("Import age limit")
        STEERING = "steering", _("Steering side allowed")
        INSPECTION = "inspection", _("Pre-shipment inspection required")
        EXPORT_BAN_CC = "export_ban_cc", _("Export ban: engine above a size")
        EXPORT_BAN_FUEL = "export_ban_fuel", _("Export ban: fuel types")
        EXPORT_BAN_PRICE = "export_ban_price", _("Export ban: price above a limit")

    class AgeBasis(models.TextChoices):
        FIRST_REGISTRATION = "first_registration", _("first registration")
        MANUFACTURE = "manufacture", _("manufacture")

    country = CountryField(db_index=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    max_age_years = models.PositiveSmallIntegerField(null=True, blank=True)
    age_basis = models.CharField(max_length=20, choices=AgeBasis.choices, blank=True)
    steering_allowed = models.CharField(max_length=5, choices=Steering.choices, blank=True)
    inspection_agency = models.CharField(max_length=80, blank=True)
    inspection_fee_jpy = models.PositiveIntegerField(null=True, blank=True)
    engine_cc_above = models.PositiveIntegerField(null=True, blank=True)
    # Bans such as Japan's on exports to Russia name passenger cars; vans, trucks and buses differ.
    passenger_cars_only = models.BooleanField(default=False)
    banned_fuels = models.CharField(
        max_length=80, blank=True, help_text="Comma-separated fuel codes, e.g. hybrid,phev,electric"
    )
    price_jpy_above = models.PositiveIntegerField(null=True, blank=True)
    source = models.CharField(max_length=300, help_text="Where the rule comes from (law, URL)")
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["country", "kind", "-effective_from"]

    def __str__(self) -> str:
        return f"{self.country.code} {self.get_kind_display()}"

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def clean(self) -> None:
        # An empty or unknown kind is already a field error; only check what a known kind needs.
        required: list[str] = {
            self.Kind.AGE_LIMIT: ["max_age_years", "age_basis"],
            self.Kind.STEERING: ["steering_allowed"],
            self.Kind.INSPECTION: ["inspection_agency", "inspection_fee_jpy"],
            self.Kind.EXPORT_BAN_CC: ["engine_cc_above"],
            self.Kind.EXPORT_BAN_FUEL: ["banned_fuels"],
            self.Kind.EXPORT_BAN_PRICE: ["price_jpy_above"],
        }.get(self.Kind(self.kind) if self.kind in self.Kind.values else None, [])  # type: ignore[arg-type]
        missing = {
            f: _("Required for this kind of rule.")
            for f in required
            if getattr(self, f) in (None, "")
        }
        if missing:
            raise ValidationError(missing)
        unknown = set(self.fuel_codes) - set(Fuel.values)
        if unknown:
            raise ValidationError(
                {"banned_fuels": _("Unknown fuel codes: %s") % ", ".join(sorted(unknown))}
            )
        if self.effective_to and self.effective_from and self.effective_to < self.effective_from:
            raise ValidationError({"effective_to": _("Must not be before the start date.")})

    @property
    def fuel_codes(self) -> list[str]:
        return [code.strip() for code in self.banned_fuels.split(",") if code.strip()]


class Favourite(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourites"
    )
    vehicle = models.ForeignKey(Vehicle, on_delete=models.CASCADE, related_name="+")
    # What the car cost and was when saved, so the list can show what changed since.
    price_when_added_jpy = models.PositiveIntegerField()
    status_when_added = models.CharField(max_length=12, choices=VehicleStatus.choices)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-added_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "vehicle"], name="one_favourite_per_vehicle")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} ♥ {self.vehicle_id}"


class CustomerDestination(models.Model):
    """The destination a signed-in customer last chose, remembered in their profile."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="destination"
    )
    port = models.ForeignKey(Port, on_delete=models.CASCADE, related_name="+")
    method = models.CharField(
        max_length=10, choices=ShippingMethod.choices, default=ShippingMethod.RORO
    )
    currency = models.CharField(max_length=3, default="USD")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id} → {self.port_id}"

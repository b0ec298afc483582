"""Auction lots, customers' bid requests, and their results.

A customer asks us to bid on a lot up to a maximum; the request holds part of a confirmed deposit
(the payments app's DepositHold) until the result is known. Staff bid in the auction hall, then
record the result: a won lot becomes a vehicle and an order, a lost one releases the hold.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from exportdesk.stock.models import (
    BodyType,
    Drive,
    Fuel,
    Port,
    Steering,
    Transmission,
    Vehicle,
    VehicleMake,
    VehicleModel,
)


class AuctionSettings(models.Model):
    """One row: how much of a deposit a bid request holds. Edited by sales managers."""

    hold_percent = models.DecimalField(
        _("deposit held per bid (percent of the maximum bid)"),
        max_digits=5,
        decimal_places=2,
        default=10,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    minimum_hold_jpy = models.PositiveIntegerField(
        _("smallest hold per bid (JPY)"), default=100_000
    )
    request_cutoff_minutes = models.PositiveIntegerField(
        _("bid requests close this many minutes before the auction"), default=60
    )

    def __str__(self) -> str:
        return "Auction settings"


class AuctionLot(models.Model):
    class Status(models.TextChoices):
        UPCOMING = "upcoming", _("Upcoming")
        CLOSED = "closed", _("Auction held")
        WITHDRAWN = "withdrawn", _("Withdrawn from the auction")

    auction_house = models.CharField(_("auction house"), max_length=80)
    # Stored in UTC like every time; entered and shown in Japan time (and the customer's zone).
    auction_at = models.DateTimeField(_("auction date and time"), db_index=True)
    lot_number = models.CharField(_("lot number"), max_length=20)
    make = models.ForeignKey(VehicleMake, on_delete=models.PROTECT, related_name="+")
    model = models.ForeignKey(VehicleModel, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    grade = models.CharField(_("grade"), max_length=80, blank=True)
    body_type = models.CharField(_("body type"), max_length=20, choices=BodyType.choices)
    chassis_number = models.CharField(_("chassis/frame number"), max_length=30)
    engine_cc = models.PositiveIntegerField(_("engine (cc)"))
    fuel = models.CharField(_("fuel"), max_length=10, choices=Fuel.choices)
    transmission = models.CharField(_("transmission"), max_length=5, choices=Transmission.choices)
    drive = models.CharField(_("drive"), max_length=5, choices=Drive.choices)
    steering = models.CharField(_("steering"), max_length=5, choices=Steering.choices)
    mileage_km = models.PositiveIntegerField(_("mileage (km)"))
    colour = models.CharField(_("colour"), max_length=40)
    seats = models.PositiveSmallIntegerField(_("seats"), default=5)
    doors = models.PositiveSmallIntegerField(_("doors"), default=4)
    length_mm = models.PositiveIntegerField(_("length (mm)"))
    width_mm = models.PositiveIntegerField(_("width (mm)"))
    height_mm = models.PositiveIntegerField(_("height (mm)"))
    weight_kg = models.PositiveIntegerField(_("weight (kg)"))
    auction_grade = models.CharField(_("auction grade"), max_length=8, help_text="e.g. 4.5, R")
    sheet_image = models.ImageField(_("auction sheet"), upload_to="auctions/sheets/", blank=True)
    sheet_notes = models.TextField(_("auction sheet, translated"), blank=True)
    start_price_jpy = models.PositiveIntegerField(_("start price (JPY)"))
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.UPCOMING, db_index=True
    )
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["auction_at", "auction_house", "lot_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["auction_house", "auction_at", "lot_number"], name="one_lot_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.auction_house} lot {self.lot_number}"


class BidRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PROCESSED = "processed", _("Being bid: locked")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")
        WITHDRAWN = "withdrawn", pgettext_lazy("bid request", "Withdrawn")

    lot = models.ForeignKey(AuctionLot, on_delete=models.PROTECT, related_name="bid_requests")
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bid_requests"
    )
    max_bid_jpy = models.PositiveIntegerField(_("maximum bid (JPY)"))
    note = models.TextField(_("note"), blank=True, max_length=1000)
    # Where the car should go, for the proforma once won (optional: FOB without it).
    port = models.ForeignKey(
        Port, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    # The deposit hold (payments.DepositHold) this request places; auctions sits above payments.
    hold = models.OneToOneField(
        "payments.DepositHold",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bid_request",
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    processed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    hammer_price_jpy = models.PositiveIntegerField(_("hammer price (JPY)"), null=True, blank=True)
    auction_fee_jpy = models.PositiveIntegerField(_("auction fee (JPY)"), null=True, blank=True)
    recycle_fee_jpy = models.PositiveIntegerField(_("recycle fee (JPY)"), null=True, blank=True)
    tax_jpy = models.PositiveIntegerField(_("consumption tax (JPY)"), null=True, blank=True)
    result_at = models.DateTimeField(null=True, blank=True)
    result_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    vehicle = models.OneToOneField(
        Vehicle, null=True, blank=True, on_delete=models.PROTECT, related_name="bid_request"
    )
    order = models.OneToOneField(
        "sales.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="bid_request"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One live request per customer and lot; a withdrawn one may be asked again.
            models.UniqueConstraint(
                fields=["lot", "customer"],
                condition=~models.Q(status="withdrawn"),
                name="one_live_bid_per_lot",
            )
        ]

    def __str__(self) -> str:
        return f"Bid on {self.lot_id} by {self.customer_id}"

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.PENDING

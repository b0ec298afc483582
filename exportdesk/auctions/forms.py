"""Forms of auctions: the lot (also each CSV row), the customers' lot search and bid request,
and the staff's results and settings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from exportdesk.accounts.models import User
from exportdesk.auctions.models import AuctionLot, AuctionSettings
from exportdesk.auctions.selectors import (
    JAPAN,
    LotFilters,
    auction_houses,
    bidding_deposits,
    japan_datetime,
    japan_day_bounds,
    japan_today,
)
from exportdesk.auctions.services import MAX_BID_JPY, NOTE_MAX
from exportdesk.core.forms import NoLabelSuffix
from exportdesk.core.money import money_format
from exportdesk.stock.models import (
    Port,
    VehicleMake,
    VehicleModel,
    normalise_colour,
    validate_chassis_number,
)

# The same limits as a stock vehicle's, so a won lot always makes a valid vehicle.
RANGES: dict[str, tuple[int, int]] = {
    "engine_cc": (0, 30_000),
    "mileage_km": (0, 2_000_000),
    "seats": (1, 80),
    "doors": (0, 6),
    "length_mm": (1000, 20_000),
    "width_mm": (500, 3000),
    "height_mm": (500, 5000),
    "weight_kg": (100, 40_000),
    "start_price_jpy": (1, MAX_BID_JPY),
}
OLDEST_YEAR = 1950

LOT_FIELDS = [
    "auction_house",
    "lot_number",
    "make",
    "model",
    "year",
    "grade",
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
    "sheet_notes",
]


class LotForm(NoLabelSuffix, forms.ModelForm):
    """A lot as staff enter it: the auction's date and time in Japan time, stored in UTC."""

    auction_date = forms.DateField(
        label=_("Auction date (Japan)"), widget=forms.DateInput(attrs={"type": "date"})
    )
    auction_time = forms.TimeField(
        label=_("Auction time (Japan)"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    sheet = forms.FileField(
        label=_("Auction sheet image (JPEG, PNG or WebP, up to 15 MB)"), required=False
    )

    class Meta:
        model = AuctionLot
        fields = LOT_FIELDS
        widgets = {"sheet_notes": forms.Textarea(attrs={"rows": 5})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["model"].queryset = VehicleModel.objects.select_related("make")  # type: ignore[attr-defined]
        for name, (low, high) in RANGES.items():
            self._limit(name, low, high)
        self._limit("year", OLDEST_YEAR, japan_today().year + 1)
        if self.instance.pk and not self.is_bound:
            local = self.instance.auction_at.astimezone(JAPAN)
            self.initial["auction_date"] = local.date()
            self.initial["auction_time"] = local.time().replace(second=0, microsecond=0)

    def _limit(self, name: str, low: int, high: int) -> None:
        field = self.fields[name]
        field.validators += [MinValueValidator(low), MaxValueValidator(high)]
        field.widget.attrs.update(min=low, max=high)

    def clean_chassis_number(self) -> str:
        chassis = str(self.cleaned_data["chassis_number"]).strip().upper()
        validate_chassis_number(chassis)
        return chassis

    def clean_colour(self) -> str:
        return normalise_colour(str(self.cleaned_data["colour"]))

    def clean_auction_house(self) -> str:
        return " ".join(str(self.cleaned_data["auction_house"]).split())

    def clean_lot_number(self) -> str:
        number = str(self.cleaned_data["lot_number"]).strip()
        if not number.replace("-", "").isalnum():
            raise forms.ValidationError(_("Use the lot number as printed: letters and digits."))
        return number

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        make, model = cleaned.get("make"), cleaned.get("model")
        if make is not None and model is not None and model.make_id != make.pk:
            self.add_error("model", _("That model is not made by %(make)s.") % {"make": make.name})
        day, at = cleaned.get("auction_date"), cleaned.get("auction_time")
        if day is not None and at is not None:
            self._auction_at(japan_datetime(day, at.replace(second=0, microsecond=0)))
        return cleaned

    def _auction_at(self, when: datetime) -> None:
        moved = self.instance.pk is None or when != self.instance.auction_at
        if moved and when <= timezone.now():
            self.add_error("auction_date", _("The auction date and time are in the past."))
            return
        self.instance.auction_at = when
        house, number = self.cleaned_data.get("auction_house"), self.cleaned_data.get("lot_number")
        if house and number and self._taken(house, when.astimezone(JAPAN).date(), number):
            self.add_error(
                "lot_number",
                _("Lot %(number)s of %(house)s on %(day)s is already listed.")
                % {"number": number, "house": house, "day": when.astimezone(JAPAN).date()},
            )

    def _taken(self, house: str, day: date, number: str) -> bool:
        start, end = japan_day_bounds(day)
        same = AuctionLot.objects.filter(
            auction_house__iexact=house,
            lot_number__iexact=number,
            auction_at__gte=start,
            auction_at__lt=end,
        )
        return same.exclude(pk=self.instance.pk).exists()


class LotEditForm(LotForm):
    class Meta(LotForm.Meta):
        fields = [*LOT_FIELDS, "status"]


class ImportForm(NoLabelSuffix, forms.Form):
    file = forms.FileField(label=_("CSV file (UTF-8)"))


class LotSearchForm(NoLabelSuffix, forms.Form):
    auction_house = forms.ChoiceField(label=_("Auction house"), required=False)
    day_from = forms.DateField(
        label=_("Auction from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    day_to = forms.DateField(
        label=_("Auction to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
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
    year_min = forms.IntegerField(
        label=_("Year from"), required=False, min_value=OLDEST_YEAR, max_value=2100
    )
    year_max = forms.IntegerField(
        label=_("Year to"), required=False, min_value=OLDEST_YEAR, max_value=2100
    )
    price_min = forms.IntegerField(
        label=_("Start price from (JPY)"), required=False, min_value=0, max_value=MAX_BID_JPY
    )
    price_max = forms.IntegerField(
        label=_("Start price to (JPY)"), required=False, min_value=0, max_value=MAX_BID_JPY
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        houses = [("", _("Any"))] + [(h, h) for h in auction_houses()]
        self.fields["auction_house"].choices = houses  # type: ignore[attr-defined]

    def filters(self) -> LotFilters:
        """The valid filters; a wrong one is reported on the form and left out."""
        data = self.cleaned_data if self.is_bound else {}
        data = {k: v for k, v in data.items() if k not in self.errors}
        return LotFilters(
            auction_house=data.get("auction_house") or "",
            day_from=data.get("day_from"),
            day_to=data.get("day_to"),
            make=data.get("make"),
            model=data.get("model"),
            year_min=data.get("year_min"),
            year_max=data.get("year_max"),
            price_min=data.get("price_min"),
            price_max=data.get("price_max"),
        )


def _deposit_label(currency: str, available: Any) -> str:
    return str(_("Deposit with %(free)s free")) % {"free": money_format(available, currency)}


class BidForm(NoLabelSuffix, forms.Form):
    max_bid_jpy = forms.IntegerField(
        label=_("Your maximum bid (JPY)"),
        min_value=1,
        max_value=MAX_BID_JPY,
        help_text=_("We bid for you up to this amount, never above it."),
    )
    note = forms.CharField(
        label=_("Note for our buyer"),
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    port = forms.ModelChoiceField(
        label=_("Port of discharge"),
        queryset=Port.objects.all(),
        required=False,
        empty_label=_("None yet: price the car FOB Japan"),
    )
    deposit = forms.TypedChoiceField(
        label=_("Deposit to hold"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args: Any, customer: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[Any, Any]] = [("", _("Any deposit with enough money free"))]
        choices += [
            (d.deposit_id, _deposit_label(d.currency, d.available))
            for d in bidding_deposits(customer)
        ]
        self.fields["deposit"].choices = choices  # type: ignore[attr-defined]


class BidEditForm(NoLabelSuffix, forms.Form):
    max_bid_jpy = BidForm.base_fields["max_bid_jpy"]
    note = BidForm.base_fields["note"]


class WonForm(NoLabelSuffix, forms.Form):
    """Shown next to LostForm on one page: its own ids keep each label on its own field."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "won-%s")
        super().__init__(*args, **kwargs)

    hammer_price_jpy = forms.IntegerField(
        label=_("Hammer price (JPY)"), min_value=1, max_value=MAX_BID_JPY
    )
    auction_fee_jpy = forms.IntegerField(
        label=_("Auction fee (JPY)"), min_value=0, max_value=MAX_BID_JPY, initial=0
    )
    recycle_fee_jpy = forms.IntegerField(
        label=_("Recycle fee (JPY)"), min_value=0, max_value=MAX_BID_JPY, initial=0
    )
    tax_jpy = forms.IntegerField(
        label=_("Consumption tax (JPY)"), min_value=0, max_value=MAX_BID_JPY, initial=0
    )


class LostForm(NoLabelSuffix, forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "lost-%s")
        super().__init__(*args, **kwargs)

    hammer_price_jpy = forms.IntegerField(
        label=_("Sold to another bidder for (JPY, if known)"),
        min_value=1,
        max_value=MAX_BID_JPY,
        required=False,
    )


class SettingsForm(NoLabelSuffix, forms.ModelForm):
    class Meta:
        model = AuctionSettings
        fields = ["hold_percent", "minimum_hold_jpy", "request_cutoff_minutes"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["minimum_hold_jpy"].validators.append(MaxValueValidator(MAX_BID_JPY))
        self.fields["request_cutoff_minutes"].validators.append(MaxValueValidator(7 * 24 * 60))

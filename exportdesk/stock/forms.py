from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from exportdesk.core.forms import NoLabelSuffix
from exportdesk.stock.models import (
    LIVE_STATUSES,
    DestinationRule,
    ExchangeRate,
    FreightRate,
    Port,
    PricingSettings,
    Vehicle,
    VehicleStatus,
    live_vehicle_with_chassis,
    normalise_colour,
)


class VehicleForm(NoLabelSuffix, forms.ModelForm):
    class Meta:
        model = Vehicle
        fields = [
            "stock_number",
            "make",
            "model",
            "grade",
            "body_type",
            "first_registration_year",
            "first_registration_month",
            "manufacture_year",
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
            "fob_price_jpy",
            "yard_location",
            "features",
            "condition_notes",
        ]
        widgets = {
            "condition_notes": forms.Textarea(attrs={"rows": 3}),
            "features": forms.Textarea(attrs={"rows": 3}),
        }

    def clean_colour(self) -> str:
        return normalise_colour(str(self.cleaned_data["colour"]))

    def clean_chassis_number(self) -> str:
        chassis = str(self.cleaned_data["chassis_number"]).strip().upper()
        # The form has no status field, so Django skips the live-stock constraint: check here.
        if (self.instance.status in LIVE_STATUSES) and (
            live_vehicle_with_chassis(chassis, exclude_pk=self.instance.pk) is not None
        ):
            raise forms.ValidationError(
                _("Another vehicle in stock already has this chassis number.")
            )
        return chassis

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        make, model = cleaned.get("make"), cleaned.get("model")
        if make is not None and model is not None and model.make_id != make.pk:
            self.add_error("model", _("That model is not made by %(make)s.") % {"make": make.name})
        return cleaned


class StatusForm(NoLabelSuffix, forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=VehicleStatus.choices)


class PhotoForm(NoLabelSuffix, forms.Form):
    image = forms.FileField(label=_("Photo (JPEG, PNG or WebP, up to 10 MB)"))
    caption = forms.CharField(label=_("Caption"), max_length=120, required=False)


class ImportForm(NoLabelSuffix, forms.Form):
    file = forms.FileField(label=_("CSV file (UTF-8)"))


class DestinationRuleForm(NoLabelSuffix, forms.ModelForm):
    class Meta:
        model = DestinationRule
        fields = [
            "country",
            "kind",
            "max_age_years",
            "age_basis",
            "steering_allowed",
            "inspection_agency",
            "inspection_fee_jpy",
            "engine_cc_above",
            "passenger_cars_only",
            "banned_fuels",
            "price_jpy_above",
            "source",
            "effective_from",
            "effective_to",
            "notes",
        ]
        widgets = {
            "effective_from": forms.DateInput(attrs={"type": "date"}),
            "effective_to": forms.DateInput(attrs={"type": "date"}),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }


class FreightRateForm(NoLabelSuffix, forms.ModelForm):
    class Meta:
        model = FreightRate
        fields = [
            "port",
            "method",
            "basis",
            "per_m3_jpy",
            "small_jpy",
            "medium_jpy",
            "large_jpy",
            "extra_large_jpy",
            "valid_from",
        ]
        widgets = {"valid_from": forms.DateInput(attrs={"type": "date"})}


class ExchangeRateForm(NoLabelSuffix, forms.ModelForm):
    class Meta:
        model = ExchangeRate
        fields = ["currency", "jpy_per_unit", "rate_date", "source"]
        widgets = {"rate_date": forms.DateInput(attrs={"type": "date"})}

    def clean_currency(self) -> str:
        code = str(self.cleaned_data["currency"]).strip().upper()
        if len(code) != 3 or not code.isalpha():
            raise forms.ValidationError(_("Use the three-letter ISO 4217 code, e.g. USD."))
        return code


class PortForm(NoLabelSuffix, forms.ModelForm):
    class Meta:
        model = Port
        fields = ["country", "name", "code"]


class PricingSettingsForm(NoLabelSuffix, forms.ModelForm):
    class Meta:
        model = PricingSettings
        fields = ["insurance_rate"]

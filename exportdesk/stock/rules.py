"""Whether a vehicle may legally go to a destination, and why not (DestinationRule)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _
from django_countries import countries

from exportdesk.stock.models import (
    PASSENGER_BODY_TYPES,
    DestinationRule,
    Fuel,
    Steering,
    Vehicle,
)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reasons: list[str] = field(default_factory=list)  # why the car may not go
    notes: list[str] = field(default_factory=list)  # conditions that apply when it may
    inspection_agency: str = ""
    inspection_fee_jpy: int = 0


def rules_for(country: str, on: date | None = None) -> list[DestinationRule]:
    """The rules in force for one country on a day (one query; evaluate many cars with it)."""
    day = on or timezone.localdate()
    rules = DestinationRule.objects.filter(country=country, effective_from__lte=day)
    return [rule for rule in rules if rule.in_force(day)]


def _month(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _age_limit_end(vehicle: Vehicle, rule: DestinationRule) -> date:
    """First day on which the car is too old for the destination."""
    years = rule.max_age_years or 0
    if rule.age_basis == DestinationRule.AgeBasis.MANUFACTURE:
        return date(vehicle.manufacture_year + years + 1, 1, 1)
    return date(vehicle.first_registration_year + years, vehicle.first_registration_month, 1)


def verdict_for(
    vehicle: Vehicle, country: str, rules: Iterable[DestinationRule], on: date | None = None
) -> Verdict:
    day = on or timezone.localdate()
    name = str(countries.name(country)) or country
    reasons: list[str] = []
    notes: list[str] = []
    agency, fee = "", 0
    for rule in rules:
        kind = rule.kind
        if kind == DestinationRule.Kind.AGE_LIMIT:
            end = _age_limit_end(vehicle, rule)
            basis = rule.get_age_basis_display()
            if day >= end:
                reasons.append(
                    _(
                        "Too old for %(country)s after %(month)s (limit: %(years)s years from %(basis)s)."
                    )
                    % {
                        "country": name,
                        "month": _month(end),
                        "years": rule.max_age_years,
                        "basis": basis,
                    }
                )
            else:
                notes.append(
                    _(
                        "Can be imported into %(country)s until %(month)s (%(years)s years from %(basis)s)."
                    )
                    % {
                        "country": name,
                        "month": _month(end),
                        "years": rule.max_age_years,
                        "basis": basis,
                    }
                )
        elif kind == DestinationRule.Kind.STEERING and vehicle.steering != rule.steering_allowed:
            reasons.append(
                _("%(country)s accepts only %(steering)s vehicles.")
                % {"country": name, "steering": Steering(rule.steering_allowed).label.lower()}
            )
        elif kind == DestinationRule.Kind.INSPECTION:
            agency, fee = rule.inspection_agency, rule.inspection_fee_jpy or 0
            notes.append(
                _("Pre-shipment inspection by %(agency)s is required for %(country)s.")
                % {"agency": agency, "country": name}
            )
        elif (
            kind == DestinationRule.Kind.EXPORT_BAN_CC
            and vehicle.engine_cc > (rule.engine_cc_above or 0)
            and (not rule.passenger_cars_only or vehicle.body_type in PASSENGER_BODY_TYPES)
        ):
            message = (
                _(
                    "Export from Japan to %(country)s is banned for passenger cars with engines "
                    "over %(cc)s cc (since %(date)s)."
                )
                if rule.passenger_cars_only
                else _(
                    "Export from Japan to %(country)s is banned for engines over %(cc)s cc (since %(date)s)."
                )
            )
            reasons.append(
                message
                % {
                    "country": name,
                    "cc": f"{rule.engine_cc_above:,}",
                    "date": rule.effective_from.isoformat(),
                }
            )
        elif kind == DestinationRule.Kind.EXPORT_BAN_FUEL and vehicle.fuel in rule.fuel_codes:
            reasons.append(
                _(
                    "Export from Japan to %(country)s is banned for %(fuel)s vehicles (since %(date)s)."
                )
                % {
                    "country": name,
                    "fuel": Fuel(vehicle.fuel).label.lower(),
                    "date": rule.effective_from.isoformat(),
                }
            )
        elif kind == DestinationRule.Kind.EXPORT_BAN_PRICE and vehicle.fob_price_jpy > (
            rule.price_jpy_above or 0
        ):
            reasons.append(
                _(
                    "Export from Japan to %(country)s is banned for vehicles priced over JPY %(price)s (since %(date)s)."
                )
                % {
                    "country": name,
                    "price": f"{rule.price_jpy_above:,}",
                    "date": rule.effective_from.isoformat(),
                }
            )
    return Verdict(
        allowed=not reasons,
        reasons=reasons,
        notes=notes,
        inspection_agency=agency,
        inspection_fee_jpy=fee,
    )

"""The price of a vehicle delivered to a port: FOB, inspection, freight, insurance (C&F, CIF)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from exportdesk.stock.models import (
    ExchangeRate,
    FreightRate,
    Port,
    PricingSettings,
    ShippingMethod,
    Vehicle,
)
from exportdesk.stock.rules import Verdict

DISPLAY_CURRENCIES = ("JPY", "USD", "EUR", "GBP")


@dataclass(frozen=True)
class Converted:
    currency: str
    amount: Decimal
    rate: Decimal
    rate_date: date | None


@dataclass(frozen=True)
class PortPrice:
    port: Port
    method: str
    volume_m3: Decimal
    fob_jpy: int
    inspection_jpy: int
    freight_jpy: int
    cnf_jpy: int
    insurance_jpy: int
    cif_jpy: int
    insurance_rate: Decimal

    @property
    def insurance_percent(self) -> Decimal:
        return (self.insurance_rate * 100).normalize()

    @property
    def method_label(self) -> str:
        return str(ShippingMethod(self.method).label)


class NoFreightRate(Exception):
    """No freight is on file for that port and method."""


def price_to_port(
    *,
    vehicle: Vehicle,
    port: Port,
    method: str,
    verdict: Verdict,
    freight: FreightRate | None = None,
    insurance_rate: Decimal | None = None,
) -> PortPrice:
    if freight is None:
        freight = FreightRate.objects.filter(port=port, method=method).first()
    if freight is None:
        raise NoFreightRate(f"no {method} freight rate for {port.code}")
    rate = (
        insurance_rate if insurance_rate is not None else PricingSettings.current().insurance_rate
    )
    volume = vehicle.volume_m3
    freight_jpy = freight.price_for(volume)
    inspection = verdict.inspection_fee_jpy
    cnf = vehicle.fob_price_jpy + inspection + freight_jpy
    # Insurers round premiums up to the next yen.
    insurance = int((Decimal(cnf) * rate).to_integral_value(rounding=ROUND_CEILING))
    return PortPrice(
        port=port,
        method=method,
        volume_m3=volume,
        fob_jpy=vehicle.fob_price_jpy,
        inspection_jpy=inspection,
        freight_jpy=freight_jpy,
        cnf_jpy=cnf,
        insurance_jpy=insurance,
        cif_jpy=cnf + insurance,
        insurance_rate=rate,
    )


def latest_rate(currency: str) -> ExchangeRate | None:
    return ExchangeRate.objects.filter(currency=currency).order_by("-rate_date").first()


def convert(amount_jpy: int, rate: ExchangeRate | None) -> Converted | None:
    """Yen into the display currency at the staff's latest rate; None without a rate."""
    if rate is None:
        return None
    amount = (Decimal(amount_jpy) / rate.jpy_per_unit).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    return Converted(rate.currency, amount, rate.jpy_per_unit, rate.rate_date)

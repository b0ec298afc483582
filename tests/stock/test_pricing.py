"""The price of a car delivered to a port: FOB + inspection + freight = C&F; + insurance = CIF."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from exportdesk.stock.models import FreightRate, PricingSettings
from exportdesk.stock.pricing import NoFreightRate, convert, latest_rate, price_to_port
from exportdesk.stock.rules import Verdict, rules_for, verdict_for
from tests.stock.factories import (
    container_rate,
    kingston,
    mombasa,
    roro_rate,
    usd_rate,
    vehicle,
)

pytestmark = pytest.mark.django_db

NO_RULES = Verdict(allowed=True)


def test_the_volume_of_a_prius_is_its_length_by_width_by_height_in_cubic_metres():
    car = vehicle(length_mm=4480, width_mm=1745, height_mm=1490)
    assert car.volume_m3 == Decimal("11.65")


def test_roro_freight_is_priced_per_cubic_metre():
    port = kingston()
    roro_rate(port, per_m3_jpy=9500)
    car = vehicle(length_mm=4480, width_mm=1745, height_mm=1490, fob_price_jpy=1_000_000)
    price = price_to_port(
        vehicle=car, port=port, method="roro", verdict=NO_RULES, insurance_rate=Decimal("0.015")
    )
    assert price.volume_m3 == Decimal("11.65")
    assert price.freight_jpy == 110_675  # 11.65 m³ x JPY 9,500
    assert price.fob_jpy == 1_000_000
    assert price.inspection_jpy == 0
    assert price.cnf_jpy == 1_110_675
    # 1,110,675 x 1.5 % = 16,660.125: insurers round up to the next yen.
    assert price.insurance_jpy == 16_661
    assert price.cif_jpy == 1_110_675 + 16_661


@pytest.mark.parametrize(
    ("dims", "volume", "freight"),
    [
        ((3995, 2000, 1000), "7.99", 90_000),  # small below 8 m³
        ((4000, 2000, 1000), "8.00", 120_000),  # 8 m³ is already medium
        ((5995, 2000, 1000), "11.99", 120_000),
        ((4000, 2000, 1500), "12.00", 150_000),  # 12 m³ is large
        ((7995, 2000, 1000), "15.99", 150_000),
        ((4000, 2000, 2000), "16.00", 190_000),  # 16 m³ and up is extra large
        ((6990, 2080, 2635), "38.31", 190_000),  # a Coaster bus
    ],
)
def test_container_freight_is_priced_by_size_class(dims, volume, freight):
    port = kingston()
    container_rate(port)
    length, width, height = dims
    car = vehicle(length_mm=length, width_mm=width, height_mm=height)
    price = price_to_port(vehicle=car, port=port, method="container", verdict=NO_RULES)
    assert price.volume_m3 == Decimal(volume)
    assert price.freight_jpy == freight


def test_insurance_uses_the_rate_staff_set_and_rounds_up():
    port = kingston()
    roro_rate(port, per_m3_jpy=10_000)
    settings_row = PricingSettings.current()
    settings_row.insurance_rate = Decimal("0.02")
    settings_row.save()
    car = vehicle(length_mm=4000, width_mm=2000, height_mm=1000, fob_price_jpy=1_000_001)
    price = price_to_port(vehicle=car, port=port, method="roro", verdict=NO_RULES)
    assert price.freight_jpy == 80_000
    assert price.cnf_jpy == 1_080_001
    assert price.insurance_rate == Decimal("0.02")
    assert price.insurance_jpy == 21_601  # 21,600.02 rounded up
    assert price.cif_jpy == 1_101_602
    assert price.insurance_percent == Decimal("2")


def test_the_default_insurance_rate_is_one_and_a_half_percent():
    assert PricingSettings.current().insurance_rate == Decimal("0.015")


def test_the_inspection_fee_is_part_of_c_and_f_where_the_destination_requires_one():
    port = mombasa()
    roro_rate(port, per_m3_jpy=9500)
    car = vehicle(length_mm=4480, width_mm=1745, height_mm=1490, fob_price_jpy=1_000_000)
    verdict = verdict_for(car, "KE", rules_for("KE"))
    price = price_to_port(
        vehicle=car, port=port, method="roro", verdict=verdict, insurance_rate=Decimal("0.015")
    )
    assert price.inspection_jpy == 30_000
    assert price.cnf_jpy == 1_000_000 + 30_000 + 110_675
    assert price.insurance_jpy == 17_111  # 1,140,675 x 1.5 % = 17,110.125, rounded up
    assert price.cif_jpy == 1_157_786


def test_without_a_freight_rate_there_is_no_price():
    port = mombasa()
    roro_rate(port)
    car = vehicle()
    with pytest.raises(NoFreightRate):
        price_to_port(vehicle=car, port=port, method="container", verdict=NO_RULES)
    with pytest.raises(NoFreightRate):
        price_to_port(vehicle=car, port=kingston(), method="roro", verdict=NO_RULES)


def test_the_freight_rate_of_another_port_is_never_used():
    roro_rate(kingston(), per_m3_jpy=11_500)
    assert not FreightRate.objects.filter(port=mombasa()).exists()
    with pytest.raises(NoFreightRate):
        price_to_port(vehicle=vehicle(), port=mombasa(), method="roro", verdict=NO_RULES)


def test_prices_convert_at_the_newest_rate_and_carry_its_date():
    usd_rate("140.0000", date(2026, 1, 5))
    newest = usd_rate("152.3000", date(2026, 11, 20))
    usd_rate("150.0000", date(2026, 6, 1))
    rate = latest_rate("USD")
    assert rate == newest
    converted = convert(1_523_000, rate)
    assert converted is not None
    assert converted.currency == "USD"
    assert converted.amount == Decimal("10000.00")
    assert converted.rate == Decimal("152.3000")
    assert converted.rate_date == date(2026, 11, 20)


def test_conversion_rounds_half_up_to_the_cent():
    rate = usd_rate("8.0000", date(2026, 11, 20))
    assert convert(1, rate).amount == Decimal("0.13")  # 0.125 → 0.13
    assert convert(2, rate).amount == Decimal("0.25")


def test_without_a_rate_there_is_no_conversion():
    usd_rate("152.3000")
    assert latest_rate("EUR") is None
    assert convert(1_000_000, latest_rate("EUR")) is None

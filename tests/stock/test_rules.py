"""Destination rules: whether a car may legally go to a country on a given day, and why not."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from exportdesk.stock.models import DestinationRule, Vehicle
from exportdesk.stock.rules import Verdict, rules_for, verdict_for
from tests.stock.factories import vehicle

pytestmark = pytest.mark.django_db


def this_day() -> date:
    return timezone.localdate()


def check(car: Vehicle, country: str, on: date) -> Verdict:
    return verdict_for(car, country, rules_for(country, on=on), on=on)


def test_the_starter_rules_are_seeded_with_their_sources():
    kinds = set(DestinationRule.objects.values_list("country", "kind"))
    assert {
        ("KE", "age_limit"),
        ("KE", "steering"),
        ("KE", "inspection"),
        ("RU", "export_ban_cc"),
        ("RU", "export_ban_fuel"),
        ("RU", "export_ban_price"),
        ("UG", "age_limit"),
        ("JM", "age_limit"),
    } <= kinds
    assert not DestinationRule.objects.filter(source="").exists()


# --- Kenya ------------------------------------------------------------------------------------


def test_kenya_takes_a_car_first_registered_2019_03_until_february_2027():
    car = vehicle(first_registration_year=2019, first_registration_month=3, manufacture_year=2018)
    verdict = check(car, "KE", date(2027, 2, 28))
    assert verdict.allowed
    assert verdict.reasons == []
    assert any("Can be imported into Kenya until 2027-03" in note for note in verdict.notes)


def test_kenya_refuses_a_car_first_registered_2019_03_from_march_2027():
    car = vehicle(first_registration_year=2019, first_registration_month=3, manufacture_year=2018)
    for day in (date(2027, 3, 1), date(2027, 3, 31), date(2030, 1, 1)):
        verdict = check(car, "KE", day)
        assert not verdict.allowed, day
        assert len(verdict.reasons) == 1
        assert "Too old for Kenya after 2027-03" in verdict.reasons[0]
        assert "8 years from first registration" in verdict.reasons[0]


def test_kenya_counts_from_first_registration_not_manufacture():
    # Built in 2017 but registered in Japan only in 2019-03: the eight years run from 2019-03.
    car = vehicle(first_registration_year=2019, first_registration_month=3, manufacture_year=2017)
    assert check(car, "KE", date(2026, 12, 31)).allowed


def test_kenya_refuses_a_left_hand_drive_car():
    car = vehicle(steering="lhd")
    verdict = check(car, "KE", this_day())
    assert not verdict.allowed
    assert verdict.reasons == ["Kenya accepts only right-hand drive vehicles."]


def test_kenya_takes_a_right_hand_drive_car_with_inspection_note_and_fee():
    car = vehicle(steering="rhd")
    verdict = check(car, "KE", this_day())
    assert verdict.allowed
    assert verdict.inspection_agency == "QISJ (KEBS-appointed)"
    assert verdict.inspection_fee_jpy == 30_000
    assert (
        "Pre-shipment inspection by QISJ (KEBS-appointed) is required for Kenya." in verdict.notes
    )


def test_an_old_left_hand_drive_car_gets_every_reason():
    car = vehicle(steering="lhd", first_registration_year=2010, first_registration_month=1)
    verdict = check(car, "KE", date(2026, 6, 1))
    assert not verdict.allowed
    assert len(verdict.reasons) == 2
    assert any("Too old for Kenya after 2018-01" in r for r in verdict.reasons)
    assert any("right-hand drive" in r for r in verdict.reasons)


# --- Russia -----------------------------------------------------------------------------------


def test_russia_bans_engines_over_1900_cc_from_2023_08_09_but_not_before():
    car = vehicle(engine_cc=2000, fuel="petrol", fob_price_jpy=2_000_000)
    assert check(car, "RU", date(2023, 8, 8)).allowed
    verdict = check(car, "RU", date(2023, 8, 9))
    assert not verdict.allowed
    (reason,) = verdict.reasons
    assert reason.startswith("Export from Japan to Russia is banned for ")
    assert reason.endswith("engines over 1,900 cc (since 2023-08-09).")
    assert not check(car, "RU", date(2026, 11, 1)).allowed


def test_russia_takes_a_1900_cc_petrol_car():
    car = vehicle(engine_cc=1900, fuel="petrol", fob_price_jpy=2_000_000)
    assert check(car, "RU", date(2026, 11, 1)).allowed
    small = vehicle(engine_cc=1500, fuel="diesel", fob_price_jpy=800_000)
    assert check(small, "RU", date(2026, 11, 1)).allowed


@pytest.mark.parametrize(
    ("fuel", "label"),
    [("hybrid", "hybrid"), ("phev", "plug-in hybrid"), ("electric", "electric")],
)
def test_russia_bans_hybrid_plug_in_and_electric_cars(fuel, label):
    car = vehicle(engine_cc=0 if fuel == "electric" else 1500, fuel=fuel, fob_price_jpy=900_000)
    verdict = check(car, "RU", date(2024, 1, 1))
    assert not verdict.allowed
    assert verdict.reasons == [
        f"Export from Japan to Russia is banned for {label} vehicles (since 2023-08-09)."
    ]
    assert check(car, "RU", date(2023, 8, 8)).allowed


def test_russia_bans_cars_priced_over_six_million_yen_since_april_2022():
    dear = vehicle(engine_cc=1800, fuel="petrol", fob_price_jpy=6_000_001)
    verdict = check(dear, "RU", date(2022, 4, 5))
    assert not verdict.allowed
    assert verdict.reasons == [
        "Export from Japan to Russia is banned for vehicles priced over JPY 6,000,000 "
        "(since 2022-04-05)."
    ]
    assert check(dear, "RU", date(2022, 4, 4)).allowed
    at_the_limit = vehicle(engine_cc=1800, fuel="petrol", fob_price_jpy=6_000_000)
    assert check(at_the_limit, "RU", date(2025, 1, 1)).allowed


def test_a_big_hybrid_over_the_price_limit_gets_all_three_russian_reasons():
    car = vehicle(engine_cc=3500, fuel="hybrid", fob_price_jpy=9_000_000)
    verdict = check(car, "RU", date(2025, 1, 1))
    assert len(verdict.reasons) == 3


def test_russias_engine_size_ban_is_for_passenger_cars_not_trucks():
    # The issue: "export banned from 2023-08-09 for passenger cars over 1,900 cc".
    truck = vehicle(
        make="mitsubishi",
        model="canter",
        body_type="truck",
        engine_cc=3000,
        fuel="diesel",
        seats=3,
        fob_price_jpy=2_400_000,
    )
    verdict = check(truck, "RU", date(2025, 1, 1))
    assert verdict.allowed, verdict.reasons


# --- Uganda and Jamaica: age from manufacture -------------------------------------------------


def test_uganda_takes_cars_up_to_15_years_from_manufacture():
    car = vehicle(manufacture_year=2010, first_registration_year=2011, first_registration_month=4)
    allowed = check(car, "UG", date(2025, 12, 31))
    assert allowed.allowed
    assert any("Uganda until 2026-01" in note for note in allowed.notes)
    refused = check(car, "UG", date(2026, 1, 1))
    assert not refused.allowed
    assert "Too old for Uganda after 2026-01" in refused.reasons[0]
    assert "15 years from manufacture" in refused.reasons[0]


def test_uganda_has_no_steering_or_inspection_rule():
    car = vehicle(steering="lhd")
    verdict = check(car, "UG", this_day())
    assert verdict.allowed
    assert verdict.inspection_fee_jpy == 0


def test_jamaica_takes_cars_up_to_6_years_from_manufacture():
    car = vehicle(manufacture_year=2019, first_registration_year=2020, first_registration_month=2)
    assert check(car, "JM", date(2025, 12, 31)).allowed
    refused = check(car, "JM", date(2026, 1, 1))
    assert not refused.allowed
    assert "Too old for Jamaica after 2026-01" in refused.reasons[0]
    assert "6 years from manufacture" in refused.reasons[0]


# --- rules change -----------------------------------------------------------------------------


def test_a_rule_that_ended_no_longer_applies():
    steering = DestinationRule.objects.get(country="KE", kind="steering")
    steering.effective_to = date(2024, 12, 31)
    steering.save()
    car = vehicle(steering="lhd")
    assert not check(car, "KE", date(2024, 12, 31)).allowed
    assert check(car, "KE", date(2025, 1, 1)).allowed
    assert steering not in rules_for("KE", on=date(2025, 1, 1))
    assert steering in rules_for("KE", on=date(2024, 12, 31))


def test_a_rule_that_starts_later_does_not_apply_yet():
    DestinationRule.objects.create(
        country="NZ",
        kind="steering",
        steering_allowed="rhd",
        source="NZTA (test)",
        effective_from=date(2030, 1, 1),
    )
    car = vehicle(steering="lhd")
    assert check(car, "NZ", date(2029, 12, 31)).allowed
    assert not check(car, "NZ", date(2030, 1, 1)).allowed


def test_a_country_without_rules_takes_any_car():
    car = vehicle(steering="lhd", fuel="electric", engine_cc=0, fob_price_jpy=9_000_000)
    verdict = check(car, "NZ", this_day())
    assert verdict == Verdict(allowed=True)

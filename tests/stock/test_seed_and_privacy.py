"""Generated stock for demos and benchmarks, and the stock app's place in the privacy registry."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from exportdesk.privacy.cookies import cookie_declarations
from exportdesk.stock.demo import generate_vehicles, seed_demo
from exportdesk.stock.models import ExchangeRate, FreightRate, Vehicle, VehiclePhoto

pytestmark = pytest.mark.django_db

COMPARED = [
    "stock_number",
    "make_id",
    "model_id",
    "grade",
    "body_type",
    "first_registration_year",
    "first_registration_month",
    "manufacture_year",
    "chassis_number",
    "engine_cc",
    "fuel",
    "transmission",
    "steering",
    "mileage_km",
    "colour",
    "fob_price_jpy",
    "status",
    "created_at",
]


def _first() -> dict[str, object]:
    return Vehicle.objects.order_by("stock_number").values(*COMPARED)[0]


def test_seed_stock_twice_adds_100_vehicles_with_unique_numbers(capsys):
    call_command("seed_stock", count=50)
    assert "added 50 vehicles" in capsys.readouterr().out
    call_command("seed_stock", count=50)
    assert Vehicle.objects.count() == 100
    numbers = list(Vehicle.objects.values_list("stock_number", flat=True))
    chassis = list(Vehicle.objects.values_list("chassis_number", flat=True))
    assert len(set(numbers)) == 100
    assert len(set(chassis)) == 100
    assert sorted(numbers)[-1] == "ED0000100"
    for car in Vehicle.objects.all():
        car.full_clean()  # every generated car would pass the back-office form's checks


def test_the_same_seed_on_an_empty_database_gives_the_same_cars():
    call_command("seed_stock", count=20)
    first = _first()
    everything = list(Vehicle.objects.order_by("stock_number").values(*COMPARED))
    Vehicle.objects.all().delete()
    call_command("seed_stock", count=20)
    assert _first() == first
    assert list(Vehicle.objects.order_by("stock_number").values(*COMPARED)) == everything


def test_another_seed_gives_other_cars():
    call_command("seed_stock", count=20, seed=1)
    first = _first()
    Vehicle.objects.all().delete()
    call_command("seed_stock", count=20, seed=2)
    assert _first() != first


def test_seeded_stock_is_mostly_on_sale_and_realistic():
    call_command("seed_stock", count=200)
    public = Vehicle.objects.filter(status__in=["available", "reserved"]).count()
    assert public > 150
    assert Vehicle.objects.filter(steering="rhd").count() > 180
    assert not Vehicle.objects.filter(fob_price_jpy__lt=150_000).exists()


def test_seed_stock_needs_a_count():
    with pytest.raises(CommandError):
        call_command("seed_stock")
    with pytest.raises(SystemExit):
        call_command("seed_stock", count=0)
    assert not Vehicle.objects.exists()


def test_generated_vehicles_are_not_saved():
    cars = list(generate_vehicles(count=5, seed=3))
    assert [c.stock_number for c in cars] == [f"ED{n:07d}" for n in range(1, 6)]
    assert not Vehicle.objects.exists()


def test_the_demo_data_comes_with_photos_freight_and_rates(settings):
    lines = seed_demo()
    assert lines
    assert Vehicle.objects.count() == 60
    assert VehiclePhoto.objects.count() == 120
    assert FreightRate.objects.filter(port__code="KEMBA", method="roro").exists()
    assert ExchangeRate.objects.filter(currency="USD").exists()
    seed_demo()  # a second run adds nothing
    assert Vehicle.objects.count() == 60


def test_the_stock_cookies_are_declared():
    declared = cookie_declarations()
    assert "myfavlist" in declared
    assert declared["myfavlist"].category == "functional"
    assert str(declared["myfavlist"].duration) == "5 days"
    assert "ed_destination" in declared
    assert declared["ed_destination"].category == "functional"


def test_the_cookie_policy_page_lists_the_stock_cookies(client):
    body = client.get("/privacy/cookies/").content.decode()
    assert "<code>myfavlist</code>" in body
    assert "<code>ed_destination</code>" in body


def test_the_privacy_inventory_covers_stock_sales_and_messaging():
    call_command("privacy_inventory", "--check")

"""Staff keep the reference tables current: destination rules, freight, exchange rates, ports,
and the insurance rate. Their changes reach the public prices and verdicts at once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from exportdesk.core.models import AuditEvent
from exportdesk.stock.models import (
    DestinationRule,
    ExchangeRate,
    FreightRate,
    Port,
    PricingSettings,
)
from tests.conftest import staff_login
from tests.factories import staff
from tests.stock.factories import kingston, mombasa, roro_rate, vehicle

pytestmark = pytest.mark.django_db


@pytest.fixture
def sales_client(sales) -> Client:
    return staff_login(Client(), sales)


def rule_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "country": "NZ",
        "kind": "steering",
        "max_age_years": "",
        "age_basis": "",
        "steering_allowed": "rhd",
        "inspection_agency": "",
        "inspection_fee_jpy": "",
        "engine_cc_above": "",
        "banned_fuels": "",
        "price_jpy_above": "",
        "source": "NZTA: right-hand drive only (test)",
        "effective_from": "2020-01-01",
        "effective_to": "",
        "notes": "",
    }
    data.update(overrides)
    return data


def test_a_new_rule_applies_to_the_vehicle_page_at_once(sales_client, sales):
    vehicle(stock_number="LHD001", steering="lhd")
    response = sales_client.post("/backoffice/stock/tables/rules/new/", rule_data())
    assert response.status_code == 302
    rule = DestinationRule.objects.get(country="NZ")
    assert rule.updated_by == sales
    assert AuditEvent.objects.filter(action="rules.added", actor_id=sales.pk).exists()
    auckland = Port.objects.get(country="NZ")
    body = Client().get("/stock/LHD001/", {"port": auckland.pk}).content.decode()
    assert "New Zealand accepts only right-hand drive vehicles." in body


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"kind": "age_limit"}, "Required for this kind of rule."),
        ({"kind": "export_ban_fuel", "banned_fuels": "hybrid,steam"}, "Unknown fuel codes: steam"),
        ({"effective_to": "2019-12-31"}, "Must not be before the start date."),
        ({"kind": "inspection", "inspection_agency": "QISJ"}, "Required for this kind of rule."),
    ],
)
def test_an_incomplete_rule_is_a_form_error(sales_client, overrides, message):
    before = DestinationRule.objects.count()
    response = sales_client.post("/backoffice/stock/tables/rules/new/", rule_data(**overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert DestinationRule.objects.count() == before


def _refused(client: Client, data: dict[str, object]) -> None:
    before = DestinationRule.objects.count()
    response = client.post("/backoffice/stock/tables/rules/new/", data)
    assert response.status_code == 400
    assert "Please correct the problems below." in response.content.decode()
    assert DestinationRule.objects.count() == before


# "": the staff member forgot to choose one.
@pytest.mark.parametrize("kind", ["", "curfew"], ids=["no-kind", "unknown-kind"])
def test_a_rule_without_a_valid_kind_is_a_form_error_not_a_500(sales_client, kind):
    _refused(sales_client, rule_data(kind=kind))


@pytest.mark.parametrize("start", ["", "not a date"], ids=["no-start", "bad-start"])
def test_an_end_date_without_a_valid_start_date_is_a_form_error_not_a_500(sales_client, start):
    _refused(sales_client, rule_data(effective_from=start, effective_to="2030-01-01"))


def test_ending_a_rule_lifts_it(sales_client):
    vehicle(stock_number="LHD001", steering="lhd")
    rule = DestinationRule.objects.get(country="KE", kind="steering")
    data = rule_data(
        country="KE",
        source=rule.source,
        effective_from="2000-01-01",
        effective_to="2001-12-31",
    )
    response = sales_client.post(f"/backoffice/stock/tables/rules/{rule.pk}/", data)
    assert response.status_code == 302
    body = Client().get("/stock/LHD001/", {"port": mombasa().pk}).content.decode()
    assert "accepts only right-hand drive" not in body


def test_staff_set_freight_and_the_price_follows(sales_client):
    vehicle(stock_number="KA1001", length_mm=4000, width_mm=2000, height_mm=1000)
    response = sales_client.post(
        "/backoffice/stock/tables/freight/new/",
        {
            "port": kingston().pk,
            "method": "roro",
            "basis": "per_m3",
            "per_m3_jpy": "11500",
            "valid_from": "2026-11-01",
        },
    )
    assert response.status_code == 302
    body = Client().get("/stock/KA1001/", {"port": kingston().pk}).content.decode()
    assert "Freight (RoRo, 8.00 m³)</th><td>JPY 92,000" in body


def test_a_freight_rate_without_its_prices_is_a_form_error(sales_client):
    response = sales_client.post(
        "/backoffice/stock/tables/freight/new/",
        {"port": kingston().pk, "method": "container", "basis": "size_class", "small_jpy": "1"},
    )
    assert response.status_code == 400
    assert not FreightRate.objects.exists()


def test_a_second_freight_rate_for_the_same_port_and_method_is_a_form_error(sales_client):
    roro_rate(kingston())
    response = sales_client.post(
        "/backoffice/stock/tables/freight/new/",
        {"port": kingston().pk, "method": "roro", "basis": "per_m3", "per_m3_jpy": "9000"},
    )
    assert response.status_code == 400
    assert FreightRate.objects.count() == 1


def test_staff_add_an_exchange_rate_in_lower_case(sales_client):
    response = sales_client.post(
        "/backoffice/stock/tables/rates/new/",
        {"currency": "usd", "jpy_per_unit": "152.30", "rate_date": "2026-11-20", "source": "MUFG"},
    )
    assert response.status_code == 302
    assert ExchangeRate.objects.get().currency == "USD"
    bad = sales_client.post(
        "/backoffice/stock/tables/rates/new/",
        {"currency": "US1", "jpy_per_unit": "152.3", "rate_date": "2026-11-21"},
    )
    assert bad.status_code == 400
    assert "Use the three-letter ISO 4217 code" in bad.content.decode()
    assert ExchangeRate.objects.count() == 1


def test_staff_change_the_insurance_rate(sales_client):
    response = sales_client.post("/backoffice/stock/pricing/", {"insurance_rate": "0.02"})
    assert response.status_code == 302
    assert PricingSettings.current().insurance_rate == Decimal("0.02")
    too_high = sales_client.post("/backoffice/stock/pricing/", {"insurance_rate": "0.5"})
    assert too_high.status_code == 400
    assert PricingSettings.current().insurance_rate == Decimal("0.02")


def test_an_unknown_table_is_not_found(sales_client):
    assert sales_client.get("/backoffice/stock/tables/nothing/").status_code == 404


def test_each_role_edits_only_its_tables(db):
    compliance = staff_login(Client(), staff("cy.compliance@exporter.example", "compliance"))
    assert compliance.get("/backoffice/stock/tables/rules/").status_code == 200
    assert compliance.get("/backoffice/stock/tables/freight/").status_code == 403
    assert compliance.post("/backoffice/stock/tables/rules/new/", rule_data()).status_code == 302
    accounting = staff_login(Client(), staff("acc.accounting@exporter.example", "accounting"))
    assert accounting.get("/backoffice/stock/tables/rates/").status_code == 200
    assert accounting.post("/backoffice/stock/tables/rules/new/", rule_data()).status_code == 403
    assert accounting.get("/backoffice/stock/pricing/").status_code == 403


def test_customers_cannot_touch_the_tables(alice_client):
    for path in ("/backoffice/stock/tables/rules/", "/backoffice/stock/pricing/"):
        assert alice_client.get(path).status_code == 403
    before = DestinationRule.objects.count()
    assert alice_client.post("/backoffice/stock/tables/rules/new/", rule_data()).status_code == 403
    assert DestinationRule.objects.count() == before

"""The vehicle page: specifications, FOB, price to a chosen port, the rule verdict, and the
destination remembered for the next visit (profile, cookie with consent, or the session)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.conf import settings
from django.utils.formats import date_format

from exportdesk.privacy.cookies import cookie_declarations
from exportdesk.stock.destination import DESTINATION_COOKIE
from exportdesk.stock.models import CustomerDestination, Port
from tests.stock.factories import mombasa, roro_rate, usd_rate, vehicle, vladivostok

pytestmark = pytest.mark.django_db


def _usd(jpy: int, rate: str) -> str:
    amount = (Decimal(jpy) / Decimal(rate)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"USD {amount:,}"


@pytest.fixture
def prius(db):
    return vehicle(
        stock_number="KA1001",
        grade="S Touring",
        length_mm=4480,
        width_mm=1745,
        height_mm=1490,
        fob_price_jpy=1_000_000,
        mileage_km=82_345,
        colour="Pearl White",
        chassis_number="ZVW30-1234567",
    )


def test_it_shows_the_specifications_and_the_fob_price(client, prius):
    response = client.get("/stock/KA1001/")
    assert response.status_code == 200
    body = response.content.decode()
    assert prius.title in body
    assert "FOB (free on board, Japan)" in body
    assert "JPY 1,000,000" in body
    assert "ZVW30-1234567" in body
    assert "82,345 km" in body
    assert "Pearl White" in body
    assert "11.65 m³" in body
    assert "<li>Navigation</li>" in body
    assert "No photo yet" in body
    assert 'href="/stock/KA1001/inquiry/"' in body


def test_the_price_to_mombasa_shows_c_and_f_cif_and_the_rule_verdict(client, prius):
    port = mombasa()
    roro_rate(port, per_m3_jpy=9500)
    rate = usd_rate("152.3000")
    response = client.get(
        "/stock/KA1001/", {"country": "KE", "port": port.pk, "method": "roro", "currency": "USD"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    # FOB 1,000,000 + inspection 30,000 + freight 11.65 m³ x 9,500 = C&F 1,140,675
    assert "Pre-shipment inspection</th><td>JPY 30,000" in body
    assert "Freight (RoRo, 11.65 m³)</th><td>JPY 110,675" in body
    assert "C&F total</th><td>JPY 1,140,675" in body
    # insurance 1.5 % of C&F rounded up: 17,111; CIF 1,157,786
    assert "Marine insurance (1.5 % of C&F)</th><td>JPY 17,111" in body
    assert "CIF total</th><td>JPY 1,157,786" in body
    assert _usd(1_140_675, "152.3") in body
    assert _usd(1_157_786, "152.3") in body
    assert f"1 USD = JPY 152.3000, our rate of {date_format(rate.rate_date)}" in body
    assert "This vehicle can go to Kenya." in body
    assert "Pre-shipment inspection by QISJ (KEBS-appointed) is required for Kenya." in body
    assert '<option value="KE" selected>Kenya</option>' in body
    assert f'<option value="{port.pk}" selected>Mombasa</option>' in body


def test_a_banned_car_shows_why_it_cannot_go(client):
    vehicle(stock_number="LHD001", steering="lhd")
    roro_rate(mombasa())
    body = client.get("/stock/LHD001/", {"port": mombasa().pk}).content.decode()
    assert "This vehicle cannot go to Kenya:" in body
    assert "Kenya accepts only right-hand drive vehicles." in body


def test_a_hybrid_cannot_go_to_russia(client):
    vehicle(stock_number="HY0001", fuel="hybrid", engine_cc=1800)
    body = client.get("/stock/HY0001/", {"port": vladivostok().pk}).content.decode()
    assert "This vehicle cannot go to Russia:" in body
    assert "banned for hybrid vehicles (since 2023-08-09)" in body


def test_too_old_for_kenya_says_from_when(client):
    from django.utils import timezone

    year = timezone.localdate().year - 12
    vehicle(stock_number="OLD001", first_registration_year=year, first_registration_month=3)
    body = client.get("/stock/OLD001/", {"port": mombasa().pk}).content.decode()
    assert f"Too old for Kenya after {year + 8}-03" in body


def test_prices_in_yen_need_no_rate(client, prius):
    roro_rate(mombasa())
    body = client.get("/stock/KA1001/", {"port": mombasa().pk, "currency": "JPY"}).content.decode()
    assert "CIF total</th><td>JPY 1,157,786" in body
    assert "≈" not in body
    assert "No exchange rate on file" not in body


def test_without_an_exchange_rate_prices_stay_in_yen_and_it_says_so(client, prius):
    roro_rate(mombasa())
    body = client.get("/stock/KA1001/", {"port": mombasa().pk, "currency": "EUR"}).content.decode()
    assert "CIF total</th><td>JPY 1,157,786" in body
    assert "No exchange rate on file for that currency; prices are shown in yen." in body


def test_without_a_freight_rate_the_page_asks_for_a_quote(client, prius):
    response = client.get("/stock/KA1001/", {"port": mombasa().pk, "method": "container"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "We have no freight rate on file for this port and method yet" in body
    assert "This vehicle can go to Kenya." in body  # the rules still apply


@pytest.mark.parametrize("port", ["99999", "abc", "-1", "1.5", "9" * 30])
def test_an_unknown_port_gives_a_message_not_a_500(client, prius, port):
    response = client.get("/stock/KA1001/", {"country": "KE", "port": port, "method": "roro"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "We do not know that port; please choose one from the list." in body
    assert "CIF total" not in body
    assert DESTINATION_COOKIE not in response.cookies


def test_an_unknown_method_or_currency_gives_a_message(client, prius):
    roro_rate(mombasa())
    body = client.get(
        "/stock/KA1001/", {"port": mombasa().pk, "method": "air", "currency": "XYZ"}
    ).content.decode()
    assert "Unknown shipping method." in body
    assert "Unknown currency." in body
    assert "CIF total</th><td>JPY 1,157,786" in body  # RoRo and the default currency instead


def test_an_unknown_country_lists_no_ports(client, prius):
    response = client.get("/stock/KA1001/", {"country": "zz<script>"})
    assert response.status_code == 200
    assert "<script>" not in response.content.decode().split('id="dest-port"')[1][:200]


@pytest.mark.parametrize("status", ["sold", "withdrawn", "shipped"])
def test_a_car_not_on_sale_is_not_found(client, status):
    vehicle(stock_number="GONE01", status=status)
    assert client.get("/stock/GONE01/").status_code == 404


def test_a_reserved_car_is_shown_as_reserved(client):
    vehicle(stock_number="RES001", status="reserved")
    response = client.get("/stock/RES001/")
    assert response.status_code == 200
    assert '<span class="badge">Reserved</span>' in response.content.decode()


def test_an_unknown_stock_number_is_not_found(client, db):
    assert client.get("/stock/NOPE/").status_code == 404


def test_the_ports_of_a_country_for_the_picker(client, db):
    port = mombasa()
    body = client.get("/stock/ports/", {"country": "KE"}).content.decode()
    assert f'<option value="{port.pk}">Mombasa</option>' in body
    uganda = client.get("/stock/ports/", {"country": "ug"}).content.decode()
    assert "Mombasa (transit to Uganda)" in uganda
    assert "Dar es Salaam (transit to Uganda)" in uganda
    nothing = client.get("/stock/ports/", {"country": "nonsense"})
    assert nothing.status_code == 200
    assert '<option value="">Choose a port</option>' in nothing.content.decode()
    assert nothing.content.decode().count("<option") == 1


# --- the destination is remembered ------------------------------------------------------------


def test_a_signed_in_customers_destination_is_saved_in_their_profile(alice_client, alice, prius):
    port = mombasa()
    roro_rate(port)
    alice_client.get("/stock/KA1001/", {"port": port.pk, "method": "roro", "currency": "EUR"})
    saved = CustomerDestination.objects.get(user=alice)
    assert (saved.port, saved.method, saved.currency) == (port, "roro", "EUR")
    # The next page already prices to Mombasa.
    body = alice_client.get("/stock/KA1001/").content.decode()
    assert "CIF total" in body
    assert "Rules checked for Mombasa (Kenya)" in alice_client.get("/stock/").content.decode()


def test_a_bad_choice_does_not_overwrite_the_saved_destination(alice_client, alice, prius):
    port = mombasa()
    CustomerDestination.objects.create(user=alice, port=port, method="roro", currency="USD")
    alice_client.get("/stock/KA1001/", {"port": "99999", "currency": "EUR"})
    saved = CustomerDestination.objects.get(user=alice)
    assert (saved.port, saved.currency) == (port, "USD")


def test_a_visitor_without_consent_gets_no_destination_cookie_only_the_session(client, prius):
    port = mombasa()
    response = client.get("/stock/KA1001/", {"port": port.pk, "method": "roro"})
    assert response.status_code == 200
    assert DESTINATION_COOKIE not in response.cookies
    assert client.session["destination"] == f"{port.pk}:roro:USD"
    # Still remembered for the rest of the visit.
    assert "Rules checked for Mombasa (Kenya)" in client.get("/stock/").content.decode()
    assert not CustomerDestination.objects.exists()


def test_a_visitor_who_refused_cookies_gets_no_destination_cookie(client, prius):
    client.post("/privacy/cookies/choice/", {"choice": "reject_all"})
    response = client.get("/stock/KA1001/", {"port": mombasa().pk})
    assert DESTINATION_COOKIE not in response.cookies


def test_a_visitor_who_accepted_cookies_gets_the_destination_cookie(client, prius):
    client.post("/privacy/cookies/choice/", {"choice": "accept_all"})
    port = mombasa()
    response = client.get("/stock/KA1001/", {"port": port.pk, "method": "roro", "currency": "USD"})
    cookie = response.cookies[DESTINATION_COOKIE]
    assert cookie.value == f"{port.pk}:roro:USD"
    assert cookie["max-age"] > 0
    assert cookie["httponly"]
    assert "destination" not in client.session
    # Another visit on the same device (new session, same cookies) remembers it.
    del client.cookies[settings.SESSION_COOKIE_NAME]
    assert "Rules checked for Mombasa (Kenya)" in client.get("/stock/").content.decode()


def test_a_forged_destination_cookie_is_ignored(client, prius):
    client.post("/privacy/cookies/choice/", {"choice": "accept_all"})
    for forged in ("1:roro", "x:roro:USD", "1:air:USD", "1:roro:XYZ", "99999:roro:USD", ""):
        client.cookies[DESTINATION_COOKIE] = forged
        response = client.get("/stock/")
        assert response.status_code == 200
        assert "Rules checked for" not in response.content.decode()


def test_the_destination_cookie_is_declared_as_functional():
    declared = cookie_declarations()[DESTINATION_COOKIE]
    assert declared.category == "functional"


def test_every_port_has_a_country(db):
    assert not Port.objects.filter(country="").exists()

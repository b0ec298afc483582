"""The shop window end to end: search, price to the port, favourites with and without consent,
merge at sign-in, inquiry, staff reply, and both in the customer's contact history."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from exportdesk.stock.demo import seed_stock
from exportdesk.stock.models import ExchangeRate, FreightRate, Port, Vehicle
from tests.conftest import ensure_reference_data
from tests.e2e.conftest import cookie_names, reject_cookies, sign_in
from tests.factories import PASSWORD, customer, staff, totp_now

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def shop(transactional_db):
    ensure_reference_data()
    seed_stock(count=40)
    mombasa = Port.objects.get(country="KE", code="KEMBA")
    FreightRate.objects.create(port=mombasa, method="roro", basis="per_m3", per_m3_jpy=9500)
    ExchangeRate.objects.create(
        currency="USD", jpy_per_unit=Decimal("150"), rate_date=date(2026, 11, 20)
    )
    # A young right-hand-drive Toyota: allowed in Kenya.
    car = (
        Vehicle.objects.filter(make__slug="toyota", steering="rhd", listed=1)
        .order_by("-first_registration_year")
        .first()
    )
    car.first_registration_year, car.status = 2023, "available"
    car.save()
    other = Vehicle.objects.filter(listed=1).exclude(pk=car.pk).first()
    return {"car": car, "other": other, "mombasa": mombasa}


def _open_vehicle_with_price(page: Page, car: Vehicle) -> None:
    page.goto("/stock/")
    page.locator("#f-make").select_option("toyota")
    page.locator("#search-form").get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"make=toyota"))
    expect(page.locator("#results-count")).to_contain_text("vehicles found")
    page.goto(f"/stock/{car.stock_number}/")
    expect(page.get_by_role("heading", name=car.title)).to_be_visible()
    page.locator("#dest-country").select_option("KE")
    # htmx fills the ports of the chosen country.
    expect(page.locator("#dest-port option", has_text="Mombasa")).to_have_count(1)
    page.locator("#dest-port").select_option(label="Mombasa")
    page.locator("#dest-currency").select_option("USD")
    page.get_by_role("button", name="Show the price").click()
    price_box = page.locator(".price-box")
    expect(price_box).to_contain_text("C&F total")
    expect(price_box).to_contain_text("CIF total")
    expect(price_box).to_contain_text("≈ USD")
    expect(price_box).to_contain_text("This vehicle can go to Kenya.")
    expect(price_box).to_contain_text("Pre-shipment inspection")


def test_the_whole_shop_journey(browser_contexts, shop, live_server):
    visitor, staff_context = browser_contexts(), browser_contexts()
    alice = customer("alice@example.com", "KE", name="Alice Wanjiru")
    sam = staff("sam.sales@exporter.example", "sales")
    car = shop["car"]

    page = visitor.new_page()
    page.goto("/")
    reject_cookies(page)
    _open_vehicle_with_price(page, car)

    # Favourite as a visitor without functional consent: kept for the session only.
    page.locator(".price-box").get_by_role("button", name="Add to favourites").click()
    expect(page.locator(".messages")).to_contain_text("Added to your favourites.")
    assert "myfavlist" not in cookie_names(visitor)
    page.goto("/stock/favourites/")
    expect(page.locator("main")).to_contain_text("last only until you close the browser")
    expect(page.locator("main")).to_contain_text(car.title)

    # Signing in merges the visitor's favourites into the account.
    sign_in(page, alice.email, PASSWORD)
    page.goto("/mypage/favourites/")
    expect(page.locator("main")).to_contain_text(car.title)

    # Inquiry about the car, pre-filled for the signed-in customer.
    page.goto(f"/stock/{car.stock_number}/")
    page.get_by_role("link", name="Ask about this vehicle").click()
    form = page.locator("main form")
    expect(form.get_by_label("Your name")).to_have_value("Alice Wanjiru")
    expect(form.get_by_label("E-mail address")).to_have_value("alice@example.com")
    form.get_by_label("Message").fill("Is the car still available for shipping in December?")
    form.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name="Thank you, we have your message")).to_be_visible()

    # Staff see it in the queue and reply.
    staff_page = staff_context.new_page()
    staff_page.goto("/")
    reject_cookies(staff_page)
    sign_in(staff_page, sam.email, PASSWORD)
    staff_page.get_by_label("6-digit code from your authenticator app").fill(totp_now(sam))
    staff_page.get_by_role("button", name="Continue").click()
    staff_page.goto("/backoffice/inquiries/")
    staff_page.locator("main table").get_by_role("link").first.click()
    expect(staff_page.locator("main")).to_contain_text("still available for shipping in December")
    staff_page.get_by_label("Reply").fill("Yes, it can sail from Yokohama on 12 December.")
    staff_page.get_by_role("button", name="Send reply by e-mail").click()
    expect(staff_page.locator(".messages")).to_contain_text("Your reply was sent")

    # The customer sees both in the contact history.
    page.goto("/mypage/contact-history/")
    history = page.locator("main")
    expect(history).to_contain_text("Is the car still available for shipping in December?")
    expect(history).to_contain_text("Yes, it can sail from Yokohama on 12 December.")


def test_a_visitor_who_allows_functional_cookies_keeps_favourites_in_a_cookie(
    browser_contexts, shop, live_server
):
    visitor = browser_contexts()
    page = visitor.new_page()
    page.goto("/")
    page.locator("#cookie-banner").get_by_role("button", name="Accept all").click()
    page.goto(f"/stock/{shop['other'].stock_number}/")
    page.locator(".price-box").get_by_role("button", name="Add to favourites").click()
    expect(page.locator(".messages")).to_contain_text("Added to your favourites.")
    favourites = next(c for c in visitor.cookies() if c["name"] == "myfavlist")
    assert 4 * 86400 < favourites["expires"] - __import__("time").time() <= 5 * 86400 + 60
    page.goto("/stock/favourites/")
    expect(page.locator("main")).to_contain_text("kept in a cookie on this device for 5 days")
    expect(page.locator("main")).to_contain_text(shop["other"].title)


@pytest.fixture
def browser_contexts(new_context) -> object:
    def make() -> BrowserContext:
        return new_context()

    return make

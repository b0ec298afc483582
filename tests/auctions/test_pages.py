"""The auction pages: customers search lots, see the sheet, ask us to bid, and keep track in
Bid History; staff enter lots, work the day's queue and record results. Nobody reaches what is
not theirs."""

from __future__ import annotations

import re
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from exportdesk.auctions.models import AuctionLot, AuctionSettings, BidRequest
from exportdesk.auctions.services import (
    AuctionCosts,
    bid_request_mark_processed,
    bid_request_place,
    bid_result_won,
)
from exportdesk.payments.models import DepositHold
from exportdesk.payments.selectors import deposit_available, ledger_check
from exportdesk.sales.models import Order
from exportdesk.stock.models import Vehicle, VehicleMake, VehicleModel
from tests.auctions.factories import at_japan, lot
from tests.conftest import staff_login
from tests.factories import staff
from tests.stock.factories import jpeg_bytes, mombasa, this_year

pytestmark = pytest.mark.django_db


@pytest.fixture
def sam(db):
    return staff("sam.sales@exporter.example", "sales")


@pytest.fixture
def sales_client(sam) -> Client:
    return staff_login(Client(), sam)


def place(customer, the_lot, max_bid=1_500_000):
    return bid_request_place(
        customer=customer, lot=the_lot, max_bid_jpy=max_bid, note="", port=None, deposit=None
    )


def html(response) -> str:
    return response.content.decode()


# --- Customers: finding lots ---------------------------------------------------------------------


def test_lots_need_a_signed_in_customer(client, db):
    response = client.get("/auctions/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_only_upcoming_lots_are_listed_with_japan_time_utc_and_a_local_time_hook(
    alice_client, market
):
    soon = lot(auction_at=at_japan("2099-06-12 13:30"), lot_number="40001")
    lot(auction_at=timezone.now() - timedelta(hours=1), lot_number="40002")
    lot(status=AuctionLot.Status.WITHDRAWN, lot_number="40003")

    page = html(alice_client.get("/auctions/"))

    assert "Lot 40001" in page and "Lot 40002" not in page and "Lot 40003" not in page
    assert f'href="/auctions/lots/{soon.pk}/"' in page
    assert '<time datetime="2099-06-12T04:30:00+00:00" data-local-time' in page
    assert "2099-06-12 13:30 Japan time" in page and "(2099-06-12 04:30 UTC)" in page
    assert 'src="/static/auctions/local-time.js"' in page


def test_filters_narrow_the_lots_and_pages_follow_them(alice_client, market):
    honda = VehicleMake.objects.get(slug="honda")
    fit = VehicleModel.objects.filter(make=honda).first()
    lot(make="honda", model=fit.slug, lot_number="50001", start_price_jpy=300_000)
    lot(auction_house="TAA Kinki", lot_number="50002", year=this_year() - 9)
    # One Japan day, five days ahead, whatever the time the test runs at (lots spread over
    # hours from now would cross midnight in Japan in the evening there).
    day = (timezone.now() + timedelta(days=5)).astimezone(at_japan("2000-01-01").tzinfo).date()
    for n in range(22):
        lot(lot_number=f"6{n:04d}", auction_at=at_japan(f"{day} 10:{n:02d}"))

    def numbers(query: str) -> list[str]:
        return re.findall(r">Lot (\d+)</a>", html(alice_client.get(f"/auctions/?{query}")))

    assert numbers("make=honda") == ["50001"]
    assert numbers("auction_house=TAA+Kinki") == ["50002"]
    assert numbers(f"year_max={this_year() - 5}") == ["50002"]
    assert numbers("price_max=500000") == ["50001"]
    assert len(numbers(f"day_from={day}&day_to={day}")) == 20  # one page of the 22
    assert len(numbers(f"day_from={day}&day_to={day}&page=2")) == 2
    page = html(alice_client.get(f"/auctions/?day_from={day}"))
    assert f'href="?day_from={day}&amp;page=2"' in page


def test_a_bad_filter_is_explained_and_the_others_still_apply(alice_client, market):
    lot(lot_number="70001", start_price_jpy=300_000)
    lot(lot_number="70002", start_price_jpy=900_000)
    response = alice_client.get("/auctions/?year_min=abc&price_max=500000")
    assert response.status_code == 400
    assert "Enter a whole number." in html(response)
    assert re.findall(r">Lot (\d+)</a>", html(response)) == ["70001"]


def test_the_lot_page_shows_the_sheet_translation_and_the_bid_form(alice_client, deposit):
    the_lot = lot(sheet_notes="Dent on the left door (U2).\nSeats clean.")
    page = html(alice_client.get(f"/auctions/lots/{the_lot.pk}/"))
    assert "Dent on the left door (U2).<br>Seats clean." in page
    assert "The auction sheet is not in yet." in page
    assert 'name="max_bid_jpy"' in page and "Send the bid request" in page
    assert "We hold 10 % of your maximum bid (at least JPY 100,000)" in page
    assert "Deposit with USD 5,000.00 free" in page


def test_without_a_deposit_the_lot_page_sends_the_customer_to_the_payment_manager(
    alice_client, market
):
    page = html(alice_client.get(f"/auctions/lots/{lot().pk}/"))
    assert "Bidding needs a confirmed deposit with money free." in page
    assert 'href="/mypage/payments/"' in page and 'name="max_bid_jpy"' not in page


# --- Customers: bid requests on the page ------------------------------------------------------------


def test_a_customer_asks_us_to_bid_and_sees_it_pending_in_bid_history(alice_client, deposit):
    the_lot = lot(lot_number="80001")
    response = alice_client.post(
        f"/auctions/lots/{the_lot.pk}/",
        {"max_bid_jpy": "1500000", "note": "Check the timing chain", "port": mombasa().pk},
    )
    assert response.status_code == 302 and response.url == "/mypage/bids/"
    bid = BidRequest.objects.get(customer=deposit.customer)
    assert bid.port == mombasa() and bid.note == "Check the timing chain"

    history = html(alice_client.get("/mypage/bids/"))
    assert "We have your request to bid up to JPY 1,500,000 on lot 80001." in history
    assert "Lot 80001, USS Tokyo" in history and "JPY 1,500,000" in history
    assert "Pending" in history and "USD 984.90 of your deposit held" in history
    assert f'href="/mypage/bids/{bid.pk}/edit/"' in history
    assert f'action="/mypage/bids/{bid.pk}/withdraw/"' in history
    assert 'aria-current="page">Bids</a>' in history


def test_a_bid_above_the_deposit_limit_re_renders_the_form_with_the_reason(alice_client, deposit):
    the_lot = lot()
    response = alice_client.post(f"/auctions/lots/{the_lot.pk}/", {"max_bid_jpy": "100000000"})
    assert response.status_code == 400
    assert (
        "A maximum bid of JPY 100,000,000 needs USD 65,659.90 of your deposit held, but only "
        "USD 5,000.00 of it is free." in html(response)
    )
    assert not BidRequest.objects.exists() and not DepositHold.objects.exists()


def test_a_bid_on_a_past_auction_is_refused_on_the_page(alice_client, deposit):
    past = lot(auction_at=timezone.now() - timedelta(minutes=5))
    page = html(alice_client.get(f"/auctions/lots/{past.pk}/"))
    assert "Bid requests for this lot closed at" in page and 'name="max_bid_jpy"' not in page
    response = alice_client.post(f"/auctions/lots/{past.pk}/", {"max_bid_jpy": "1500000"})
    assert response.status_code == 400
    assert "This auction has already taken place." in html(response)
    assert not BidRequest.objects.exists()


def test_bad_input_on_the_bid_form_changes_nothing(alice_client, deposit):
    the_lot = lot()
    response = alice_client.post(
        f"/auctions/lots/{the_lot.pk}/",
        {"max_bid_jpy": "-5", "note": "x" * 1001, "port": "999999", "deposit": "abc"},
    )
    assert response.status_code == 400
    page = html(response)
    assert "Ensure this value is greater than or equal to 1." in page
    assert "Ensure this value has at most 1000 characters (it has 1001)." in page
    assert "Select a valid choice." in page
    assert not BidRequest.objects.exists()


def test_changing_a_pending_request_on_the_page_resizes_the_hold(alice_client, alice, deposit):
    bid = place(alice, lot())
    response = alice_client.post(
        f"/mypage/bids/{bid.pk}/edit/", {"max_bid_jpy": "3000000", "note": "Up to three"}
    )
    assert response.status_code == 302
    bid.refresh_from_db()
    assert bid.max_bid_jpy == 3_000_000 and bid.hold.amount == Decimal("1969.80")
    assert ledger_check() == []


def test_a_processed_request_cannot_be_changed_or_withdrawn_on_the_page(
    alice_client, alice, deposit, sam
):
    bid = bid_request_mark_processed(bid=place(alice, lot()), staff=sam)

    history = html(alice_client.get("/mypage/bids/"))
    assert "Being bid: locked" in history
    assert f"/mypage/bids/{bid.pk}/edit/" not in history
    assert f"/mypage/bids/{bid.pk}/withdraw/" not in history

    response = alice_client.post(f"/mypage/bids/{bid.pk}/edit/", {"max_bid_jpy": "3000000"})
    assert response.status_code == 302
    followed = html(alice_client.get(response.url))
    assert "This bid request can no longer be changed" in followed
    response = alice_client.post(f"/mypage/bids/{bid.pk}/withdraw/")
    assert response.status_code == 302
    assert "can no longer be changed" in html(alice_client.get(response.url))

    bid.refresh_from_db()
    assert bid.status == BidRequest.Status.PROCESSED and bid.max_bid_jpy == 1_500_000
    assert bid.hold.status == DepositHold.Status.HELD


def test_withdrawing_on_the_page_frees_the_deposit(alice_client, alice, deposit):
    bid = place(alice, lot())
    assert alice_client.post(f"/mypage/bids/{bid.pk}/withdraw/").status_code == 302
    bid.refresh_from_db()
    assert bid.status == BidRequest.Status.WITHDRAWN
    assert deposit_available(deposit) == Decimal(5000)
    assert alice_client.get(f"/mypage/bids/{bid.pk}/withdraw/").status_code == 405


def test_another_customers_request_is_404_everywhere(client, alice, bob, deposit):
    bid = place(alice, lot())
    client.force_login(bob)
    assert client.get(f"/mypage/bids/{bid.pk}/edit/").status_code == 404
    assert (
        client.post(f"/mypage/bids/{bid.pk}/edit/", {"max_bid_jpy": "2000000"}).status_code == 404
    )
    assert client.post(f"/mypage/bids/{bid.pk}/withdraw/").status_code == 404
    assert "Lot " not in html(client.get("/mypage/bids/"))
    bid.refresh_from_db()
    assert bid.status == BidRequest.Status.PENDING and bid.max_bid_jpy == 1_500_000


def test_a_won_bid_shows_its_hammer_price_and_order_in_bid_history(
    alice_client, alice, deposit, sam
):
    bid = bid_request_mark_processed(bid=place(alice, lot()), staff=sam)
    won = bid_result_won(bid=bid, staff=sam, costs=AuctionCosts(1_200_000, 15_000))
    history = html(alice_client.get("/mypage/bids/"))
    assert "Won for JPY 1,200,000" in history
    assert (
        f'<a href="/mypage/proformas/{won.order.proforma.number}/">{won.order.number}</a>'
        in history
    )
    assert alice_client.get(f"/mypage/proformas/{won.order.proforma.number}/").status_code == 200


# --- The auction sheet -----------------------------------------------------------------------------


def lot_form(**changes: object) -> dict[str, object]:
    toyota = VehicleMake.objects.get(slug="toyota")
    values: dict[str, object] = {
        "auction_house": "USS Yokohama",
        "auction_date": "2099-07-01",
        "auction_time": "09:45",
        "lot_number": "90001",
        "make": toyota.pk,
        "model": VehicleModel.objects.get(make=toyota, slug="prius").pk,
        "year": this_year() - 4,
        "grade": "A",
        "body_type": "hatchback",
        "chassis_number": "zvw30-1234567",
        "engine_cc": 1800,
        "fuel": "hybrid",
        "transmission": "cvt",
        "drive": "2wd",
        "steering": "rhd",
        "mileage_km": 61_000,
        "colour": "black",
        "seats": 5,
        "doors": 5,
        "length_mm": 4480,
        "width_mm": 1745,
        "height_mm": 1490,
        "weight_kg": 1380,
        "auction_grade": "3.5",
        "start_price_jpy": 500_000,
        "sheet_notes": "Windscreen chip.",
    }
    values.update(changes)
    return values


def test_staff_add_a_lot_in_japan_time_with_its_sheet_which_only_signed_in_people_see(
    sales_client, client, alice
):
    sheet = SimpleUploadedFile("sheet.jpg", jpeg_bytes((1600, 2200)), "image/jpeg")
    response = sales_client.post("/backoffice/auctions/lots/new/", {**lot_form(), "sheet": sheet})
    assert response.status_code == 302
    the_lot = AuctionLot.objects.get(lot_number="90001")
    assert the_lot.auction_at == at_japan("2099-07-01 09:45")
    assert the_lot.auction_at.astimezone(UTC).hour == 0  # 09:45 JST is 00:45 UTC
    assert the_lot.chassis_number == "ZVW30-1234567" and the_lot.colour == "Black"
    edit = html(sales_client.get(f"/backoffice/auctions/lots/{the_lot.pk}/"))
    assert 'value="2099-07-01"' in edit and 'value="09:45"' in edit

    assert client.get(f"/auctions/lots/{the_lot.pk}/sheet/full/").status_code == 302
    client.force_login(alice)
    full = client.get(f"/auctions/lots/{the_lot.pk}/sheet/full/")
    thumb = client.get(f"/auctions/lots/{the_lot.pk}/sheet/thumb/")
    assert full.status_code == thumb.status_code == 200
    assert full["Content-Type"] == "image/jpeg"
    assert len(b"".join(thumb.streaming_content)) < len(b"".join(full.streaming_content))
    assert client.get(f"/auctions/lots/{the_lot.pk}/sheet/huge/").status_code == 404
    assert f"/auctions/lots/{the_lot.pk}/sheet/thumb/" in html(
        client.get(f"/auctions/lots/{the_lot.pk}/")
    )
    assert client.get(f"/auctions/lots/{lot().pk}/sheet/full/").status_code == 404


def test_bad_lot_input_re_renders_with_specific_errors(sales_client):
    response = sales_client.post(
        "/backoffice/auctions/lots/new/",
        {
            **lot_form(
                chassis_number="nonsense",
                auction_date="2001-01-01",
                mileage_km=9_000_000,
                model=VehicleModel.objects.filter(make__slug="honda").first().pk,
            ),
            "sheet": SimpleUploadedFile("sheet.jpg", b"MZ not an image", "image/jpeg"),
        },
    )
    assert response.status_code == 400
    page = html(response)
    assert "Enter a Japanese frame number" in page
    assert "The auction date and time are in the past." in page
    assert "Ensure this value is less than or equal to 2000000." in page
    assert "That model is not made by Toyota." in page
    assert not AuctionLot.objects.exists()
    # A valid lot with a sheet that is not an image: the sheet is refused, nothing is saved.
    response = sales_client.post(
        "/backoffice/auctions/lots/new/",
        {**lot_form(), "sheet": SimpleUploadedFile("sheet.jpg", b"MZ not an image", "image/jpeg")},
    )
    assert response.status_code == 400
    assert "The auction sheet must be an image we can read" in html(response)
    assert not AuctionLot.objects.exists()


def test_a_lot_number_listed_that_day_is_refused(sales_client):
    lot(auction_house="USS Yokohama", auction_at=at_japan("2099-07-01 11:00"), lot_number="90001")
    response = sales_client.post("/backoffice/auctions/lots/new/", lot_form())
    assert response.status_code == 400
    assert "Lot 90001 of USS Yokohama on 2099-07-01 is already listed." in html(response)
    assert AuctionLot.objects.count() == 1


# --- Staff: the queue and results ----------------------------------------------------------------


def test_the_queue_lists_the_days_requests_and_staff_record_a_win(sales_client, alice, deposit):
    bid = place(alice, lot(auction_at=at_japan("2099-06-12 13:30"), lot_number="10234"))
    queue = html(sales_client.get("/backoffice/auctions/?day=2099-06-12"))
    assert "USS Tokyo lot 10234" in queue and alice.email in queue and "13:30" in queue
    assert html(sales_client.get("/backoffice/auctions/?day=not-a-day")).count("No bid requests")

    assert sales_client.post(f"/backoffice/auctions/bids/{bid.pk}/processed/").status_code == 302
    bid.refresh_from_db()
    assert bid.status == BidRequest.Status.PROCESSED

    too_much = sales_client.post(
        f"/backoffice/auctions/bids/{bid.pk}/won/",
        {
            "hammer_price_jpy": "1600000",
            "auction_fee_jpy": "0",
            "recycle_fee_jpy": "0",
            "tax_jpy": "0",
        },
    )
    assert too_much.status_code == 400
    assert "above the customer&#x27;s maximum of JPY 1,500,000" in html(too_much)
    assert not Vehicle.objects.exists()

    response = sales_client.post(
        f"/backoffice/auctions/bids/{bid.pk}/won/",
        {
            "hammer_price_jpy": "1200000",
            "auction_fee_jpy": "15000",
            "recycle_fee_jpy": "12000",
            "tax_jpy": "120000",
        },
    )
    assert response.status_code == 302
    bid.refresh_from_db()
    assert bid.status == BidRequest.Status.WON
    order = Order.objects.get(bid_request=bid)
    detail = html(sales_client.get(response.url))
    assert f"Recorded as won: vehicle {bid.vehicle.stock_number}, order {order.number}." in detail
    assert ledger_check() == []


def test_staff_record_a_loss_and_the_deposit_is_free_again(sales_client, alice, deposit, sam):
    bid = bid_request_mark_processed(bid=place(alice, lot()), staff=sam)
    response = sales_client.post(
        f"/backoffice/auctions/bids/{bid.pk}/lost/", {"hammer_price_jpy": "1800000"}
    )
    assert response.status_code == 302
    bid.refresh_from_db()
    assert bid.status == BidRequest.Status.LOST
    assert deposit_available(deposit) == Decimal(5000)


def test_who_may_see_and_work_the_queue(client, alice, deposit):
    bid = place(alice, lot())
    client.force_login(alice)
    for path in [
        "/backoffice/auctions/",
        f"/backoffice/auctions/bids/{bid.pk}/",
        "/backoffice/auctions/lots/",
    ]:
        assert client.get(path).status_code == 403, path
    assert client.post(f"/backoffice/auctions/bids/{bid.pk}/processed/").status_code == 403
    client.logout()

    # Logistics may look at requests but not work them.
    logistics = staff_login(Client(), staff("lou.logistics@exporter.example", "logistics"))
    assert logistics.get(f"/backoffice/auctions/bids/{bid.pk}/").status_code == 200
    assert logistics.post(f"/backoffice/auctions/bids/{bid.pk}/processed/").status_code == 403
    assert logistics.post(f"/backoffice/auctions/bids/{bid.pk}/lost/").status_code == 403
    assert logistics.get("/backoffice/auctions/lots/new/").status_code == 403
    # Accounting works neither lots nor bids.
    accounting = staff_login(Client(), staff("acc.two@exporter.example", "accounting"))
    assert accounting.get("/backoffice/auctions/").status_code == 403
    bid.refresh_from_db()
    assert bid.status == BidRequest.Status.PENDING


def test_the_hold_settings_apply_to_new_requests(sales_client, alice, deposit):
    response = sales_client.post(
        "/backoffice/auctions/settings/",
        {"hold_percent": "20", "minimum_hold_jpy": "50000", "request_cutoff_minutes": "30"},
    )
    assert response.status_code == 302
    assert AuctionSettings.objects.get().hold_percent == Decimal(20)
    bid = place(alice, lot(), max_bid=1_000_000)
    assert bid.hold.amount == Decimal("1313.20")  # 20 % of JPY 1,000,000 at 152.30
    bad = sales_client.post(
        "/backoffice/auctions/settings/",
        {"hold_percent": "150", "minimum_hold_jpy": "-1", "request_cutoff_minutes": "x"},
    )
    assert bad.status_code == 400
    assert AuctionSettings.objects.get().hold_percent == Decimal(20)


# --- Query counts ------------------------------------------------------------------------------


def queries(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_list_pages_do_not_query_per_row(alice_client, alice, deposit, sam, sales_client):
    def add_bids(count: int) -> None:
        for _ in range(count):
            bid = bid_request_mark_processed(bid=place(alice, lot(), max_bid=800_000), staff=sam)
            bid_result_won(bid=bid, staff=sam, costs=AuctionCosts(800_000))

    add_bids(1)
    paths = ["/mypage/bids/", "/auctions/", "/backoffice/auctions/lots/", "/api/v1/bids/"]
    few = {p: queries(sales_client if "backoffice" in p else alice_client, p) for p in paths}
    add_bids(3)
    for path in paths:
        client = sales_client if "backoffice" in path else alice_client
        assert queries(client, path) == few[path], path

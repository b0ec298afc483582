"""Results staff record: a won lot becomes a reserved vehicle and an order with the auction's
costs, paid from the held deposit once accounting approves; a lost one gives the money back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exportdesk.auctions.models import AuctionLot, BidRequest
from exportdesk.auctions.services import (
    AuctionCosts,
    BidRefused,
    bid_request_mark_processed,
    bid_request_place,
    bid_result_lost,
    bid_result_won,
    stock_number_for,
)
from exportdesk.messaging.models import ContactEvent
from exportdesk.payments.models import Allocation, DepositHold
from exportdesk.payments.selectors import deposit_available, ledger_check
from exportdesk.payments.services import allocation_decide
from exportdesk.sales.models import Order, Proforma
from exportdesk.stock.models import Vehicle
from tests.auctions.factories import at_japan, lot
from tests.factories import staff
from tests.stock.factories import kingston, mombasa

pytestmark = pytest.mark.django_db

COSTS = AuctionCosts(
    hammer_price_jpy=1_200_000, auction_fee_jpy=15_000, recycle_fee_jpy=12_000, tax_jpy=120_000
)


@pytest.fixture
def sam(db):
    return staff("sam.sales@exporter.example", "sales")


def processed_bid(customer, sam, *, port=None, max_bid=1_500_000, **lot_fields):
    bid = bid_request_place(
        customer=customer,
        lot=lot(**lot_fields),
        max_bid_jpy=max_bid,
        note="",
        port=port,
        deposit=None,
    )
    return bid_request_mark_processed(bid=bid, staff=sam)


def test_won_makes_a_reserved_vehicle_an_order_with_the_costs_and_an_allocation_request(
    alice, deposit, sam, accountant, mailoutbox, committed
):
    bid = processed_bid(alice, sam, auction_at=at_japan("2099-06-12 13:30"), lot_number="10234")
    hold = bid.hold

    with committed():
        won = bid_result_won(bid=bid, staff=sam, costs=COSTS)

    vehicle = Vehicle.objects.get(bid_request=won)
    assert vehicle.stock_number == "USSTO990612-10234" == stock_number_for(won.lot)
    assert vehicle.status == "reserved"
    assert vehicle.fob_price_jpy == 1_200_000
    assert vehicle.chassis_number == won.lot.chassis_number
    order = Order.objects.get(bid_request=won)
    assert order.customer == alice and order.currency == "USD"
    proforma = order.proforma
    assert proforma.status == Proforma.Status.ACCEPTED and proforma.incoterm == "FOB"
    lines = {line.description: line.amount for line in proforma.lines.all()}
    # At 152.30 yen a dollar: the car and each of the auction's costs, converted.
    assert lines[f"{vehicle.stock_number} {vehicle.title} ({vehicle.chassis_number})"] == Decimal(
        "7879.19"
    )
    assert lines["Auction fee (JPY 15,000)"] == Decimal("98.49")
    assert lines["Recycle fee (JPY 12,000)"] == Decimal("78.79")
    assert lines["Consumption tax (JPY 120,000)"] == Decimal("787.92")
    assert order.total == Decimal("8844.39")

    allocation = Allocation.objects.get(order=order)
    assert allocation.status == Allocation.Status.PENDING
    assert allocation.deposit == deposit and allocation.amount == Decimal("984.90")
    hold.refresh_from_db()
    assert hold.status == DepositHold.Status.CONVERTED and hold.allocation == allocation
    assert ledger_check() == []

    assert won.status == BidRequest.Status.WON and won.hammer_price_jpy == 1_200_000
    assert (won.auction_fee_jpy, won.recycle_fee_jpy, won.tax_jpy) == (15_000, 12_000, 120_000)
    assert won.lot.status == AuctionLot.Status.CLOSED
    assert ContactEvent.objects.filter(customer=alice, subject__startswith="Won:").exists()
    subjects = [mail.subject for mail in mailoutbox]
    assert "We won lot 10234 at USS Tokyo for you" in subjects
    won_mail = next(m for m in mailoutbox if m.subject.startswith("We won"))
    assert order.number in won_mail.body and "JPY 1,200,000" in won_mail.body

    # Accounting approves as usual: the deposit pays part of the order; the books still agree.
    allocation_decide(allocation=allocation, staff=accountant, approve=True)
    assert deposit_available(deposit) == Decimal(5000) - Decimal("984.90")
    assert ledger_check() == []


def test_won_with_a_port_is_priced_cnf_to_that_port(alice, deposit, sam):
    bid = processed_bid(alice, sam, port=mombasa())
    won = bid_result_won(bid=bid, staff=sam, costs=COSTS)
    proforma = won.order.proforma
    assert proforma.incoterm == "CNF" and proforma.port == mombasa()
    assert proforma.lines.filter(kind="freight").exists()
    assert ledger_check() == []


def test_a_won_price_above_the_customers_maximum_is_refused(alice, deposit, sam):
    bid = processed_bid(alice, sam, max_bid=1_100_000)
    with pytest.raises(BidRefused, match=r"JPY 1,200,000 is above the customer's maximum"):
        bid_result_won(bid=bid, staff=sam, costs=COSTS)
    bid.refresh_from_db()
    assert bid.status == BidRequest.Status.PROCESSED
    assert not Vehicle.objects.exists() and not Order.objects.exists()
    assert bid.hold.status == DepositHold.Status.HELD


def test_a_won_result_that_cannot_be_invoiced_changes_nothing(alice, deposit, sam):
    # No freight rate to Kingston is on file: the C&F proforma cannot be priced.
    bid = processed_bid(alice, sam, port=kingston())
    with pytest.raises(BidRefused, match="No RoRo freight rate is on file for Kingston"):
        bid_result_won(bid=bid, staff=sam, costs=COSTS)
    assert not Vehicle.objects.exists() and not Proforma.objects.exists()
    bid.refresh_from_db()
    assert bid.status == BidRequest.Status.PROCESSED
    assert bid.hold.status == DepositHold.Status.HELD
    assert ledger_check() == []


def test_a_result_needs_the_request_processed_first(alice, deposit, sam):
    bid = bid_request_place(
        customer=alice, lot=lot(), max_bid_jpy=1_500_000, note="", port=None, deposit=None
    )
    with pytest.raises(BidRefused, match="Mark the request processed"):
        bid_result_won(bid=bid, staff=sam, costs=COSTS)
    with pytest.raises(BidRefused, match="Mark the request processed"):
        bid_result_lost(bid=bid, staff=sam)


def test_lost_releases_the_hold_and_the_deposit_is_free_again(
    alice, deposit, sam, mailoutbox, committed
):
    bid = processed_bid(alice, sam, lot_number="20777")
    assert deposit_available(deposit) == Decimal(5000) - Decimal("984.90")

    with committed():
        lost = bid_result_lost(bid=bid, staff=sam, hammer_price_jpy=1_900_000)

    assert lost.status == BidRequest.Status.LOST and lost.hammer_price_jpy == 1_900_000
    lost.hold.refresh_from_db()
    assert lost.hold.status == DepositHold.Status.RELEASED
    assert deposit_available(deposit) == Decimal(5000)
    assert ledger_check() == []
    assert not Vehicle.objects.exists() and not Order.objects.exists()
    (mail,) = mailoutbox
    assert mail.subject == "Lot 20777 at USS Tokyo went to another bidder"
    assert "JPY 1,900,000" in mail.body
    assert ContactEvent.objects.filter(customer=alice, subject__startswith="Not won:").exists()
    with pytest.raises(BidRefused, match="lost"):
        bid_result_lost(bid=lost, staff=sam)


def test_the_won_proformas_note_is_in_the_customers_language(alice, deposit, sam):
    alice.language = "ja"
    alice.save(update_fields=["language"])
    bid = processed_bid(alice, sam, auction_at=at_japan("2099-06-12 13:30"), lot_number="10234")

    won = bid_result_won(bid=bid, staff=sam, costs=COSTS)

    notes = Order.objects.get(bid_request=won).proforma.notes
    assert notes == (
        f"USS Tokyo 出品番号 10234（2099-06-12 13:30 日本時間）でお客様のために落札しました"
        f"（入札依頼 {won.pk}）。"
    )

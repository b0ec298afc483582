"""Bid requests through the services: each holds part of a confirmed deposit; refusals say why
and write nothing; edits re-size the hold; a processed request is locked."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from exportdesk.auctions.models import AuctionLot, AuctionSettings, BidRequest
from exportdesk.auctions.selectors import hold_in
from exportdesk.auctions.services import (
    BidRefused,
    bid_request_edit,
    bid_request_mark_processed,
    bid_request_place,
    bid_request_withdraw,
)
from exportdesk.core.models import AuditEvent
from exportdesk.messaging.models import ContactEvent
from exportdesk.payments.models import DepositHold, JournalEntry
from exportdesk.payments.selectors import deposit_available, ledger_check
from tests.auctions.factories import lot
from tests.factories import staff
from tests.payments.factories import confirmed_deposit
from tests.stock.factories import kingston, mombasa, this_year

pytestmark = pytest.mark.django_db


def place(customer, the_lot, max_bid=1_500_000, **kwargs):
    values = {"note": "", "port": None, "deposit": None, **kwargs}
    return bid_request_place(customer=customer, lot=the_lot, max_bid_jpy=max_bid, **values)


def nothing_written():
    assert not BidRequest.objects.exists()
    assert not DepositHold.objects.exists()
    assert not JournalEntry.objects.filter(kind=JournalEntry.Kind.HOLD).exists()


def test_a_bid_request_holds_ten_percent_of_the_maximum_on_the_deposit(alice, deposit):
    the_lot = lot()
    bid = place(alice, the_lot, max_bid=1_500_000, note="Only if no rust underneath")

    assert bid.status == BidRequest.Status.PENDING and bid.is_editable
    assert bid.hold is not None and bid.hold.deposit == deposit
    # 10 % of JPY 1,500,000 is JPY 150,000: at 152.30 yen a dollar, USD 984.90 (rounded up).
    assert bid.hold.currency == "USD" and bid.hold.amount == Decimal("984.90")
    assert deposit_available(deposit) == Decimal("4015.10")
    assert ledger_check() == []
    event = ContactEvent.objects.get(customer=alice, subject__startswith="Bid request:")
    assert "JPY 1,500,000" in event.subject and the_lot.lot_number in event.subject
    assert event.body == "Only if no rust underneath"
    assert AuditEvent.objects.filter(action="bid.placed", subject_id=alice.pk).exists()


def test_a_small_bid_holds_the_minimum(alice, deposit):
    bid = place(alice, lot(start_price_jpy=100_000), max_bid=300_000)
    # 10 % would be JPY 30,000; the smallest hold is JPY 100,000.
    assert bid.hold.amount == hold_in("USD", 100_000) == Decimal("656.60")


def test_a_bid_above_the_deposits_limit_is_refused_saying_how_much_is_needed(
    alice, market, accountant
):
    small = confirmed_deposit(alice, Decimal(500), staff=accountant)
    with pytest.raises(BidRefused) as refused:
        place(alice, lot(), max_bid=1_500_000, deposit=small)
    assert refused.value.message == (
        "A maximum bid of JPY 1,500,000 needs USD 984.90 of your deposit held, but only "
        "USD 500.00 of it is free. Lower the maximum or add to your deposit."
    )
    nothing_written()
    assert deposit_available(small) == Decimal(500)
    # Without naming a deposit, the same answer.
    with pytest.raises(BidRefused, match=r"needs USD 984\.90 .* only USD 500\.00"):
        place(alice, lot(), max_bid=1_500_000)
    nothing_written()


def test_without_a_confirmed_deposit_bidding_is_refused(alice, market):
    with pytest.raises(BidRefused, match="Bidding needs a confirmed deposit"):
        place(alice, lot())
    nothing_written()


def test_a_bid_on_a_past_auction_is_refused(alice, deposit):
    past = lot(auction_at=timezone.now() - timedelta(hours=2))
    with pytest.raises(BidRefused, match="This auction has already taken place"):
        place(alice, past)
    nothing_written()


def test_requests_close_before_the_auction(alice, deposit):
    AuctionSettings.objects.create(request_cutoff_minutes=90)
    soon = lot(auction_at=timezone.now() + timedelta(minutes=60))
    with pytest.raises(BidRefused, match=r"closed at .* Japan time, 90 minutes before"):
        place(alice, soon)
    nothing_written()


def test_a_lot_no_longer_offered_is_refused(alice, deposit):
    gone = lot(status=AuctionLot.Status.WITHDRAWN)
    with pytest.raises(BidRefused, match="no longer offered"):
        place(alice, gone)
    nothing_written()


def test_a_maximum_below_the_start_price_is_refused(alice, deposit):
    with pytest.raises(BidRefused, match=r"at least the start price, JPY 800,000"):
        place(alice, lot(start_price_jpy=800_000), max_bid=799_999)
    nothing_written()


def test_a_second_live_request_on_the_same_lot_is_refused_but_after_withdrawal_allowed(
    alice, deposit
):
    the_lot = lot()
    first = place(alice, the_lot)
    with pytest.raises(BidRefused, match="already asked us to bid on this lot"):
        place(alice, the_lot, max_bid=2_000_000)
    assert BidRequest.objects.count() == 1
    bid_request_withdraw(bid=first, customer=alice)
    again = place(alice, the_lot, max_bid=2_000_000)
    assert again.status == BidRequest.Status.PENDING


def test_a_car_that_cannot_go_to_the_destination_is_refused(alice, deposit):
    # Jamaica takes cars up to six years from manufacture: an eight-year-old one is too old.
    old = lot(year=this_year() - 8)
    with pytest.raises(BidRefused, match="Too old for Jamaica"):
        place(alice, old, port=kingston())
    # Without a port, the customer's own country decides: Kenya takes right-hand drive only.
    left = lot(steering="lhd", chassis_number="JTDKB20U093456789")
    with pytest.raises(BidRefused, match="accepts only right-hand drive"):
        place(alice, left)
    nothing_written()


def test_someone_elses_deposit_cannot_hold_a_bid(alice, bob, deposit):
    with pytest.raises(BidRefused, match="not yours"):
        place(bob, lot(), deposit=deposit)
    nothing_written()


def test_editing_the_maximum_resizes_the_hold_in_one_step(alice, deposit):
    bid = place(alice, lot(), max_bid=1_500_000, port=mombasa())
    old_hold = bid.hold

    changed = bid_request_edit(bid=bid, customer=alice, max_bid_jpy=3_000_000, note="Up to 3m")

    old_hold.refresh_from_db()
    assert old_hold.status == DepositHold.Status.RELEASED
    assert changed.hold != old_hold and changed.hold.amount == Decimal("1969.80")
    assert changed.max_bid_jpy == 3_000_000 and changed.note == "Up to 3m"
    assert deposit_available(deposit) == Decimal(5000) - Decimal("1969.80")
    assert ledger_check() == []
    assert ContactEvent.objects.filter(subject__startswith="Bid request changed").exists()


def test_an_edit_the_deposit_cannot_cover_changes_nothing(alice, market, accountant):
    small = confirmed_deposit(alice, Decimal(1000), staff=accountant)
    bid = place(alice, lot(), max_bid=1_000_000)
    with pytest.raises(BidRefused, match=r"needs USD 1,969.80 .* only USD 1,000.00"):
        bid_request_edit(bid=bid, customer=alice, max_bid_jpy=3_000_000, note="")
    bid.refresh_from_db()
    assert bid.max_bid_jpy == 1_000_000 and bid.hold.status == DepositHold.Status.HELD
    assert DepositHold.objects.count() == 1
    assert deposit_available(small) == Decimal(1000) - bid.hold.amount
    assert ledger_check() == []


def test_withdrawing_releases_the_hold(alice, deposit):
    bid = place(alice, lot())
    bid_request_withdraw(bid=bid, customer=alice)
    bid.refresh_from_db()
    assert bid.status == BidRequest.Status.WITHDRAWN
    assert bid.hold.status == DepositHold.Status.RELEASED
    assert deposit_available(deposit) == Decimal(5000)
    assert ledger_check() == []
    assert AuditEvent.objects.filter(action="bid.withdrawn").exists()


def test_a_processed_request_is_locked_in_the_service(alice, deposit):
    sam = staff("sam.sales@exporter.example", "sales")
    bid = place(alice, lot())
    bid_request_mark_processed(bid=bid, staff=sam)

    with pytest.raises(BidRefused) as refused:
        bid_request_edit(bid=bid, customer=alice, max_bid_jpy=2_000_000, note="more")
    assert refused.value.kind == "locked"
    assert "can no longer be changed" in refused.value.message
    with pytest.raises(BidRefused) as refused:
        bid_request_withdraw(bid=bid, customer=alice)
    assert refused.value.kind == "locked"

    bid.refresh_from_db()
    assert bid.status == BidRequest.Status.PROCESSED and bid.max_bid_jpy == 1_500_000
    assert bid.hold.status == DepositHold.Status.HELD
    assert ContactEvent.objects.filter(subject__startswith="We are bidding for you").exists()


def test_another_customers_request_is_not_found_by_the_service(alice, bob, deposit):
    bid = place(alice, lot())
    with pytest.raises(BidRefused) as refused:
        bid_request_edit(bid=bid, customer=bob, max_bid_jpy=2_000_000, note="")
    assert refused.value.kind == "not_found"
    with pytest.raises(BidRefused) as refused:
        bid_request_withdraw(bid=bid, customer=bob)
    assert refused.value.kind == "not_found"
    bid.refresh_from_db()
    assert bid.status == BidRequest.Status.PENDING and bid.max_bid_jpy == 1_500_000

"""Reads of auctions shared by the customer pages, the back office, the API and the demo."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from exportdesk.accounts.models import User
from exportdesk.auctions.models import AuctionLot, AuctionSettings, BidRequest
from exportdesk.core.money import minor_units
from exportdesk.payments.selectors import deposits_for
from exportdesk.payments.services import fx_rate_between
from exportdesk.stock.models import VehicleMake, VehicleModel

# Auctions are held, entered and announced in Japan time whatever the server's own zone.
JAPAN = ZoneInfo("Asia/Tokyo")

LIVE_BID_STATUSES = (BidRequest.Status.PENDING, BidRequest.Status.PROCESSED)


def auction_settings() -> AuctionSettings:
    """The one settings row, or the defaults (unsaved) until a manager first saves it."""
    return AuctionSettings.objects.order_by("pk").first() or AuctionSettings()


def japan_datetime(day: date, at: time) -> datetime:
    """An auction's date and time as entered (Japan time), as an aware datetime."""
    return datetime.combine(day, at, tzinfo=JAPAN)


def japan_day_bounds(day: date) -> tuple[datetime, datetime]:
    start = japan_datetime(day, time(0, 0))
    return start, start + timedelta(days=1)


def japan_today() -> date:
    return timezone.now().astimezone(JAPAN).date()


def requests_close_at(lot: AuctionLot, settings: AuctionSettings | None = None) -> datetime:
    """When bid requests for the lot stop being taken: staff need time before the hammer."""
    cutoff = (settings or auction_settings()).request_cutoff_minutes
    return lot.auction_at - timedelta(minutes=cutoff)


def lot_open_for_requests(lot: AuctionLot, settings: AuctionSettings | None = None) -> bool:
    return lot.status == AuctionLot.Status.UPCOMING and timezone.now() < requests_close_at(
        lot, settings
    )


def hold_jpy(max_bid_jpy: int, settings: AuctionSettings | None = None) -> int:
    """How much deposit a request up to `max_bid_jpy` sets aside, in yen (whole yen, up)."""
    current = settings or auction_settings()
    share = (Decimal(max_bid_jpy) * current.hold_percent / 100).to_integral_value(ROUND_CEILING)
    return max(current.minimum_hold_jpy, int(share))


def hold_in(currency: str, amount_jpy: int) -> Decimal:
    """A yen hold in a deposit's currency at the latest rate (rounded up to the minor unit, so a
    deposit never holds less than the yen asked). Raises PaymentRefused without a rate."""
    rate = fx_rate_between("JPY", currency)
    step = Decimal(1).scaleb(-minor_units(currency))
    return (Decimal(amount_jpy) * rate).quantize(step, rounding=ROUND_CEILING)


@dataclass(frozen=True)
class LotFilters:
    auction_house: str = ""
    day_from: date | None = None
    day_to: date | None = None
    make: VehicleMake | None = None
    model: VehicleModel | None = None
    year_min: int | None = None
    year_max: int | None = None
    price_min: int | None = None
    price_max: int | None = None


def upcoming_lots(filters: LotFilters | None = None) -> QuerySet[AuctionLot]:
    """Lots still to be auctioned, soonest first."""
    f = filters or LotFilters()
    lots = AuctionLot.objects.filter(
        status=AuctionLot.Status.UPCOMING, auction_at__gt=timezone.now()
    ).select_related("make", "model")
    if f.auction_house:
        lots = lots.filter(auction_house=f.auction_house)
    if f.day_from:
        lots = lots.filter(auction_at__gte=japan_day_bounds(f.day_from)[0])
    if f.day_to:
        lots = lots.filter(auction_at__lt=japan_day_bounds(f.day_to)[1])
    if f.make:
        lots = lots.filter(make=f.make)
    if f.model:
        lots = lots.filter(model=f.model)
    if f.year_min is not None:
        lots = lots.filter(year__gte=f.year_min)
    if f.year_max is not None:
        lots = lots.filter(year__lte=f.year_max)
    if f.price_min is not None:
        lots = lots.filter(start_price_jpy__gte=f.price_min)
    if f.price_max is not None:
        lots = lots.filter(start_price_jpy__lte=f.price_max)
    return lots.order_by("auction_at", "auction_house", "lot_number", "pk")


def auction_houses() -> list[str]:
    """Houses with upcoming lots, for the customers' filter."""
    return list(
        AuctionLot.objects.filter(status=AuctionLot.Status.UPCOMING, auction_at__gt=timezone.now())
        .order_by("auction_house")
        .values_list("auction_house", flat=True)
        .distinct()
    )


def bid_requests_for(customer: User) -> QuerySet[BidRequest]:
    """A customer's Bid History, newest first, with what each row shows."""
    return BidRequest.objects.filter(customer=customer).select_related(
        "lot__make", "lot__model", "port", "order__proforma", "hold", "order__invoice"
    )


def own_bid_request(customer: User, pk: int) -> BidRequest | None:
    """The customer's request, or None for someone else's (callers answer 404)."""
    return bid_requests_for(customer).filter(pk=pk).first()


def live_request_on(customer: User, lot: AuctionLot) -> BidRequest | None:
    return (
        BidRequest.objects.filter(customer=customer, lot=lot)
        .exclude(status=BidRequest.Status.WITHDRAWN)
        .first()
    )


@dataclass(frozen=True)
class DepositChoice:
    deposit_id: int
    currency: str
    available: Decimal


def bidding_deposits(customer: User) -> list[DepositChoice]:
    """Confirmed deposits a bid may hold money on: not reversed, not waiting for a third-party
    check (accounting would refuse to allocate them), with money free; oldest first."""
    return [
        DepositChoice(view.deposit.pk, view.deposit.currency, view.available)
        for view in sorted(
            deposits_for(customer), key=lambda v: (v.deposit.confirmed_at, v.deposit.pk)
        )
        if not view.deposit.held_for_review and view.available > 0
    ]


def bid_days(around: date) -> list[tuple[date, int]]:
    """Auction days (Japan dates) with live requests, from a week before `around`, with counts:
    the staff queue's day list."""
    start = japan_day_bounds(around - timedelta(days=7))[0]
    rows = (
        BidRequest.objects.filter(lot__auction_at__gte=start)
        .filter(Q(status__in=LIVE_BID_STATUSES))
        .values_list("lot__auction_at", flat=True)
    )
    counts: dict[date, int] = {}
    for at in rows:
        day = at.astimezone(JAPAN).date()
        counts[day] = counts.get(day, 0) + 1
    return sorted(counts.items())


def bid_queue(day: date) -> QuerySet[BidRequest]:
    """Every request on lots auctioned that Japan day, in hammer order."""
    start, end = japan_day_bounds(day)
    return (
        BidRequest.objects.filter(lot__auction_at__gte=start, lot__auction_at__lt=end)
        .select_related("lot__make", "lot__model", "customer", "port", "hold", "order")
        .order_by("lot__auction_at", "lot__auction_house", "lot__lot_number", "-max_bid_jpy", "pk")
    )


def lots_with_request_counts() -> QuerySet[AuctionLot]:
    return AuctionLot.objects.select_related("make", "model").annotate(
        live_requests=Count("bid_requests", filter=Q(bid_requests__status__in=LIVE_BID_STATUSES))
    )

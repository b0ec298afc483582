"""The bids API: a customer's bid requests (list, create, change, withdraw) through the same
services as the pages, so a processed request is locked here too.

Answers: 404 for a request that is not the caller's, 409 when staff have locked it, 400 when a
service refuses (with its reason), 422 for input that does not fit the schema.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from exportdesk.accounts.models import User
from exportdesk.auctions.models import AuctionLot, BidRequest
from exportdesk.auctions.selectors import bid_requests_for, own_bid_request
from exportdesk.auctions.services import (
    MAX_BID_JPY,
    NOTE_MAX,
    BidRefused,
    bid_request_edit,
    bid_request_place,
    bid_request_withdraw,
)
from exportdesk.payments.models import Deposit
from exportdesk.stock.models import Port

router = Router(tags=["bids"])

STATUS_FOR = {"locked": 409, "not_found": 404, "refused": 400}


class BidOut(Schema):
    id: int
    lot: int
    auction_house: str
    lot_number: str
    auction_at: datetime
    max_bid_jpy: int
    note: str
    port: int | None
    status: str
    editable: bool
    hold_amount: str | None
    hold_currency: str | None
    hammer_price_jpy: int | None
    order_number: str | None


class BidIn(Schema):
    lot: int
    max_bid_jpy: int = Field(..., ge=1, le=MAX_BID_JPY)
    note: str = Field("", max_length=NOTE_MAX)
    port: int | None = None
    deposit: int | None = None


class BidChange(Schema):
    max_bid_jpy: int | None = Field(None, ge=1, le=MAX_BID_JPY)
    note: str | None = Field(None, max_length=NOTE_MAX)


class Problem(Schema):
    detail: str


def _out(bid: BidRequest) -> BidOut:
    hold = bid.hold
    return BidOut(
        id=bid.pk,
        lot=bid.lot_id,
        auction_house=bid.lot.auction_house,
        lot_number=bid.lot.lot_number,
        auction_at=bid.lot.auction_at,
        max_bid_jpy=bid.max_bid_jpy,
        note=bid.note,
        port=bid.port_id,
        status=bid.status,
        editable=bid.is_editable,
        hold_amount=str(hold.amount) if hold else None,
        hold_currency=hold.currency if hold else None,
        hammer_price_jpy=bid.hammer_price_jpy,
        order_number=bid.order.number if bid.order else None,
    )


def _caller(request: HttpRequest) -> User:
    assert isinstance(request.auth, User)  # type: ignore[attr-defined]
    return request.auth  # type: ignore[attr-defined]


def _refused(refused: BidRefused) -> HttpError:
    return HttpError(STATUS_FOR.get(refused.kind, 400), refused.message)


def _own(request: HttpRequest, bid_id: int) -> BidRequest:
    bid = own_bid_request(_caller(request), bid_id)
    if bid is None:
        raise HttpError(404, "There is no such bid request.")
    return bid


def _fresh(customer: User, bid_id: int) -> BidOut:
    bid = own_bid_request(customer, bid_id)
    assert bid is not None
    return _out(bid)


@router.get("/", response=list[BidOut])
def bid_list(request: HttpRequest) -> list[BidOut]:
    return [_out(bid) for bid in bid_requests_for(_caller(request))]


@router.post("/", response={201: BidOut, 400: Problem, 409: Problem, 422: Problem})
def bid_create(request: HttpRequest, payload: BidIn) -> Status[BidOut]:
    customer = _caller(request)
    lot = AuctionLot.objects.filter(pk=payload.lot).first()
    if lot is None:
        raise HttpError(422, "There is no such auction lot.")
    port = None
    if payload.port is not None:
        port = Port.objects.filter(pk=payload.port).first()
        if port is None:
            raise HttpError(422, "There is no such port.")
    deposit = None
    if payload.deposit is not None:
        deposit = Deposit.objects.filter(pk=payload.deposit, customer=customer).first()
        if deposit is None:
            raise HttpError(422, "You have no such deposit.")
    try:
        bid = bid_request_place(
            customer=customer,
            lot=lot,
            max_bid_jpy=payload.max_bid_jpy,
            note=payload.note,
            port=port,
            deposit=deposit,
        )
    except BidRefused as refused:
        raise _refused(refused) from refused
    return Status(201, _fresh(customer, bid.pk))


@router.patch("/{bid_id}", response={200: BidOut, 400: Problem, 404: Problem, 409: Problem})
def bid_change(request: HttpRequest, bid_id: int, payload: BidChange) -> BidOut:
    customer = _caller(request)
    bid = _own(request, bid_id)
    try:
        bid_request_edit(
            bid=bid,
            customer=customer,
            max_bid_jpy=bid.max_bid_jpy if payload.max_bid_jpy is None else payload.max_bid_jpy,
            note=bid.note if payload.note is None else payload.note,
        )
    except BidRefused as refused:
        raise _refused(refused) from refused
    return _fresh(customer, bid.pk)


@router.post("/{bid_id}/withdraw", response={200: BidOut, 404: Problem, 409: Problem})
def bid_withdraw(request: HttpRequest, bid_id: int) -> BidOut:
    customer = _caller(request)
    bid = _own(request, bid_id)
    try:
        bid_request_withdraw(bid=bid, customer=customer)
    except BidRefused as refused:
        raise _refused(refused) from refused
    return _fresh(customer, bid.pk)

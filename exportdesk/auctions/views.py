"""Customer pages: upcoming auction lots with their sheets, bid requests, and Bid History."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from exportdesk.accounts.models import User
from exportdesk.auctions.forms import BidEditForm, BidForm, LotSearchForm
from exportdesk.auctions.models import AuctionLot, BidRequest
from exportdesk.auctions.selectors import (
    auction_settings,
    bid_requests_for,
    bidding_deposits,
    hold_jpy,
    live_request_on,
    lot_open_for_requests,
    own_bid_request,
    requests_close_at,
    upcoming_lots,
)
from exportdesk.auctions.services import (
    BidRefused,
    bid_request_edit,
    bid_request_place,
    bid_request_withdraw,
    sheet_thumbnail_name,
)
from exportdesk.payments.models import Deposit

LOTS_PER_PAGE = 20


def _customer(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
def lot_list(request: HttpRequest) -> HttpResponse:
    form = LotSearchForm(request.GET or None)
    if form.is_bound:
        form.is_valid()  # errors are shown; the valid filters still apply
    lots = upcoming_lots(form.filters())
    page = Paginator(lots, LOTS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "auctions/lot_list.html",
        {"form": form, "page": page, "query": query.urlencode()},
        status=400 if form.errors else 200,
    )


def _lot_context(customer: User, lot: AuctionLot, form: BidForm | None) -> dict[str, Any]:
    terms = auction_settings()
    is_open = lot_open_for_requests(lot, terms)
    existing = live_request_on(customer, lot)
    deposits = bidding_deposits(customer)
    return {
        "lot": lot,
        "open": is_open,
        "can_bid": is_open and existing is None and bool(deposits),
        "closes_at": requests_close_at(lot, terms),
        "terms": terms,
        "minimum_hold_jpy": hold_jpy(lot.start_price_jpy, terms),
        "existing": existing,
        "deposits": deposits,
        "form": form or BidForm(customer=customer, initial={"max_bid_jpy": lot.start_price_jpy}),
    }


@login_required
def lot_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request)
    lot = get_object_or_404(AuctionLot.objects.select_related("make", "model"), pk=pk)
    form = BidForm(request.POST or None, customer=customer) if request.method == "POST" else None
    if form is not None and form.is_valid():
        data = form.cleaned_data
        deposit = None
        if data["deposit"] is not None:
            deposit = Deposit.objects.filter(pk=data["deposit"], customer=customer).first()
        try:
            bid = bid_request_place(
                customer=customer,
                lot=lot,
                max_bid_jpy=data["max_bid_jpy"],
                note=data["note"],
                port=data["port"],
                deposit=deposit,
            )
        except BidRefused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(
                request,
                _("We have your request to bid up to JPY %(max)s on lot %(lot)s.")
                % {"max": f"{bid.max_bid_jpy:,}", "lot": lot.lot_number},
            )
            return redirect("auctions:bid_history")
    return render(
        request,
        "auctions/lot_detail.html",
        _lot_context(customer, lot, form),
        status=400 if form is not None and form.errors else 200,
    )


@login_required
def lot_sheet(request: HttpRequest, pk: int, size: str) -> FileResponse:
    """The auction sheet from private storage, for signed-in people only."""
    lot = get_object_or_404(AuctionLot, pk=pk)
    if size not in ("thumb", "full") or not lot.sheet_image:
        raise Http404
    name = lot.sheet_image.name
    if size == "thumb" and default_storage.exists(sheet_thumbnail_name(name)):
        name = sheet_thumbnail_name(name)
    response = FileResponse(default_storage.open(name, "rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
def bid_history(request: HttpRequest) -> HttpResponse:
    bids = bid_requests_for(_customer(request))
    page = Paginator(bids, 50).get_page(request.GET.get("page"))
    return render(request, "auctions/bid_history.html", {"page": page})


def _own(request: HttpRequest, pk: int) -> BidRequest:
    bid = own_bid_request(_customer(request), pk)
    if bid is None:
        raise Http404
    return bid


@login_required
def bid_edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request)
    bid = _own(request, pk)
    if not bid.is_editable:
        messages.error(
            request, _("This bid request can no longer be changed: we are bidding or it is over.")
        )
        return redirect("auctions:bid_history")
    initial = {"max_bid_jpy": bid.max_bid_jpy, "note": bid.note}
    form = BidEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            bid_request_edit(
                bid=bid,
                customer=customer,
                max_bid_jpy=form.cleaned_data["max_bid_jpy"],
                note=form.cleaned_data["note"],
            )
        except BidRefused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(request, _("Your bid request has been changed."))
            return redirect("auctions:bid_history")
    return render(
        request,
        "auctions/bid_edit.html",
        {"bid": bid, "form": form, "terms": auction_settings()},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def bid_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    bid = _own(request, pk)
    try:
        bid_request_withdraw(bid=bid, customer=_customer(request))
    except BidRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(
            request, _("Your bid request has been withdrawn; its deposit hold is released.")
        )
    return redirect("auctions:bid_history")

"""Back office for auctions: lots (form and CSV import), the bid queue per auction day, results,
and the deposit-hold settings."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from exportdesk.accounts.http import staff_of
from exportdesk.accounts.otp import staff_required
from exportdesk.auctions.forms import (
    ImportForm,
    LostForm,
    LotEditForm,
    LotForm,
    SettingsForm,
    WonForm,
)
from exportdesk.auctions.imports import (
    COLUMN_NOTES,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    lots_import_csv,
)
from exportdesk.auctions.models import AuctionLot, BidRequest
from exportdesk.auctions.selectors import (
    auction_settings,
    bid_days,
    bid_queue,
    japan_today,
    lots_with_request_counts,
)
from exportdesk.auctions.services import (
    AuctionCosts,
    BidRefused,
    auction_settings_save,
    bid_request_mark_processed,
    bid_result_lost,
    bid_result_won,
    lot_save,
)

IMPORT_MAX_BYTES = 10 * 1024 * 1024


# --- Lots ---------------------------------------------------------------------------------------


@staff_required("auctions.view_auctionlot")
def lot_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:60]
    status = request.GET.get("status", "")
    lots = lots_with_request_counts().order_by("-auction_at", "auction_house", "lot_number")
    if query:
        lots = lots.filter(
            Q(lot_number__iexact=query)
            | Q(auction_house__icontains=query)
            | Q(chassis_number__icontains=query.upper())
        )
    if status in AuctionLot.Status.values:
        lots = lots.filter(status=status)
    page = Paginator(lots, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "auctions/backoffice/lot_list.html",
        {"page": page, "query": query, "status": status, "statuses": AuctionLot.Status.choices},
    )


def _lot_saved(request: HttpRequest, form: LotForm, changed: list[str]) -> AuctionLot | None:
    """Save through the service; a sheet that is not a readable image goes back to the form."""
    try:
        return lot_save(
            lot=form.save(commit=False),
            actor=staff_of(request),
            sheet=form.cleaned_data.get("sheet"),
            changed=changed,
        )
    except ValidationError as error:
        form.add_error("sheet", error)
        return None


@staff_required("auctions.add_auctionlot")
def lot_create(request: HttpRequest) -> HttpResponse:
    form = LotForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        lot = _lot_saved(request, form, [])
        if lot is not None:
            messages.success(request, _("Lot %(lot)s added.") % {"lot": lot})
            return redirect("auctions_backoffice:lot_edit", pk=lot.pk)
    return render(
        request,
        "auctions/backoffice/lot_form.html",
        {"form": form, "lot": None},
        status=400 if form.errors else 200,
    )


@staff_required("auctions.change_auctionlot")
def lot_edit(request: HttpRequest, pk: int) -> HttpResponse:
    lot = get_object_or_404(AuctionLot.objects.select_related("make", "model"), pk=pk)
    form = LotEditForm(request.POST or None, request.FILES or None, instance=lot)
    if request.method == "POST" and form.is_valid():
        saved = _lot_saved(request, form, list(form.changed_data))
        if saved is not None:
            messages.success(request, _("Lot %(lot)s saved.") % {"lot": saved})
            return redirect("auctions_backoffice:lot_edit", pk=saved.pk)
    return render(
        request,
        "auctions/backoffice/lot_form.html",
        {"form": form, "lot": lot, "requests": lot.bid_requests.select_related("customer")},
        status=400 if form.errors else 200,
    )


@staff_required("auctions.add_auctionlot")
def lot_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    dry_run = request.POST.get("action") == "preview"
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > IMPORT_MAX_BYTES:
            form.add_error("file", _("The file is larger than 10 MB; split it."))
        else:
            report = lots_import_csv(data=upload.read(), actor=staff_of(request), dry_run=dry_run)
            if report.ok and not dry_run:
                messages.success(
                    request,
                    ngettext("Imported %(count)s lot.", "Imported %(count)s lots.", report.created)
                    % {"count": report.created},
                )
                return redirect("auctions_backoffice:lot_list")
    failed = bool(form.errors or (report and not report.ok))
    return render(
        request,
        "auctions/backoffice/lot_import.html",
        {
            "form": form,
            "report": report,
            "dry_run": dry_run,
            "columns": [(c, COLUMN_NOTES.get(c, "")) for c in REQUIRED_COLUMNS],
            "optional": [(c, COLUMN_NOTES.get(c, "")) for c in OPTIONAL_COLUMNS],
        },
        status=400 if failed else 200,
    )


# --- Bid requests -------------------------------------------------------------------------------


@staff_required("auctions.view_bidrequest")
def queue(request: HttpRequest) -> HttpResponse:
    today = japan_today()
    try:
        day = date.fromisoformat(request.GET.get("day", "")) if request.GET.get("day") else today
    except ValueError:
        messages.error(request, _("That is not a date like 2025-06-12; showing today."))
        day = today
    return render(
        request,
        "auctions/backoffice/queue.html",
        {"day": day, "days": bid_days(today), "bids": bid_queue(day), "today": today},
    )


def _bid_page(request: HttpRequest, bid: BidRequest, **forms: object) -> HttpResponse:
    context = {
        "bid": bid,
        "won_form": forms.get("won_form") or WonForm(),
        "lost_form": forms.get("lost_form") or LostForm(),
    }
    failed = any(getattr(f, "errors", None) for f in forms.values())
    return render(
        request, "auctions/backoffice/bid_detail.html", context, status=400 if failed else 200
    )


def _bid(pk: int) -> BidRequest:
    return get_object_or_404(
        BidRequest.objects.select_related(
            "lot__make", "lot__model", "customer", "port", "hold__deposit", "order", "vehicle"
        ),
        pk=pk,
    )


@staff_required("auctions.view_bidrequest")
def bid_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _bid_page(request, _bid(pk))


@staff_required("auctions.change_bidrequest")
@require_POST
def bid_processed(request: HttpRequest, pk: int) -> HttpResponse:
    bid = _bid(pk)
    try:
        bid_request_mark_processed(bid=bid, staff=staff_of(request))
    except BidRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("Marked processed: the customer can no longer change it."))
    return redirect("auctions_backoffice:bid_detail", pk=bid.pk)


@staff_required("auctions.change_bidrequest")
@require_POST
def bid_won(request: HttpRequest, pk: int) -> HttpResponse:
    bid = _bid(pk)
    form = WonForm(request.POST)
    if form.is_valid():
        try:
            done = bid_result_won(
                bid=bid, staff=staff_of(request), costs=AuctionCosts(**form.cleaned_data)
            )
        except BidRefused as refused:
            form.add_error(None, refused.message)
        else:
            assert done.order is not None and done.vehicle is not None
            messages.success(
                request,
                _("Recorded as won: vehicle %(vehicle)s, order %(order)s.")
                % {"vehicle": done.vehicle.stock_number, "order": done.order.number},
            )
            return redirect("auctions_backoffice:bid_detail", pk=bid.pk)
    return _bid_page(request, bid, won_form=form)


@staff_required("auctions.change_bidrequest")
@require_POST
def bid_lost(request: HttpRequest, pk: int) -> HttpResponse:
    bid = _bid(pk)
    form = LostForm(request.POST)
    if form.is_valid():
        try:
            bid_result_lost(
                bid=bid,
                staff=staff_of(request),
                hammer_price_jpy=form.cleaned_data["hammer_price_jpy"],
            )
        except BidRefused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(request, _("Recorded as lost; the deposit hold is released."))
            return redirect("auctions_backoffice:bid_detail", pk=bid.pk)
    return _bid_page(request, bid, lost_form=form)


@staff_required("auctions.change_auctionsettings")
def settings_edit(request: HttpRequest) -> HttpResponse:
    current = auction_settings()
    form = SettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        auction_settings_save(actor=staff_of(request), **form.cleaned_data)
        messages.success(request, _("Saved."))
        return redirect("auctions_backoffice:settings")
    return render(
        request,
        "auctions/backoffice/settings.html",
        {"form": form},
        status=400 if form.errors else 200,
    )

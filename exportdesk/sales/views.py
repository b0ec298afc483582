from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from exportdesk.accounts.models import User
from exportdesk.accounts.otp import staff_required
from exportdesk.sales.forms import InquiryForm, ReplyForm
from exportdesk.sales.models import Inquiry
from exportdesk.sales.services import InquiryDraft, InquiryRefused, inquiry_reply, inquiry_submit
from exportdesk.stock.destination import destination_for
from exportdesk.stock.search import public_vehicles


def _initial(request: HttpRequest) -> dict[str, Any]:
    initial: dict[str, Any] = {}
    destination = destination_for(request)
    if destination.port is not None:
        initial.update(country=destination.country, port=destination.port.pk)
    user = request.user
    if user.is_authenticated:
        initial.update(name=user.name, email=user.email)
        profile = getattr(user, "customer_profile", None)
        if profile is not None and "country" not in initial:
            initial["country"] = profile.country.code
    return initial


def inquiry(request: HttpRequest, stock_number: str = "") -> HttpResponse:
    vehicle = (
        get_object_or_404(public_vehicles(), stock_number=stock_number) if stock_number else None
    )
    form = InquiryForm(request.POST or None, initial=_initial(request))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            draft = InquiryDraft(
                name=data["name"],
                email=data["email"],
                country=data["country"],
                port=data["port"],
                message=data["message"],
                vehicle=vehicle,
            )
            try:
                inquiry_submit(draft=draft, request=request)
            except InquiryRefused as refused:
                for reason in refused.reasons:
                    form.add_error(None, reason)
                status = 429 if refused.throttled else 400
            else:
                return render(request, "sales/inquiry_sent.html", {"vehicle": vehicle})
    return render(request, "sales/inquiry.html", {"form": form, "vehicle": vehicle}, status=status)


@staff_required("accounts.sales_desk")
def inquiry_queue(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", Inquiry.Status.NEW)
    inquiries = Inquiry.objects.select_related("vehicle", "port").order_by("created_at", "id")
    if status in Inquiry.Status.values:
        inquiries = inquiries.filter(status=status)
    page = Paginator(inquiries, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "sales/inquiry_queue.html",
        {"page": page, "status": status, "statuses": Inquiry.Status.choices},
    )


@staff_required("accounts.sales_desk")
def inquiry_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Inquiry.objects.select_related("vehicle", "port", "user"), pk=pk)
    form = ReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        assert isinstance(request.user, User)
        inquiry_reply(inquiry=item, staff=request.user, body=form.cleaned_data["body"])
        messages.success(
            request, _("Your reply was sent by e-mail and logged in the contact history.")
        )
        return redirect("sales:inquiry_detail", pk=item.pk)
    return render(
        request,
        "sales/inquiry_detail.html",
        {"inquiry": item, "replies": item.replies.select_related("staff"), "form": form},
        status=400 if request.method == "POST" else 200,
    )

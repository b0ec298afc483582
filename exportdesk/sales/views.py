from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from exportdesk.accounts.models import User
from exportdesk.accounts.otp import staff_required
from exportdesk.sales.documents import (
    Document,
    document_context,
    document_pdf,
    invoice_document,
    proforma_document,
)
from exportdesk.sales.forms import InquiryForm, ReplyForm, VerifyForm
from exportdesk.sales.models import Inquiry, Invoice, Order, Proforma
from exportdesk.sales.numbers import verification_code_normalise
from exportdesk.sales.selectors import verification_result
from exportdesk.sales.services import (
    InquiryDraft,
    InquiryRefused,
    ProformaRefused,
    inquiry_reply,
    inquiry_submit,
    proforma_accept,
)
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


# --- Customer: proformas and invoices -----------------------------------------------------------


def _own_proforma(request: HttpRequest, number: str) -> Proforma:
    # Another customer's number answers 404, exactly like a number that does not exist.
    return get_object_or_404(
        Proforma.objects.select_related("port", "customer"), number=number, customer=request.user
    )


def _own_invoice(request: HttpRequest, number: str) -> Invoice:
    return get_object_or_404(
        Invoice.objects.select_related("order__proforma__port"),
        number=number,
        order__customer=request.user,
    )


def _pdf_response(document: Document, language: str) -> HttpResponse:
    response = HttpResponse(
        document_pdf(document, language=language), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'inline; filename="{document.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def my_invoices(request: HttpRequest) -> HttpResponse:
    proformas = Proforma.objects.filter(customer=_customer(request)).select_related("port")
    invoices = Invoice.objects.filter(order__customer=_customer(request)).select_related("order")
    return render(
        request,
        "sales/my_invoices.html",
        {"proformas": proformas, "invoices": invoices, "section": "invoices"},
    )


@login_required
def my_proforma(request: HttpRequest, number: str) -> HttpResponse:
    proforma = _own_proforma(request, number)
    if request.method == "POST":
        try:
            placed = proforma_accept(proforma=proforma, customer=_customer(request))
        except ProformaRefused as refused:
            for reason in refused.reasons:
                messages.error(request, reason)
        else:
            messages.success(
                request,
                _(
                    "Thank you. Your order number is %(number)s; you can now pay and declare the payment."
                )
                % {"number": placed.number},
            )
        return redirect("sales:my_proforma", number=proforma.number)
    order = Order.objects.filter(proforma=proforma).first()
    return render(
        request,
        "sales/my_proforma.html",
        {**document_context(proforma_document(proforma)), "order": order, "section": "invoices"},
    )


@login_required
def my_proforma_pdf(request: HttpRequest, number: str) -> HttpResponse:
    return _pdf_response(proforma_document(_own_proforma(request, number)), request.LANGUAGE_CODE)


@login_required
def my_invoice(request: HttpRequest, number: str) -> HttpResponse:
    invoice = _own_invoice(request, number)
    return render(
        request,
        "sales/my_invoice.html",
        {**document_context(invoice_document(invoice)), "section": "invoices"},
    )


@login_required
def my_invoice_pdf(request: HttpRequest, number: str) -> HttpResponse:
    return _pdf_response(invoice_document(_own_invoice(request, number)), request.LANGUAGE_CODE)


def _customer(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


# --- Public: is this invoice genuine? -----------------------------------------------------------


def verify(request: HttpRequest) -> HttpResponse:
    form = VerifyForm(request.GET or None)
    if form.is_bound and form.is_valid():
        code = verification_code_normalise(form.cleaned_data["code"])
        if code:
            return redirect("sales:verify_code", code=code)
        form.add_error("code", _("A verification code has 12 letters and digits."))
    return render(request, "sales/verify.html", {"form": form}, status=400 if form.errors else 200)


def verify_code(request: HttpRequest, code: str) -> HttpResponse:
    """What the QR code opens: the genuine amount, due date and our bank account for that code,
    and nothing about the customer. An unknown or altered code says so plainly."""
    normalised = verification_code_normalise(code)
    document: Proforma | Invoice | None = None
    if normalised:
        document = (
            Proforma.objects.filter(verification_code=normalised).first()
            or Invoice.objects.filter(verification_code=normalised).first()
        )
    context: dict[str, Any] = {"code": code, "form": VerifyForm(initial={"code": code})}
    if document is not None:
        context["result"] = verification_result(document)
    response = render(request, "sales/verify_result.html", context, status=200 if document else 404)
    response["X-Robots-Tag"] = "noindex"
    return response

"""Customer pages (address book, an order's Shipping page, shipping notices, the consignee-change
confirmation link) and the logistics officer's consignee-change approvals."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from exportdesk.accounts.models import User
from exportdesk.accounts.otp import staff_required
from exportdesk.core.audit import audit_event_record
from exportdesk.core.http import client_ip
from exportdesk.sales.models import Order
from exportdesk.shipping.forms import ChangeDecisionForm, NoticesForm, PartiesChoiceForm, PartyForm
from exportdesk.shipping.models import ConsigneeChange, OrderParties, Party
from exportdesk.shipping.parties import (
    CHANGE_LINK_HOURS,
    ChangeLinkInvalid,
    ShippingRefused,
    change_for_token,
    changes_awaiting_approval,
    changes_recently_decided,
    consignee_change_cancel,
    consignee_change_confirm,
    consignee_change_decide,
    order_has_payment,
    order_parties_choose,
    order_shipping,
    orders_shipping_for,
    parties_for,
    party_create,
    party_deactivate,
    party_in_use,
    party_update,
    shipping_notices_of,
    shipping_notices_set,
)

# The documents engineer's part of the Shipping page; shown only once it exists.
ORDER_DOCUMENTS_TEMPLATE = "shipping/documents/_order_documents.html"


def _customer(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _posted(request: HttpRequest) -> QueryDict | None:
    # Not `request.POST or None`: a form posted with every box unticked is still an answer.
    return request.POST if request.method == "POST" else None


def _own_party(request: HttpRequest, pk: int) -> Party:
    # Another customer's entry answers 404, exactly like one that does not exist.
    return get_object_or_404(Party, pk=pk, customer=_customer(request), is_active=True)


def _own_order(request: HttpRequest, number: str) -> Order:
    return get_object_or_404(
        Order.objects.select_related("proforma__port", "customer"),
        number=number,
        customer=_customer(request),
    )


# --- Address book -------------------------------------------------------------------------------


@login_required
def address_book(request: HttpRequest) -> HttpResponse:
    parties = list(parties_for(_customer(request)))
    return render(
        request,
        "shipping/address_book.html",
        {
            "consignees": [p for p in parties if p.role == Party.Role.CONSIGNEE],
            "notify_parties": [p for p in parties if p.role == Party.Role.NOTIFY],
        },
    )


@login_required
def party_add(request: HttpRequest) -> HttpResponse:
    role = request.GET.get("role")
    initial = {"role": role if role in Party.Role.values else Party.Role.CONSIGNEE}
    form = PartyForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            party = party_create(customer=_customer(request), draft=form.draft())
        except ShippingRefused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(
                request, _("%(name)s was added to your address book.") % {"name": party.name}
            )
            return _back_to(request, "shipping:address_book")
    return _party_form(request, form, party=None)


@login_required
def party_edit(request: HttpRequest, pk: int) -> HttpResponse:
    party = _own_party(request, pk)
    in_use = party_in_use(party)
    form = PartyForm(_posted(request), instance=party)
    if request.method == "POST" and form.is_valid():
        try:
            party_update(party=party, customer=_customer(request), draft=form.draft())
        except ShippingRefused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, _("The entry was saved."))
            return redirect("shipping:address_book")
    return _party_form(request, form, party=party, in_use=in_use)


def _party_form(
    request: HttpRequest, form: PartyForm, *, party: Party | None, in_use: bool = False
) -> HttpResponse:
    context = {"form": form, "party": party, "in_use": in_use, "next": _next(request)}
    status = 400 if form.errors else 200
    return render(request, "shipping/party_form.html", context, status=status)


@login_required
def party_remove(request: HttpRequest, pk: int) -> HttpResponse:
    party = _own_party(request, pk)
    if request.method == "POST":
        try:
            party_deactivate(party=party, customer=_customer(request))
        except ShippingRefused as refused:
            messages.error(request, str(refused))
        else:
            messages.success(
                request,
                _("%(name)s was removed from your address book.") % {"name": party.name},
            )
        return redirect("shipping:address_book")
    return render(request, "shipping/party_remove.html", {"party": party})


def _next(request: HttpRequest) -> str:
    """Back to an order's Shipping page after adding an entry from it; nowhere else."""
    number = request.GET.get("order", "")
    if number and Order.objects.filter(number=number, customer=_customer(request)).exists():
        return number
    return ""


def _back_to(request: HttpRequest, default: str) -> HttpResponse:
    number = _next(request)
    if number:
        return redirect("shipping:order_shipping", number=number)
    return redirect(default)


# --- An order's Shipping page -------------------------------------------------------------------


def _documents_available() -> bool:
    try:
        get_template(ORDER_DOCUMENTS_TEMPLATE)
    except TemplateDoesNotExist:
        return False
    return True


@login_required
def my_shipments(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "shipping/my_shipments.html",
        {"lines": orders_shipping_for(_customer(request))},
    )


@login_required
def order_page(request: HttpRequest, number: str) -> HttpResponse:
    order = _own_order(request, number)
    customer = _customer(request)
    current = OrderParties.objects.filter(order=order).first()
    initial: dict[str, Any] = {}
    if current is not None:
        initial = {"consignee": current.consignee_id, "notify": current.notify_id}
    form = PartiesChoiceForm(_posted(request), customer=customer, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            result = order_parties_choose(
                order=order,
                consignee=form.cleaned_data["consignee"],
                notify=form.cleaned_data["notify"],
                customer=customer,
            )
        except ShippingRefused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, _chosen_message(result))
            return redirect("shipping:order_shipping", number=order.number)
    context = {
        "shipping": order_shipping(order),
        "form": form,
        "documents_template": ORDER_DOCUMENTS_TEMPLATE if _documents_available() else "",
        "link_hours": CHANGE_LINK_HOURS,
    }
    status = 400 if form.errors else 200
    return render(request, "shipping/order_shipping.html", context, status=status)


def _chosen_message(result: OrderParties | ConsigneeChange) -> str:
    if isinstance(result, ConsigneeChange):
        return _(
            "We have e-mailed you a link to confirm the change (it works for %(hours)s hours). "
            "After you confirm, our logistics team checks it; until then the consignee stays "
            "as it is."
        ) % {"hours": CHANGE_LINK_HOURS}
    return _("The consignee of this order is now %(name)s.") % {"name": result.consignee.name}


@login_required
@require_POST
def change_cancel(request: HttpRequest, number: str, pk: int) -> HttpResponse:
    order = _own_order(request, number)
    change = get_object_or_404(ConsigneeChange, pk=pk, order=order)
    try:
        consignee_change_cancel(change=change, customer=_customer(request))
    except ShippingRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("The change was cancelled; the consignee stays as it is."))
    return redirect("shipping:order_shipping", number=order.number)


# --- Shipping notices ---------------------------------------------------------------------------


@login_required
def notices(request: HttpRequest) -> HttpResponse:
    customer = _customer(request)
    form = NoticesForm(_posted(request), initial={"statuses": shipping_notices_of(customer)})
    if request.method == "POST" and form.is_valid():
        shipping_notices_set(user=customer, statuses=form.cleaned_data["statuses"])
        messages.success(request, _("Your choice of shipping e-mails was saved."))
        return redirect("shipping:notices")
    status = 400 if form.errors else 200
    return render(request, "shipping/notices.html", {"form": form}, status=status)


# --- The e-mailed confirmation link -------------------------------------------------------------


def change_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows what would be confirmed; only the button (POST) confirms, so a mail scanner
    that opens links cannot confirm a change on the customer's behalf."""
    user = request.user if isinstance(request.user, User) else None
    try:
        if request.method == "POST":
            change = consignee_change_confirm(token=token, user=user)
            return render(request, "shipping/change_confirmed.html", {"change": change})
        change = change_for_token(token=token, user=user)
    except ChangeLinkInvalid as invalid:
        return render(
            request,
            "shipping/change_link_failed.html",
            {"expired": invalid.expired, "hours": CHANGE_LINK_HOURS},
            status=410 if invalid.expired else 404,
        )
    return render(request, "shipping/change_confirm.html", {"change": change})


# --- Logistics: approving consignee changes -----------------------------------------------------


@staff_required("shipping.change_consigneechange")
def change_queue(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "shipping/change_queue.html",
        {"waiting": changes_awaiting_approval(), "decided": changes_recently_decided()},
    )


@staff_required("shipping.change_consigneechange")
def change_detail(request: HttpRequest, pk: int) -> HttpResponse:
    change = get_object_or_404(
        ConsigneeChange.objects.select_related(
            "order__customer__customer_profile",
            "order__proforma__port",
            "old_consignee",
            "new_consignee",
            "new_notify",
            "decided_by",
        ),
        pk=pk,
    )
    staff = _customer(request)
    form = ChangeDecisionForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        approve = form.cleaned_data["decision"] == "approve"
        try:
            consignee_change_decide(
                change=change, staff=staff, approve=approve, reason=form.cleaned_data["reason"]
            )
        except ShippingRefused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(
                request,
                _("Change approved: the order's consignee is updated and the customer told.")
                if approve
                else _("Change rejected: the customer was told why."),
            )
            return redirect("shipping:change_queue")
    if request.method == "GET":
        # Staff reading the customer's and consignees' details is itself recorded.
        audit_event_record(
            action="shipping.consignee_change_viewed",
            actor=staff,
            obj=change,
            subject_id=change.order.customer_id,
            ip_address=client_ip(request),
        )
    context = {
        "change": change,
        "form": form,
        "current": OrderParties.objects.filter(order=change.order)
        .select_related("consignee", "notify")
        .first(),
        "has_payment": order_has_payment(change.order),
        "shipping": order_shipping(change.order),
    }
    status = 400 if form.errors else 200
    return render(request, "shipping/change_detail.html", context, status=status)

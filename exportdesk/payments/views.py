"""The customer's Payment Manager and Payment History."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from exportdesk.accounts.models import User
from exportdesk.payments.forms import AllocationForm, DeclarationForm
from exportdesk.payments.models import Allocation, Deposit, PaymentDeclaration, Refund
from exportdesk.payments.selectors import (
    deposits_for,
    open_orders_for,
    order_balances,
    pending_declarations_for,
)
from exportdesk.payments.services import (
    DeclarationDraft,
    PaymentRefused,
    allocation_cancel,
    allocation_request,
    declaration_submit,
    declaration_update,
    declaration_withdraw,
)


def _customer(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
def manager(request: HttpRequest) -> HttpResponse:
    customer = _customer(request)
    return render(request, "payments/manager.html", _manager_context(customer, None))


def _manager_context(customer: User, allocation_form: AllocationForm | None) -> dict[str, Any]:
    return {
        "section": "payments",
        "declarations": pending_declarations_for(customer),
        "deposits": deposits_for(customer),
        "allocations": Allocation.objects.filter(order__customer=customer)
        .select_related("order", "deposit")
        .order_by("-requested_at")[:50],
        "balances": order_balances(open_orders_for(customer)),
        "allocation_form": allocation_form or AllocationForm(customer=customer),
    }


def _draft(data: dict[str, Any]) -> DeclarationDraft:
    return DeclarationDraft(
        amount=data["amount"],
        currency=data["currency"],
        paid_on=data["paid_on"],
        payer_name=data["payer_name"],
        payer_bank=data["payer_bank"],
        reference=data["reference"],
        orders=list(data["orders"]),
    )


@login_required
def declare(request: HttpRequest) -> HttpResponse:
    customer = _customer(request)
    initial: dict[str, Any] = {"payer_name": customer.name}
    chosen = open_orders_for(customer).filter(number=request.GET.get("order", "")).first()
    if chosen is not None:
        initial.update(
            orders=[chosen.pk], currency=chosen.currency, reference=chosen.proforma.number
        )
    form = DeclarationForm(
        request.POST or None, request.FILES or None, customer=customer, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            declaration_submit(
                customer=customer, draft=_draft(form.cleaned_data), slip=form.cleaned_data["slip"]
            )
        except PaymentRefused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(
                request,
                _("Thank you. We will confirm your payment as soon as it reaches our bank."),
            )
            return redirect("payments:manager")
    return render(
        request,
        "payments/declare.html",
        {"form": form, "section": "payments", "declaration": None},
        status=400 if form.errors else 200,
    )


def _own_declaration(request: HttpRequest, public_id: str) -> PaymentDeclaration:
    return get_object_or_404(PaymentDeclaration, public_id=public_id, customer=_customer(request))


@login_required
def declaration_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    customer = _customer(request)
    declaration = _own_declaration(request, public_id)
    if not declaration.is_pending:
        messages.error(request, _("Only a pending declaration can be changed."))
        return redirect("payments:manager")
    initial = {
        "orders": list(declaration.orders.values_list("pk", flat=True)),
        "amount": declaration.amount,
        "currency": declaration.currency,
        "paid_on": declaration.paid_on,
        "payer_name": declaration.payer_name,
        "payer_bank": declaration.payer_bank,
        "reference": declaration.reference,
    }
    form = DeclarationForm(
        request.POST or None, request.FILES or None, customer=customer, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            declaration_update(
                declaration=declaration,
                customer=customer,
                draft=_draft(form.cleaned_data),
                slip=form.cleaned_data["slip"],
            )
        except PaymentRefused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, _("Declaration updated."))
            return redirect("payments:manager")
    return render(
        request,
        "payments/declare.html",
        {"form": form, "section": "payments", "declaration": declaration},
        status=400 if form.errors else 200,
    )


@require_POST
@login_required
def declaration_withdraw_view(request: HttpRequest, public_id: str) -> HttpResponse:
    declaration = _own_declaration(request, public_id)
    try:
        declaration_withdraw(declaration=declaration, customer=_customer(request))
    except PaymentRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("Declaration withdrawn."))
    return redirect("payments:manager")


@login_required
def declaration_slip(request: HttpRequest, public_id: str) -> FileResponse:
    """The slip, to its owner or to accounting; nobody else, and never from a public URL."""
    user = _customer(request)
    declaration = get_object_or_404(PaymentDeclaration, public_id=public_id)
    allowed = declaration.customer_id == user.pk or user.has_perm(
        "payments.view_paymentdeclaration"
    )
    if not allowed or not declaration.slip:
        raise Http404
    response = FileResponse(declaration.slip.open("rb"), content_type=declaration.slip_content_type)
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@login_required
def allocation_request_view(request: HttpRequest) -> HttpResponse:
    customer = _customer(request)
    form = AllocationForm(request.POST, customer=customer)
    if form.is_valid():
        data = form.cleaned_data
        try:
            allocation_request(
                deposit=data["deposit"],
                order=data["order"],
                amount=data["amount"],
                requested_by=customer,
            )
        except PaymentRefused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(
                request, _("Allocation requested; accounting will approve it shortly.")
            )
            return redirect("payments:manager")
    return render(request, "payments/manager.html", _manager_context(customer, form), status=400)


@require_POST
@login_required
def allocation_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request)
    allocation = get_object_or_404(Allocation, pk=pk, order__customer=customer)
    try:
        allocation_cancel(allocation=allocation, customer=customer)
    except PaymentRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("Allocation request cancelled."))
    return redirect("payments:manager")


@login_required
def history(request: HttpRequest) -> HttpResponse:
    """Every confirmed transaction: payments received, allocations made, refunds."""
    customer = _customer(request)
    deposits = Deposit.objects.filter(customer=customer).select_related("transaction")
    allocations = Allocation.objects.filter(
        order__customer=customer,
        status__in=(Allocation.Status.APPROVED, Allocation.Status.REVERSED),
    ).select_related("order", "deposit")
    refunds = Refund.objects.filter(deposit__customer=customer)
    events: list[dict[str, Any]] = [
        {"when": d.confirmed_at, "kind": "deposit", "item": d} for d in deposits
    ]
    events += [{"when": a.decided_at, "kind": "allocation", "item": a} for a in allocations]
    events += [{"when": r.approved_at, "kind": "refund", "item": r} for r in refunds]
    events.sort(key=lambda e: e["when"], reverse=True)
    return render(
        request, "payments/history.html", {"events": events, "section": "payment-history"}
    )

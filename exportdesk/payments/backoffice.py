"""Accounting's desk: statement imports, the matching queue, approvals, refunds, ledgers."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from exportdesk.accounts.http import staff_of
from exportdesk.accounts.models import User, normalise_email
from exportdesk.accounts.otp import staff_required
from exportdesk.core.audit import audit_event_record
from exportdesk.payments.forms import (
    ConfirmForm,
    PaymentSettingsForm,
    ReasonForm,
    RefundForm,
    StatementUploadForm,
)
from exportdesk.payments.imports import StatementRefused, statement_import
from exportdesk.payments.models import (
    Allocation,
    BankStatement,
    BankTransaction,
    Deposit,
    MatchSuggestion,
    PaymentDeclaration,
    PaymentSettings,
)
from exportdesk.payments.selectors import (
    customer_currencies,
    customer_statement,
    deposit_available,
)
from exportdesk.payments.services import (
    Confirmation,
    PaymentRefused,
    allocation_decide,
    allocation_reverse,
    credits_confirm,
    deposit_reverse,
    refund_approve,
    third_party_clear,
    transaction_ignore,
)
from exportdesk.payments.statements import MAX_STATEMENT_BYTES, StatementFormatError
from exportdesk.sales.models import Proforma


@staff_required("payments.view_banktransaction")
def queue(request: HttpRequest) -> HttpResponse:
    """Everything waiting for accounting, oldest first."""
    top = Prefetch(
        "suggestions",
        queryset=MatchSuggestion.objects.filter(rank=1).select_related("customer", "declaration"),
        to_attr="best",
    )
    unmatched = (
        BankTransaction.objects.filter(status=BankTransaction.Status.UNMATCHED)
        .prefetch_related(top)
        .order_by("booking_date", "id")[:100]
    )
    return render(
        request,
        "payments/backoffice/queue.html",
        {
            "unmatched": unmatched,
            "unmatched_count": BankTransaction.objects.filter(
                status=BankTransaction.Status.UNMATCHED
            ).count(),
            "allocations": Allocation.objects.filter(status=Allocation.Status.PENDING)
            .select_related("deposit", "order__customer")
            .order_by("requested_at")[:100],
            "held": Deposit.objects.filter(third_party=True, third_party_cleared_by__isnull=True)
            .exclude(reversed_at__isnull=False)
            .select_related("customer", "transaction")[:100],
            "overdue": Proforma.objects.filter(
                status__in=(Proforma.Status.ISSUED, Proforma.Status.ACCEPTED),
                due_date__lt=timezone.localdate(),
            ).select_related("customer")[:100],
            "review": BankStatement.objects.filter(needs_review=True)[:50],
            "reason_form": ReasonForm(),
        },
    )


@staff_required("payments.add_statementimport")
def statement_upload(request: HttpRequest) -> HttpResponse:
    form = StatementUploadForm(request.POST or None, request.FILES or None)
    summary = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > MAX_STATEMENT_BYTES:
            form.add_error("file", _("The file is larger than 20 MB."))
        else:
            try:
                result = statement_import(
                    data=upload.read(),
                    file_name=upload.name,
                    bank_account=form.cleaned_data["bank_account"],
                    actor=staff_of(request),
                    accept_unbalanced=form.cleaned_data["accept_unbalanced"],
                )
            except StatementFormatError as error:
                form.add_error("file", str(error))
            except StatementRefused as refused:
                form.add_error(None, str(refused))
                summary = refused.summary
            else:
                s = result.summary
                imported = ngettext(
                    "Imported %(count)s entry (%(duplicates)s already known).",
                    "Imported %(count)s entries (%(duplicates)s already known).",
                    s["imported"],
                ) % {"count": s["imported"], "duplicates": s["duplicates_skipped"]}
                confirmed = ngettext(
                    "%(count)s payment confirmed automatically.",
                    "%(count)s payments confirmed automatically.",
                    s["auto_confirmed"],
                ) % {"count": s["auto_confirmed"]}
                messages.success(request, f"{imported} {confirmed}")
                return redirect("payments_backoffice:queue")
    return render(
        request,
        "payments/backoffice/statement_upload.html",
        {"form": form, "summary": summary},
        status=400 if form.errors else 200,
    )


@staff_required("payments.view_banktransaction")
def transaction_detail(request: HttpRequest, pk: int) -> HttpResponse:
    txn = get_object_or_404(BankTransaction.objects.select_related("statement"), pk=pk)
    suggestions = txn.suggestions.select_related("customer", "declaration", "order")
    form = ConfirmForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("payments.change_banktransaction"):
            raise PermissionDenied
        if form.is_valid():
            try:
                _confirm(txn, form.cleaned_data, staff_of(request))
            except PaymentRefused as refused:
                form.add_error(None, str(refused))
            else:
                messages.success(request, _("Payment confirmed."))
                return redirect("payments_backoffice:queue")
    return render(
        request,
        "payments/backoffice/transaction.html",
        {"txn": txn, "suggestions": suggestions, "form": form, "reason_form": ReasonForm()},
        status=400 if form.errors else 200,
    )


def _confirm(txn: BankTransaction, data: dict[str, Any], staff: User) -> None:
    customer = User.objects.filter(
        email=normalise_email(data["customer_email"]), is_staff=False
    ).first()
    if customer is None:
        raise PaymentRefused(_("No customer has this e-mail address."))
    declaration = None
    if data.get("declaration"):
        declaration = PaymentDeclaration.objects.filter(
            pk=data["declaration"], customer=customer
        ).first()
        if declaration is None:
            raise PaymentRefused(_("That declaration is not this customer's."))
    credits_confirm(
        confirmations=[
            Confirmation(
                transaction=txn,
                customer=customer,
                declaration=declaration,
                bank_charge=data.get("bank_charge") or Decimal(0),
                third_party=data.get("third_party", False),
            )
        ],
        actor=staff,
    )


@require_POST
@staff_required("payments.change_banktransaction")
def transaction_ignore_view(request: HttpRequest, pk: int) -> HttpResponse:
    txn = get_object_or_404(BankTransaction, pk=pk)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        transaction_ignore(txn=txn, staff=staff_of(request), reason=reason)
    except PaymentRefused as refused:
        messages.error(request, str(refused))
    return redirect("payments_backoffice:queue")


@require_POST
@staff_required("payments.change_allocation")
def allocation_decide_view(request: HttpRequest, pk: int) -> HttpResponse:
    allocation = get_object_or_404(Allocation, pk=pk)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    approve = request.POST.get("decision") == "approve"
    try:
        allocation_decide(
            allocation=allocation, staff=staff_of(request), approve=approve, reason=reason
        )
    except PaymentRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(
            request, _("Allocation approved.") if approve else _("Allocation rejected.")
        )
    return redirect(request.POST.get("next") or "payments_backoffice:queue")


@require_POST
@staff_required("payments.change_allocation")
def allocation_reverse_view(request: HttpRequest, pk: int) -> HttpResponse:
    allocation = get_object_or_404(Allocation, pk=pk)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        allocation_reverse(allocation=allocation, staff=staff_of(request), reason=reason or "-")
    except PaymentRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("Allocation reversed."))
    return redirect("payments_backoffice:deposit", pk=allocation.deposit_id)


@staff_required("payments.view_deposit")
def deposit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    deposit = get_object_or_404(Deposit.objects.select_related("customer", "transaction"), pk=pk)
    return render(
        request,
        "payments/backoffice/deposit.html",
        {
            "deposit": deposit,
            "available": deposit_available(deposit),
            "allocations": deposit.allocations.select_related("order"),
            "refunds": deposit.refunds.all(),
            "reason_form": ReasonForm(),
            "refund_form": RefundForm(),
        },
    )


@require_POST
@staff_required("payments.change_deposit")
def deposit_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    deposit = get_object_or_404(Deposit, pk=pk)
    staff = staff_of(request)
    try:
        if action == "clear":
            third_party_clear(deposit=deposit, staff=staff)
            messages.success(request, _("Third-party payment cleared for use."))
        elif action == "reverse":
            form = ReasonForm(request.POST)
            reason = form.cleaned_data["reason"] if form.is_valid() else ""
            if not reason:
                raise PaymentRefused(_("Give the reason for the reversal."))
            deposit_reverse(deposit=deposit, staff=staff, reason=reason)
            messages.success(
                request, _("Confirmation reversed; the bank entry is back in the queue.")
            )
        elif action == "refund":
            if not staff.has_perm("payments.add_refund"):
                raise PermissionDenied
            refund_form = RefundForm(request.POST)
            if not refund_form.is_valid():
                raise PaymentRefused(_("Enter the amount to refund."))
            refund_approve(deposit=deposit, amount=refund_form.cleaned_data["amount"], staff=staff)
            messages.success(request, _("Refund approved."))
        else:
            raise PermissionDenied
    except PaymentRefused as refused:
        messages.error(request, str(refused))
    return redirect("payments_backoffice:deposit", pk=pk)


def _period(request: HttpRequest) -> tuple[date, date]:
    today = timezone.localdate()
    try:
        start = date.fromisoformat(request.GET.get("from", ""))
    except ValueError:
        start = today - timedelta(days=365)
    try:
        end = date.fromisoformat(request.GET.get("to", ""))
    except ValueError:
        end = today
    return start, max(start, end)


@staff_required("payments.view_deposit")
def customer_ledger(request: HttpRequest, pk: int) -> HttpResponse:
    """A customer's deposit account between two dates: opening, entries, closing."""
    customer = get_object_or_404(User, pk=pk, is_staff=False)
    start, end = _period(request)
    statements = [
        customer_statement(customer=customer, currency=c, start=start, end=end)
        for c in customer_currencies(customer)
    ]
    audit_event_record(
        action="customer.ledger_viewed", actor=request.user, obj=customer, subject_id=customer.pk
    )
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="ledger-{customer.customer_number}-{start}-{end}.csv"'
        )
        writer = csv.writer(response)
        writer.writerow(["currency", "date", "description", "amount", "balance"])
        for st in statements:
            writer.writerow([st.currency, start.isoformat(), "Opening balance", "", st.opening])
            for line in st.lines:
                writer.writerow(
                    [st.currency, line.when.isoformat(), line.memo, line.amount, line.running]
                )
            writer.writerow([st.currency, end.isoformat(), "Closing balance", "", st.closing])
        return response
    return render(
        request,
        "payments/backoffice/customer_ledger.html",
        {"customer": customer, "statements": statements, "start": start, "end": end},
    )


@staff_required("payments.change_paymentsettings")
def payment_settings(request: HttpRequest) -> HttpResponse:
    row = PaymentSettings.current()
    form = PaymentSettingsForm(request.POST or None, instance=row)
    if request.method == "POST" and form.is_valid():
        form.save()
        audit_event_record(
            action="payment_settings.changed",
            actor=request.user,
            obj=row,
            details={name: str(form.cleaned_data[name]) for name in form.changed_data},
        )
        messages.success(request, _("Settings saved."))
        return redirect("payments_backoffice:settings")
    return render(
        request,
        "payments/backoffice/settings.html",
        {"form": form},
        status=400 if form.errors else 200,
    )

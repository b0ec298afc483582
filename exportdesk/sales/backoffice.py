"""Back office for sales and accounting: proformas, and the exporter's bank accounts (four-eyes)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from exportdesk.accounts.http import staff_of
from exportdesk.accounts.otp import staff_required
from exportdesk.sales.documents import document_context, proforma_document
from exportdesk.sales.forms import BankAccountForm, DecisionForm, ProformaForm
from exportdesk.sales.models import BANK_DETAIL_FIELDS, BankAccount, BankAccountChange, Proforma
from exportdesk.sales.services import (
    BankAccountChangeRefused,
    ProformaDraft,
    ProformaRefused,
    bank_account_change_decide,
    bank_account_change_propose,
    proforma_issue,
    proforma_release,
)


@staff_required("sales.view_proforma")
def proforma_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    proformas = Proforma.objects.select_related("customer", "port").order_by("-issued_at", "-id")
    if status in Proforma.Status.values:
        proformas = proformas.filter(status=status)
    page = Paginator(proformas, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "sales/backoffice/proforma_list.html",
        {"page": page, "status": status, "statuses": Proforma.Status.choices},
    )


@staff_required("sales.add_proforma")
def proforma_create(request: HttpRequest) -> HttpResponse:
    form = ProformaForm(
        request.POST or None, initial={"stock_numbers": request.GET.get("stock", "")}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        account = data["bank_account"]
        draft = ProformaDraft(
            customer=data["customer_email"],
            vehicles=data["stock_numbers"],
            incoterm=data["incoterm"],
            destination_country=data["destination_country"],
            currency=account.currency,
            bank_account=account,
            port=data["port"],
            method=data["method"],
            extra_charges=data["extra_charges"],
            due_date=data["due_date"],
            notes=data["notes"],
        )
        try:
            proforma = proforma_issue(draft=draft, staff=staff_of(request))
        except ProformaRefused as refused:
            for reason in refused.reasons:
                form.add_error(None, reason)
        else:
            messages.success(
                request, _("Proforma %(number)s issued and sent.") % {"number": proforma.number}
            )
            return redirect("sales_backoffice:proforma_detail", number=proforma.number)
    return render(
        request,
        "sales/backoffice/proforma_form.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@staff_required("sales.view_proforma")
def proforma_detail(request: HttpRequest, number: str) -> HttpResponse:
    proforma = get_object_or_404(Proforma.objects.select_related("customer", "port"), number=number)
    return render(
        request,
        "sales/backoffice/proforma_detail.html",
        document_context(proforma_document(proforma)),
    )


@require_POST
@staff_required("sales.change_proforma")
def proforma_cancel(request: HttpRequest, number: str) -> HttpResponse:
    proforma = get_object_or_404(Proforma, number=number)
    if proforma.status not in (Proforma.Status.ISSUED, Proforma.Status.ACCEPTED):
        messages.error(request, _("Only an open proforma can be cancelled."))
    elif proforma_release(proforma=proforma, actor=staff_of(request), cancelled=True).status != (
        Proforma.Status.CANCELLED
    ):
        messages.error(request, _("This proforma has payments; settle them before cancelling."))
    else:
        messages.success(request, _("Proforma cancelled; its vehicles are available again."))
    return redirect("sales_backoffice:proforma_detail", number=number)


# --- Bank accounts ------------------------------------------------------------------------------


@staff_required("sales.view_bankaccount")
def bank_accounts(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "sales/backoffice/bank_accounts.html",
        {
            "accounts": BankAccount.objects.all(),
            "changes": BankAccountChange.objects.select_related(
                "proposed_by", "decided_by", "bank_account"
            )[:50],
            "decision_form": DecisionForm(),
        },
    )


@staff_required("sales.change_bankaccount")
def bank_account_propose(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Propose a new account or a change; nothing changes until a second accountant approves."""
    account = get_object_or_404(BankAccount, pk=pk) if pk else None
    # The form edits a copy: the live account must not change before approval.
    draft = BankAccount.objects.get(pk=pk) if pk else BankAccount()
    form = BankAccountForm(request.POST or None, instance=draft)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        proposed = {name: data[name] for name in (*BANK_DETAIL_FIELDS, "statement_identification")}
        proposed["is_active"] = data["is_active"]
        code = account.code if account else data["code"]
        bank_account_change_propose(
            staff=staff_of(request), proposed=proposed, code=code, bank_account=account
        )
        messages.success(
            request, _("Change proposed. A second member of accounting must approve it.")
        )
        return redirect("sales_backoffice:bank_accounts")
    return render(
        request,
        "sales/backoffice/bank_account_form.html",
        {"form": form, "account": account},
        status=400 if form.errors else 200,
    )


@require_POST
@staff_required("sales.change_bankaccount")
def bank_account_decide(request: HttpRequest, pk: int) -> HttpResponse:
    change = get_object_or_404(BankAccountChange, pk=pk)
    form = DecisionForm(request.POST)
    approve = request.POST.get("decision") == "approve"
    if form.is_valid():
        try:
            bank_account_change_decide(
                change=change,
                staff=staff_of(request),
                approve=approve,
                reason=form.cleaned_data["reason"],
            )
        except (BankAccountChangeRefused, ValidationError) as error:
            messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        else:
            messages.success(request, _("Approved and applied.") if approve else _("Rejected."))
    return redirect("sales_backoffice:bank_accounts")

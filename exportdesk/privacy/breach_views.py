"""Back-office pages of the breach register (privacy officer)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from exportdesk.accounts.http import staff_of
from exportdesk.accounts.otp import staff_required
from exportdesk.core.personal_data import CATEGORY_LABELS, DataCategory
from exportdesk.privacy.breaches import (
    BreachRefused,
    breach_affected_page_rows,
    breach_deadlines,
    breach_notice_counts,
    breach_notices_send,
    breach_record,
    breach_report_record,
    breach_update,
)
from exportdesk.privacy.forms_breach import BreachEditForm, BreachForm, BreachReportForm
from exportdesk.privacy.models import Breach

AFFECTED_PER_PAGE = 50


def _breach(reference: str) -> Breach:
    return get_object_or_404(Breach.objects.prefetch_related("reports"), reference=reference)


@staff_required("privacy.view_breach")
def breach_list(request: HttpRequest) -> HttpResponse:
    breaches = Breach.objects.prefetch_related("reports").order_by("-detected_at", "-pk")
    page = Paginator(breaches, 50).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = [(breach, _next_deadline(breach, now)) for breach in page]
    return render(request, "privacy/breaches/list.html", {"page": page, "rows": rows})


def _next_deadline(breach: Breach, now: Any) -> Any:
    """The earliest report still to send, for the list's "next deadline" column."""
    open_ = [d for d in breach_deadlines(breach, now=now) if d.report is None]
    return min(open_, key=lambda d: d.due_at) if open_ else None


@staff_required("privacy.add_breach")
def breach_create(request: HttpRequest) -> HttpResponse:
    form = BreachForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            breach = breach_record(facts=form.facts(), actor=staff_of(request))
        except (BreachRefused, ValidationError) as refused:
            form.add_error(None, " ".join(getattr(refused, "messages", [str(refused)])))
        else:
            messages.success(
                request, _("Breach %(reference)s recorded.") % {"reference": breach.reference}
            )
            return redirect("breaches:detail", reference=breach.reference)
    return render(
        request,
        "privacy/breaches/form.html",
        {"form": form, "breach": None},
        status=400 if form.errors else 200,
    )


@staff_required("privacy.change_breach")
def breach_edit(request: HttpRequest, reference: str) -> HttpResponse:
    breach = _breach(reference)
    form = BreachEditForm(request.POST or None, initial=BreachForm.initial_from(breach))
    if request.method == "POST" and form.is_valid():
        try:
            breach_update(
                breach=breach,
                facts=form.facts(),
                status=form.cleaned_data["status"],
                actor=staff_of(request),
            )
        except ValidationError as refused:
            form.add_error(None, refused)
        else:
            messages.success(request, _("Breach updated."))
            return redirect("breaches:detail", reference=breach.reference)
    return render(
        request,
        "privacy/breaches/form.html",
        {"form": form, "breach": breach},
        status=400 if form.errors else 200,
    )


@staff_required("privacy.view_breach")
def breach_detail(request: HttpRequest, reference: str) -> HttpResponse:
    return _detail(request, _breach(reference))


def _detail(
    request: HttpRequest, breach: Breach, report_form: BreachReportForm | None = None
) -> HttpResponse:
    affected = Paginator(breach_affected_page_rows(breach), AFFECTED_PER_PAGE)
    context = {
        "breach": breach,
        "categories": [CATEGORY_LABELS[DataCategory(c)] for c in breach.categories],
        "deadlines": breach_deadlines(breach),
        "counts": breach_notice_counts(breach),
        "affected": affected.get_page(request.GET.get("page")),
        "report_form": report_form or BreachReportForm(breach=breach),
    }
    status = 400 if report_form is not None and report_form.errors else 200
    return render(request, "privacy/breaches/detail.html", context, status=status)


@require_POST
@staff_required("privacy.add_breachreport")
def breach_report_add(request: HttpRequest, reference: str) -> HttpResponse:
    breach = _breach(reference)
    form = BreachReportForm(request.POST, breach=breach)
    if form.is_valid():
        data = form.cleaned_data
        try:
            report = breach_report_record(
                breach=breach,
                kind=data["kind"],
                sent_at=data["sent_at"],
                reference=data["reference"],
                notes=data["notes"],
                actor=staff_of(request),
            )
        except BreachRefused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(
                request, _("%(report)s recorded.") % {"report": report.get_kind_display()}
            )
            return redirect("breaches:detail", reference=breach.reference)
    return _detail(request, breach, report_form=form)


@require_POST
@staff_required("privacy.add_breachnotice")
def breach_notices(request: HttpRequest, reference: str) -> HttpResponse:
    breach = _breach(reference)
    waiting = breach_notices_send(breach=breach, actor=staff_of(request))
    if waiting:
        messages.success(
            request,
            ngettext(
                "Sending the notice to %(count)d person. Refresh to follow its progress.",
                "Sending notices to %(count)d people. Refresh to follow their progress.",
                waiting,
            )
            % {"count": waiting},
        )
    else:
        messages.info(request, _("Everyone who can be reached has already been told."))
    return redirect("breaches:detail", reference=breach.reference)

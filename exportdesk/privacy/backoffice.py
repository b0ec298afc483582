"""The privacy officer's desk: the request queue, each request's actions, dispute holds, and
requests received by post or phone. Views validate, call `request_actions`, and render."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from exportdesk.accounts.backoffice import staff_required
from exportdesk.accounts.models import User
from exportdesk.core.audit import audit_event_record
from exportdesk.core.forms import NoLabelSuffix
from exportdesk.core.http import client_ip
from exportdesk.core.models import AuditEvent
from exportdesk.core.personal_data import Text
from exportdesk.privacy import request_actions as actions
from exportdesk.privacy.erasure import erasure_plan
from exportdesk.privacy.models import DataExport, DataRequest, DisputeHold
from exportdesk.privacy.requests import EXPORT_KINDS

State = DataRequest.State
Kind = DataRequest.Kind
DESK = "accounts.privacy_desk"
FINISHED_STATES = (State.COMPLETED, State.REJECTED, State.EXPIRED)
SOON_DAYS = 7
_EXPORT_ACTIVE = (DataExport.State.QUEUED, DataExport.State.BUILDING, DataExport.State.READY)
PAGE_SIZE = 50


def _officer(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


# --- forms -------------------------------------------------------------------------------------


class _Form(NoLabelSuffix, forms.Form):
    pass


class ConfirmForm(_Form):
    """An action with nothing to fill in (start, confirm identity)."""


class IdentityForm(_Form):
    note = forms.CharField(
        label=gettext_lazy("What the person must send"),
        help_text=gettext_lazy("E-mailed to the person. There is never a fee."),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )


class ExtendForm(_Form):
    days = forms.IntegerField(
        label=gettext_lazy("Extend by (days)"),
        min_value=1,
        max_value=actions.MAX_EXTENSION_DAYS,
        initial=30,
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason for the extension"),
        help_text=gettext_lazy("E-mailed to the person. A request can be extended once."),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )


class RejectForm(_Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason for the rejection"),
        help_text=gettext_lazy("E-mailed to the person."),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )


class CompleteForm(_Form):
    outcome = forms.CharField(
        label=gettext_lazy("Outcome"),
        help_text=gettext_lazy("What was done; e-mailed to the person."),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
    )


class ErasureForm(_Form):
    note = forms.CharField(
        label=gettext_lazy("Note to the person (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
    )
    confirm = forms.BooleanField(
        label=gettext_lazy("I have checked the plan: erase what it says, keep what it holds")
    )


class HoldForm(_Form):
    reason = forms.CharField(
        label=gettext_lazy("What the dispute or claim is about"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
    )


class RecordForm(_Form):
    kind = forms.ChoiceField(label=gettext_lazy("What the person asks for"), choices=Kind.choices)
    email = forms.EmailField(label=gettext_lazy("Their e-mail address"))
    name = forms.CharField(label=gettext_lazy("Their name"), max_length=150, required=False)
    details = forms.CharField(
        label=gettext_lazy("The request, in their words"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
    )
    received_on = forms.DateField(
        label=gettext_lazy("Received on"),
        help_text=gettext_lazy("The day the letter arrived or the call was taken."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    language = forms.ChoiceField(
        label=gettext_lazy("Language to answer in"), choices=settings.LANGUAGES
    )

    def clean_received_on(self) -> Any:
        received_on = self.cleaned_data["received_on"]
        if received_on > timezone.localdate():
            raise forms.ValidationError(_("The day received cannot be in the future."))
        return received_on


# --- the queue ---------------------------------------------------------------------------------


@staff_required(DESK)
def queue(request: HttpRequest) -> HttpResponse:
    """Open requests by due date (overdue first), or the finished ones, newest first."""
    now = timezone.now()
    finished = request.GET.get("tab") == "finished"
    tab_states = FINISHED_STATES if finished else DataRequest.OPEN_STATES
    rows = DataRequest.objects.filter(state__in=tab_states).select_related("user", "handled_by")
    state = request.GET.get("state", "")
    kind = request.GET.get("kind", "")
    if state in tab_states:
        rows = rows.filter(state=state)
    if kind in Kind.values:
        rows = rows.filter(kind=kind)
    rows = rows.order_by("-completed_at", "-pk") if finished else rows.order_by("due_at", "pk")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    soon = now + timedelta(days=SOON_DAYS)
    counts = DataRequest.objects.filter(state__in=DataRequest.OPEN_STATES).aggregate(
        open=Count("pk"),
        overdue=Count("pk", filter=Q(due_at__lt=now)),
        soon=Count("pk", filter=Q(due_at__gte=now, due_at__lte=soon)),
    )
    return render(
        request,
        "privacy/backoffice/queue.html",
        {
            "page": page,
            "finished": finished,
            "state": state,
            "kind": kind,
            "states": [(s.value, s.label) for s in tab_states],
            "kinds": Kind.choices,
            "counts": counts,
            "now": now,
            "soon": soon,
        },
    )


# --- one request -------------------------------------------------------------------------------


def _forms_for(data_request: DataRequest) -> dict[str, forms.Form]:
    complete = CompleteForm()
    if data_request.kind == Kind.RECTIFICATION:
        complete.fields["outcome"].label = _("What was corrected")
        complete.fields["outcome"].help_text = _(
            "E-mailed to the person; everyone who received their data is told of the correction."
        )
    return {
        "start": ConfirmForm(),
        "identity_require": IdentityForm(),
        "identity_confirm": ConfirmForm(),
        "extend": ExtendForm(),
        "reject": RejectForm(),
        "complete": complete,
        "erase": ErasureForm(),
        "export": ConfirmForm(),
    }


def _available(data_request: DataRequest, exports: list[DataExport]) -> set[str]:
    """The actions its state allows, so the page offers only buttons that can work."""
    working = data_request.state in (State.IN_PROGRESS, State.EXTENDED)
    found: set[str] = set()
    if (
        data_request.kind in EXPORT_KINDS
        and (working or data_request.state == State.RECEIVED)
        and not any(x.state in _EXPORT_ACTIVE for x in exports)
    ):
        found.add("export")
    if data_request.state == State.RECEIVED:
        found.add("start")
    if data_request.state in (State.RECEIVED, State.IN_PROGRESS):
        found.add("identity_require")
        if data_request.extended_at is None:
            found.add("extend")
    if data_request.state == State.VERIFYING:
        found.add("identity_confirm")
    if data_request.is_open:
        found.add("reject")
    if working:
        found.add("erase" if data_request.kind == Kind.ERASURE else "complete")
    return found


def _detail(
    request: HttpRequest,
    data_request: DataRequest,
    *,
    bound: tuple[str, forms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    page_forms = _forms_for(data_request)
    exports = list(data_request.exports.all()) if data_request.kind in EXPORT_KINDS else []
    available = _available(data_request, exports)
    refusals: list[str] = []
    if bound is not None:
        page_forms[bound[0]] = bound[1]
        if bound[0] not in available:
            # The state changed under the officer (a second click, a colleague): the form is
            # gone from the page, so its refusal is shown at the top instead.
            refusals = [str(e) for e in bound[1].non_field_errors()] or [
                _("This action is not available now: the request is %(state)s.")
                % {"state": data_request.get_state_display()}
            ]
    subject = actions.request_subject(data_request)
    plan = None
    if data_request.kind == Kind.ERASURE and data_request.is_open:
        plan = erasure_plan(subject)
    holds = (
        DisputeHold.objects.filter(user=subject.user).select_related("opened_by")
        if subject.user is not None
        else DisputeHold.objects.none()
    )
    history = (
        AuditEvent.objects.filter(
            object_type=DataRequest._meta.label_lower, object_id=str(data_request.pk)
        )
        .exclude(action="privacy.request_viewed")
        .order_by("seq")
    )
    return render(
        request,
        "privacy/backoffice/request_detail.html",
        {
            "data_request": data_request,
            "subject": subject,
            "forms": page_forms,
            "available": available,
            "refusals": refusals,
            "plan": plan,
            "erasures": data_request.erasures.select_related("executed_by"),
            "exports": exports if data_request.kind in EXPORT_KINDS else None,
            "holds": holds,
            "hold_form": HoldForm(),
            "history": history,
            "overdue": data_request.is_open
            and data_request.due_at is not None
            and data_request.due_at < timezone.now(),
        },
        status=status,
    )


def _request_or_404(pk: int) -> DataRequest:
    return get_object_or_404(DataRequest.objects.select_related("user", "handled_by"), pk=pk)


@staff_required(DESK)
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    data_request = _request_or_404(pk)
    # Staff reading a person's request is itself recorded (DESIGN.md §4).
    audit_event_record(
        action="privacy.request_viewed",
        actor=request.user,
        obj=data_request,
        subject_id=data_request.user_id,
        ip_address=client_ip(request),
    )
    return _detail(request, data_request)


# Each action: its form class and how to call the service with the cleaned data.
_Action = tuple[type[forms.Form], Callable[[DataRequest, User, dict[str, Any]], object], Text]

_ACTIONS: dict[str, _Action] = {
    "start": (
        ConfirmForm,
        lambda r, u, d: actions.request_start(data_request=r, actor=u),
        gettext_lazy("Work on the request has started."),
    ),
    "identity_require": (
        IdentityForm,
        lambda r, u, d: actions.request_identity_require(data_request=r, actor=u, note=d["note"]),
        gettext_lazy("The person was asked by e-mail for proof of identity."),
    ),
    "identity_confirm": (
        ConfirmForm,
        lambda r, u, d: actions.request_identity_confirm(data_request=r, actor=u),
        gettext_lazy("Identity confirmed; the request is in progress."),
    ),
    "extend": (
        ExtendForm,
        lambda r, u, d: actions.request_extend(
            data_request=r, actor=u, days=d["days"], reason=d["reason"]
        ),
        gettext_lazy("The due date was moved and the person was told why."),
    ),
    "reject": (
        RejectForm,
        lambda r, u, d: actions.request_reject(data_request=r, actor=u, reason=d["reason"]),
        gettext_lazy("The request was rejected and the person was told why."),
    ),
    "complete": (
        CompleteForm,
        lambda r, u, d: actions.request_complete(data_request=r, actor=u, outcome=d["outcome"]),
        gettext_lazy("The request is completed and the person was told the outcome."),
    ),
    "erase": (
        ErasureForm,
        lambda r, u, d: actions.request_erasure_carry_out(data_request=r, actor=u, note=d["note"]),
        gettext_lazy("The erasure was carried out; the person was told what was kept and why."),
    ),
    "export": (
        ConfirmForm,
        lambda r, u, d: actions.request_export_prepare(data_request=r, actor=u),
        gettext_lazy(
            "The data package is being prepared; the person is e-mailed when it is ready."
        ),
    ),
}


@require_POST
@staff_required(DESK)
def request_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in _ACTIONS:
        raise Http404
    data_request = _request_or_404(pk)
    form_class, call, done = _ACTIONS[action]
    form = form_class(request.POST)
    if form.is_valid():
        try:
            call(data_request, _officer(request), form.cleaned_data)
        except actions.RequestRefused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, str(done))
            return redirect("privacy_backoffice:request_detail", pk=data_request.pk)
    data_request.refresh_from_db()
    return _detail(request, data_request, bound=(action, form), status=400)


# --- requests received by post or phone --------------------------------------------------------


@staff_required(DESK)
def request_record(request: HttpRequest) -> HttpResponse:
    form = RecordForm(
        request.POST or None,
        initial={"received_on": timezone.localdate(), "language": settings.LANGUAGE_CODE},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        data_request = actions.request_record(
            actor=_officer(request),
            kind=data["kind"],
            email=data["email"],
            name=data["name"],
            details=data["details"],
            received_at=_received_at(data["received_on"]),
            language=data["language"],
        )
        messages.success(
            request, _("The request was recorded; the person was sent an acknowledgement.")
        )
        return redirect("privacy_backoffice:request_detail", pk=data_request.pk)
    return render(
        request,
        "privacy/backoffice/request_record.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


def _received_at(day: Any) -> datetime:
    """Today's requests count from now; a letter from an earlier day from that day's start."""
    if day == timezone.localdate():
        return timezone.now()
    return timezone.make_aware(datetime.combine(day, time.min))


# --- dispute holds -----------------------------------------------------------------------------


def _customer_or_404(pk: int) -> User:
    return get_object_or_404(User, pk=pk, is_staff=False)


@staff_required(DESK)
def customer_privacy(request: HttpRequest, pk: int) -> HttpResponse:
    """One customer's dispute holds and privacy requests; a hold can be opened here."""
    customer = _customer_or_404(pk)
    if request.method == "GET":
        audit_event_record(
            action="privacy.customer_viewed",
            actor=request.user,
            obj=customer,
            subject_id=customer.pk,
            ip_address=client_ip(request),
        )
    form = HoldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.dispute_hold_open(
                user=customer, reason=form.cleaned_data["reason"], actor=_officer(request)
            )
        except actions.RequestRefused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, _("Dispute hold opened: the customer's records are kept."))
            return _back(request, customer)
    return render(
        request,
        "privacy/backoffice/customer_privacy.html",
        {
            "customer": customer,
            "form": form,
            "holds": DisputeHold.objects.filter(user=customer).select_related("opened_by"),
            "requests": DataRequest.objects.filter(user=customer).order_by("-received_at"),
        },
        status=400 if form.errors else 200,
    )


@require_POST
@staff_required(DESK)
def hold_close(request: HttpRequest, pk: int) -> HttpResponse:
    hold = get_object_or_404(DisputeHold.objects.select_related("user"), pk=pk)
    try:
        actions.dispute_hold_close(hold=hold, actor=_officer(request))
    except actions.RequestRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("Dispute hold closed."))
    return _back(request, hold.user)


def _back(request: HttpRequest, customer: User) -> HttpResponse:
    """Back to the request the officer came from, or to the customer's privacy page."""
    from_request = request.POST.get("from_request", "")
    if from_request.isdigit() and DataRequest.objects.filter(pk=from_request).exists():
        return redirect("privacy_backoffice:request_detail", pk=int(from_request))
    return redirect("privacy_backoffice:customer", pk=customer.pk)

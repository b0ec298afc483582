"""The privacy officer's work on data-subject requests (issue 5, parts 1 and 3).

Every transition locks the request, checks its state, writes the change and its audit event in
one transaction, and tells the person by e-mail once the change is committed. A transition the
state does not allow raises `RequestRefused` and changes nothing, so a double click or two
officers acting at once cannot, say, extend a request twice or erase a person twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from exportdesk.accounts.models import User, normalise_email
from exportdesk.core.audit import audit_event_record
from exportdesk.core.mail import mail_send_template
from exportdesk.core.models import AuditEvent
from exportdesk.privacy.erasure import erasure_execute, erasure_plan
from exportdesk.privacy.models import DataExport, DataRequest, DisputeHold, ErasureRecord
from exportdesk.privacy.requests import (
    EXPORT_KINDS,
    export_request,
    request_acknowledge,
    request_audit,
    request_due_at,
)
from exportdesk.privacy.subjects import Subject, subject_for_email, subject_for_user

State = DataRequest.State
Kind = DataRequest.Kind

# GDPR Art. 12(3): one extension, of at most two further months.
MAX_EXTENSION_DAYS = 60
REMINDER_DAYS = (7, 2)
PRIVACY_DESK = "accounts.privacy_desk"
_OVERDUE_REMINDED = "privacy.request_overdue_reminded"


class RequestRefused(Exception):
    """The request's state does not allow this; the message says why, for the officer."""


# --- helpers ---------------------------------------------------------------------------------


def _locked(data_request: DataRequest) -> DataRequest:
    """Re-read the request under a row lock: the state checked is the state changed."""
    return DataRequest.objects.select_for_update().get(pk=data_request.pk)


def _require_state(data_request: DataRequest, allowed: Iterable[str], message: str) -> None:
    if data_request.state not in allowed:
        raise RequestRefused(
            _("%(message)s (The request is now: %(state)s.)")
            % {"message": message, "state": data_request.get_state_display()}
        )


def _audit(
    data_request: DataRequest, action: str, actor: User, details: dict[str, Any] | None = None
) -> None:
    request_audit(
        data_request=data_request,
        action=f"privacy.request_{action}",
        actor=actor,
        **(details or {}),
    )


def _tell_person(data_request: DataRequest, template: str, **context: Any) -> None:
    mail_send_template(
        to=data_request.email,
        template=f"privacy/email/{template}",
        context={
            "data_request": data_request,
            "privacy_url": _site_url("privacy:mypage_privacy"),
            **context,
        },
        language=data_request.language,
    )


def _site_url(name: str) -> str:
    return settings.SITE_URL + reverse(name)


def request_subject(data_request: DataRequest) -> Subject:
    """Whom the request is about: its account when it has one, else whoever owns the address."""
    if data_request.user is not None:
        return subject_for_user(data_request.user)
    return subject_for_email(data_request.email)


# --- recording a request received by post or phone -------------------------------------------


def request_record(
    *,
    actor: User,
    kind: str,
    email: str,
    name: str,
    details: str,
    received_at: datetime,
    language: str = "",
) -> DataRequest:
    """A request the person sent by post or made by phone: the clock runs from its receipt."""
    if kind not in Kind.values:
        raise ValueError(f"unknown request kind {kind!r}")
    address = normalise_email(email)
    with transaction.atomic():
        owner = subject_for_email(address).user
        data_request = DataRequest.objects.create(
            kind=kind,
            state=State.RECEIVED,
            channel=DataRequest.Channel.STAFF,
            user=owner if owner is not None and not owner.is_staff else None,
            email=address,
            name=name.strip(),
            details=details.strip(),
            language=language,
            received_at=received_at,
            # Staff took the request from the person; there is no e-mail link to confirm.
            verified_at=timezone.now(),
            due_at=request_due_at(received_at),
        )
        _audit(data_request, "recorded", actor, {"channel": data_request.channel})
        request_acknowledge(data_request=data_request)
    return data_request


# --- state transitions -------------------------------------------------------------------------


def request_start(*, data_request: DataRequest, actor: User) -> DataRequest:
    with transaction.atomic():
        locked = _locked(data_request)
        _require_state(locked, (State.RECEIVED,), _("Only a received request can be started."))
        locked.state = State.IN_PROGRESS
        locked.handled_by = actor
        locked.save(update_fields=["state", "handled_by"])
        _audit(locked, "started", actor)
    return locked


def request_identity_require(*, data_request: DataRequest, actor: User, note: str) -> DataRequest:
    """Ask the person to prove who they are before we act (a risky case); never for a fee."""
    note = note.strip()
    if not note:
        raise RequestRefused(_("Say what proof of identity the person must send."))
    with transaction.atomic():
        locked = _locked(data_request)
        _require_state(
            locked,
            (State.RECEIVED, State.IN_PROGRESS),
            _("Proof of identity can be asked for only before the work is extended or finished."),
        )
        locked.state = State.VERIFYING
        locked.identity_proof_required = True
        locked.identity_proof_note = note
        locked.identity_verified_at = None
        locked.handled_by = actor
        locked.save(
            update_fields=[
                "state",
                "identity_proof_required",
                "identity_proof_note",
                "identity_verified_at",
                "handled_by",
            ]
        )
        _audit(locked, "identity_required", actor)
        _tell_person(locked, "decision_identity_needed", note=note)
    return locked


def request_identity_confirm(*, data_request: DataRequest, actor: User) -> DataRequest:
    with transaction.atomic():
        locked = _locked(data_request)
        _require_state(
            locked, (State.VERIFYING,), _("This request is not waiting for proof of identity.")
        )
        locked.state = State.IN_PROGRESS
        locked.identity_verified_at = timezone.now()
        locked.handled_by = actor
        locked.save(update_fields=["state", "identity_verified_at", "handled_by"])
        _audit(locked, "identity_confirmed", actor)
    return locked


def request_extend(
    *, data_request: DataRequest, actor: User, days: int, reason: str
) -> DataRequest:
    """Move the due date once, by up to 60 days, with a reason the person is told."""
    reason = reason.strip()
    if not reason:
        raise RequestRefused(_("Give the reason for the extension; the person is told it."))
    if not 1 <= days <= MAX_EXTENSION_DAYS:
        raise RequestRefused(
            _("An extension is between 1 and %(max)s days.") % {"max": MAX_EXTENSION_DAYS}
        )
    with transaction.atomic():
        locked = _locked(data_request)
        if locked.extended_at is not None:
            raise RequestRefused(
                _("This request was already extended once; the law allows one extension only.")
            )
        _require_state(
            locked,
            (State.RECEIVED, State.IN_PROGRESS),
            _("Only a request being worked on can be extended."),
        )
        assert locked.due_at is not None  # every verified request has its due date
        previous_due = locked.due_at
        locked.state = State.EXTENDED
        locked.due_at = previous_due + timedelta(days=days)
        locked.extended_at = timezone.now()
        locked.extension_reason = reason
        locked.handled_by = actor
        # The new deadline deserves its own reminders.
        locked.reminded_7_at = None
        locked.reminded_2_at = None
        locked.save(
            update_fields=[
                "state",
                "due_at",
                "extended_at",
                "extension_reason",
                "handled_by",
                "reminded_7_at",
                "reminded_2_at",
            ]
        )
        _audit(
            locked,
            "extended",
            actor,
            {"days": days, "previous_due_at": previous_due, "due_at": locked.due_at},
        )
        _tell_person(locked, "decision_extended", reason=reason)
    return locked


def request_reject(*, data_request: DataRequest, actor: User, reason: str) -> DataRequest:
    reason = reason.strip()
    if not reason:
        raise RequestRefused(_("Give the reason for the rejection; the person is told it."))
    with transaction.atomic():
        locked = _locked(data_request)
        _require_state(locked, DataRequest.OPEN_STATES, _("Only an open request can be rejected."))
        locked.state = State.REJECTED
        locked.rejection_reason = reason
        locked.completed_at = timezone.now()
        locked.handled_by = actor
        locked.save(update_fields=["state", "rejection_reason", "completed_at", "handled_by"])
        _audit(locked, "rejected", actor)
        _tell_person(locked, "decision_rejected", reason=reason)
    return locked


_WORKING_STATES = (State.IN_PROGRESS, State.EXTENDED)


def request_complete(*, data_request: DataRequest, actor: User, outcome: str) -> DataRequest:
    """Finish a request with the outcome the person is told.

    A correction is also passed on to everyone who received the data (GDPR Art. 19). An erasure
    is finished by `request_erasure_carry_out`, which knows what was kept.
    """
    outcome = outcome.strip()
    if not outcome:
        raise RequestRefused(_("Describe the outcome; the person is told it."))
    with transaction.atomic():
        locked = _locked(data_request)
        if locked.kind == Kind.ERASURE:
            raise RequestRefused(_("An erasure request is completed by carrying out the erasure."))
        _require_state(
            locked, _WORKING_STATES, _("Start the request (and confirm identity) first.")
        )
        notified = 0
        if locked.kind == Kind.RECTIFICATION:
            notified = _recipients_notify_of_correction(locked, actor)
        _finish(locked, actor, outcome, {"recipients_notified": notified})
    return locked


def _finish(
    locked: DataRequest, actor: User, outcome: str, details: dict[str, Any] | None = None
) -> None:
    locked.state = State.COMPLETED
    locked.outcome = outcome
    locked.completed_at = timezone.now()
    locked.handled_by = actor
    locked.save(update_fields=["state", "outcome", "completed_at", "handled_by"])
    _audit(locked, "completed", actor, details)
    _tell_person(locked, "decision_completed", outcome=outcome)


def _recipients_notify_of_correction(locked: DataRequest, actor: User) -> int:
    """Tell everyone who received the person's data about the correction (GDPR Art. 19)."""
    try:
        from exportdesk.privacy.provision import recipients_notify
    except ImportError:  # pragma: no cover - until the records of provision land
        return 0
    subject = request_subject(locked)
    sent = recipients_notify(
        user=subject.user, email=subject.email, kind="rectification", request=locked, actor=actor
    )
    return len(sent)


def request_export_prepare(*, data_request: DataRequest, actor: User) -> DataExport:
    """Build the data package of an access or portability request (again, after a failure).

    Requests from My Page and the public form start theirs at once; one recorded by staff, or
    one whose identity had to be proven first, starts it here. When the package is ready the
    person is e-mailed a link and the request completes.
    """
    if data_request.kind not in EXPORT_KINDS:
        raise RequestRefused(_("Only access and portability requests have a data package."))
    with transaction.atomic():
        locked = _locked(data_request)
        _require_state(
            locked,
            (State.RECEIVED, *_WORKING_STATES),
            _("The data package can be prepared only for a request being worked on."),
        )
        pending = locked.exports.filter(
            state__in=(DataExport.State.QUEUED, DataExport.State.BUILDING, DataExport.State.READY)
        ).exists()
        if pending:
            raise RequestRefused(_("A data package is already being prepared or ready."))
        return export_request(data_request=locked, actor=actor)


# --- erasure -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeptLine:
    """One kind of record kept after an erasure, in the words the person is told."""

    description: str
    hold_name: str
    statute: str
    until: Any
    rows: int


def _kept_lines(kept: Iterable[Any]) -> list[KeptLine]:
    return [
        KeptLine(
            description=str(item.description),
            hold_name=str(item.hold_name),
            statute=str(item.statute),
            until=item.until,
            rows=int(item.rows),
        )
        for item in kept
    ]


def request_erasure_carry_out(
    *, data_request: DataRequest, actor: User, note: str = ""
) -> ErasureRecord:
    """Erase the person's data under the plan, complete the request, tell them what was kept.

    The plan is read inside the same transaction as the erasure, so what the person is told was
    kept is what the erasure kept. Once done, the request is completed and a second attempt is
    refused without touching anything (the erasure itself is idempotent as well).
    """
    with transaction.atomic():
        locked = _locked(data_request)
        if locked.kind != Kind.ERASURE:
            raise RequestRefused(_("This is not an erasure request."))
        if locked.state == State.COMPLETED:
            raise RequestRefused(_("The erasure was already carried out for this request."))
        _require_state(
            locked, _WORKING_STATES, _("Start the request (and confirm identity) first.")
        )
        subject = request_subject(locked)
        with translation.override(locked.language or settings.LANGUAGE_CODE):
            # In the person's language: the descriptions of what is kept are what they are told.
            kept = _kept_lines(erasure_plan(subject).kept)
        record = erasure_execute(subject, actor=actor, request=locked, trigger="request")
        with translation.override(locked.language or settings.LANGUAGE_CODE):
            outcome = render_to_string(
                "privacy/backoffice/erasure_outcome.txt",
                {"kept": kept, "note": note.strip(), "executed_at": record.executed_at},
            ).strip()
        _finish(locked, actor, outcome, {"erasure_record": record.pk, "kept": len(kept)})
    return record


# --- dispute holds -----------------------------------------------------------------------------


def dispute_hold_open(*, user: User, reason: str, actor: User) -> DisputeHold:
    """Keep the person's records while a dispute or claim is open, whatever else is asked."""
    reason = reason.strip()
    if not reason:
        raise RequestRefused(_("Say what the dispute is about."))
    if user.is_staff:
        raise RequestRefused(_("Dispute holds are for customers."))
    with transaction.atomic():
        hold = DisputeHold.objects.create(
            user=user, reason=reason, opened_at=timezone.now(), opened_by=actor
        )
        audit_event_record(
            action="privacy.dispute_hold_opened", actor=actor, obj=hold, subject_id=user.pk
        )
    return hold


def dispute_hold_close(*, hold: DisputeHold, actor: User) -> DisputeHold:
    with transaction.atomic():
        locked = DisputeHold.objects.select_for_update().get(pk=hold.pk)
        if locked.closed_at is not None:
            raise RequestRefused(_("This dispute hold is already closed."))
        locked.closed_at = timezone.now()
        locked.save(update_fields=["closed_at"])
        audit_event_record(
            action="privacy.dispute_hold_closed", actor=actor, obj=locked, subject_id=locked.user_id
        )
    return locked


# --- reminders to the privacy officers ---------------------------------------------------------


def privacy_officers() -> QuerySet[User]:
    """Everyone who works the privacy desk, by role, by direct grant, or as a superuser."""
    perm = Permission.objects.filter(
        content_type__app_label="accounts", codename=PRIVACY_DESK.split(".")[1]
    )
    return (
        User.objects.filter(is_active=True, is_staff=True, closed_at__isnull=True)
        .filter(
            Q(groups__permissions__in=perm) | Q(user_permissions__in=perm) | Q(is_superuser=True)
        )
        .distinct()
        .order_by("pk")
    )


def _claim(field: str, due_before: datetime, now: datetime) -> list[DataRequest]:
    """Mark the open requests due before `due_before` not yet reminded; return those marked.

    The conditional update is the claim: of two runs at once, each request goes to one only.
    """
    candidates = list(
        DataRequest.objects.filter(
            state__in=DataRequest.OPEN_STATES,
            due_at__gte=now,
            due_at__lte=due_before,
            **{f"{field}__isnull": True},
        ).values_list("pk", flat=True)
    )
    claimed = [
        pk
        for pk in candidates
        if DataRequest.objects.filter(pk=pk, **{f"{field}__isnull": True}).update(**{field: now})
    ]
    return list(DataRequest.objects.filter(pk__in=claimed).order_by("due_at", "pk"))


def _overdue_not_reminded_today(now: datetime) -> list[DataRequest]:
    """Overdue requests nobody was reminded about today (one reminder a day, however many runs).

    The rows are locked first so that a concurrent run waits and then sees today's reminder.
    """
    overdue = list(
        DataRequest.objects.select_for_update()
        .filter(state__in=DataRequest.OPEN_STATES, due_at__lt=now)
        .order_by("due_at", "pk")
    )
    reminded = set(
        AuditEvent.objects.filter(
            action=_OVERDUE_REMINDED,
            object_type=DataRequest._meta.label_lower,
            object_id__in=[str(r.pk) for r in overdue],
            details__day=_day(now),
        ).values_list("object_id", flat=True)
    )
    return [r for r in overdue if str(r.pk) not in reminded]


def _day(now: datetime) -> str:
    return timezone.localtime(now).date().isoformat()


def privacy_reminders_send(now: datetime | None = None) -> int:
    """E-mail the privacy officers about requests due within 7 and 2 days (once each) and about
    overdue ones (once a day). Returns how many requests they were reminded about."""
    now = now or timezone.now()
    with transaction.atomic():
        # The 2-day reminder first: a request recorded late skips straight to it, and its 7-day
        # reminder is then marked as sent so it does not arrive afterwards.
        due_2 = _claim("reminded_2_at", now + timedelta(days=2), now)
        DataRequest.objects.filter(pk__in=[r.pk for r in due_2], reminded_7_at__isnull=True).update(
            reminded_7_at=now
        )
        due_7 = _claim("reminded_7_at", now + timedelta(days=7), now)
        overdue = _overdue_not_reminded_today(now)
        for data_request in overdue:
            audit_event_record(
                action=_OVERDUE_REMINDED,
                obj=data_request,
                subject_id=data_request.user_id,
                details={"due_at": data_request.due_at, "day": _day(now)},
            )
        for data_request in due_7 + due_2:
            days = 2 if data_request in due_2 else 7
            audit_event_record(
                action=f"privacy.request_reminded_{days}",
                obj=data_request,
                subject_id=data_request.user_id,
                details={"due_at": data_request.due_at},
            )
        if due_7 or due_2 or overdue:
            _officers_tell(due_7=due_7, due_2=due_2, overdue=overdue, now=now)
    return len(due_7) + len(due_2) + len(overdue)


def _officers_tell(
    *,
    due_7: list[DataRequest],
    due_2: list[DataRequest],
    overdue: list[DataRequest],
    now: datetime,
) -> None:
    context = {
        "due_7": due_7,
        "due_2": due_2,
        "overdue": overdue,
        "now": now,
        "queue_url": _site_url("privacy_backoffice:queue"),
    }
    for officer in privacy_officers():
        mail_send_template(
            to=officer.email,
            template="privacy/email/officer_reminder",
            context={**context, "officer": officer},
            language=officer.language,
        )

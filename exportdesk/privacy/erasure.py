"""Erasure: the plan computed from the inventory for one person, and its execution.

For every declared model, the rows about the person are deleted, anonymised or kept, field by
field, as the declarations say. A field under a legal hold is kept while the hold runs (for
accounting records: 7 years from the end of the fiscal year); once it has run out the field is
anonymised like the rest. An open dispute keeps the person's communications and transactions
until it is closed. Kept rows point at the anonymised account, whose e-mail address and name are
replaced by a stable pseudonym, so running the erasure again changes nothing.

The same plan is shown to the privacy officer as a dry run before anything is changed.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Max, Q, QuerySet
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.translation import gettext

from exportdesk.accounts.models import User
from exportdesk.core.audit import audit_event_record, audit_events_redact
from exportdesk.core.models import AuditEvent
from exportdesk.core.personal_data import (
    DISPUTE_HOLD,
    DataCategory,
    ErasureAction,
    LegalHold,
    ModelDeclaration,
    open_obligations,
)
from exportdesk.privacy.models import DataRequest, DisputeHold, ErasureRecord
from exportdesk.privacy.periods import (
    field_at,
    hold_cutoff,
    hold_until,
    stored_files,
    stored_files_delete,
)
from exportdesk.privacy.provision import recipients_notify
from exportdesk.privacy.subjects import Subject, personal_declarations, subject_rows

# What an open dispute keeps: what was said and what was bought and paid.
DISPUTE_CATEGORIES = frozenset(
    {DataCategory.COMMUNICATION, DataCategory.TRANSACTION, DataCategory.FINANCIAL}
)
# A condition every row meets. An empty Q() would not do: `exclude(Q())` excludes nothing.
EVERY_ROW = Q(pk__isnull=False)
ERASED_DOMAIN = "erased.invalid"  # RFC 2606: never deliverable
UNUSABLE_PASSWORD = "!erased"  # Django treats a leading "!" as "no password can match"


@dataclass(frozen=True)
class PlanItem:
    model: str
    description: str
    field: str
    action: str  # "delete", "anonymise" or "hold"
    rows: int
    hold_name: str = ""
    statute: str = ""
    until: date | None = None
    reason: str = ""


@dataclass(frozen=True)
class KeptRecord:
    """What is kept and why, in the words the person is told."""

    description: str
    hold_name: str
    statute: str
    until: date | None
    rows: int


@dataclass
class _Step:
    """How one model's rows about the person change."""

    declaration: ModelDeclaration
    rows: QuerySet[Any]
    actions: dict[str, tuple[ErasureAction, LegalHold | None]]
    whole_held: Q | None  # rows kept entirely (a confirmed payment declaration)
    running: Q | None  # rows whose field holds still run; None: the model has no held field
    delete_rows: bool
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class ErasurePlan:
    subject: Subject
    pseudonym: str
    items: list[PlanItem]
    kept: list[KeptRecord]
    steps: list[_Step]
    # What the business still has open with the person (unspent money, orders on their way):
    # the officer settles these, or explains them, before erasing.
    obligations: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """Nothing left to delete or anonymise (everything is gone or held)."""
        return not any(item.action != ErasureAction.HOLD and item.rows for item in self.items)


# --- the plan --------------------------------------------------------------------------------


def pseudonym_for(subject: Subject) -> str:
    """Stable per person, so a second run writes the same values; keyed, so it cannot be
    reversed by hashing candidate addresses."""
    key = f"user:{subject.user.pk}" if subject.user is not None else f"email:{subject.email}"
    digest = hmac.new(settings.SECRET_KEY.encode(), key.encode(), hashlib.sha256).hexdigest()
    return f"erased-{digest[:12]}"


def erasure_plan(subject: Subject, *, now: datetime | None = None) -> ErasurePlan:
    now = now or timezone.now()
    in_dispute = subject.user is not None and (
        DisputeHold.objects.filter(user=subject.user, closed_at__isnull=True).exists()
    )
    plan = ErasurePlan(subject, pseudonym_for(subject), [], [], [])
    if subject.user is not None:
        plan.obligations = open_obligations([subject.user.pk]).get(subject.user.pk, [])
    erased_at = subject.user.erased_at if subject.user is not None else None
    for declaration in personal_declarations():
        rows = subject_rows(declaration, subject)
        if declaration.model is AuditEvent and erased_at is not None:
            # What happened after the erasure concerns only the pseudonymous account.
            rows = rows.filter(created_at__lt=erased_at)
        total = rows.count()
        if not total:
            continue
        step = _step_for(declaration, rows, in_dispute, now)
        _count(step, total, plan.pseudonym)
        plan.steps.append(step)
        plan.items.extend(_items_for(step, now))
        plan.kept.extend(_kept_for(step, now))
    return plan


def _step_for(
    declaration: ModelDeclaration, rows: QuerySet[Any], in_dispute: bool, now: datetime
) -> _Step:
    disputed = in_dispute and any(
        spec.category in DISPUTE_CATEGORIES for spec in declaration.personal.values()
    )
    actions: dict[str, tuple[ErasureAction, LegalHold | None]] = {}
    for name, spec in declaration.personal.items():
        if spec.erasure is ErasureAction.HOLD:
            actions[name] = (ErasureAction.HOLD, spec.hold)
        elif disputed:
            actions[name] = (ErasureAction.HOLD, DISPUTE_HOLD)
        else:
            actions[name] = (spec.erasure, None)
    holds = {hold for _, hold in actions.values() if hold is not None}
    running: Q | None = None
    for hold in holds:
        q = EVERY_ROW if hold is DISPUTE_HOLD else _hold_running(declaration, hold, now)
        running = q if running is None else running | q
    whole_held = None
    if declaration.held_when is not None and declaration.held_under is not None:
        whole_held = declaration.held_when & _hold_running(declaration, declaration.held_under, now)
    keeps_row = any(action is not ErasureAction.DELETE for action, _ in actions.values())
    return _Step(declaration, rows, actions, whole_held, running, delete_rows=not keeps_row)


def _hold_running(declaration: ModelDeclaration, hold: LegalHold, now: datetime) -> Q:
    """Rows whose hold has not run out yet. Without a start date a hold always runs."""
    path = declaration.held_from
    if not path:
        return EVERY_ROW
    cutoff = hold_cutoff(hold, now)
    target = field_at(declaration.model, path)
    value: date | datetime = cutoff if isinstance(target, models.DateTimeField) else cutoff.date()
    return Q(**{f"{path}__gte": value}) | Q(**{f"{path}__isnull": True})


def _count(step: _Step, total: int, pseudonym: str) -> None:
    """Rows kept whole, rows whose holds run, rows past them, and how many would still change
    (none once the erasure has run, which makes a second run a no-op)."""
    rest = _not_whole(step)
    held_whole = step.rows.filter(step.whole_held).count() if step.whole_held is not None else 0
    running = rest.filter(step.running).count() if step.running is not None else 0
    step.counts = {
        "total": total,
        "whole_held": held_whole,
        "running": running,
        "expired": total - held_whole - running,
        "pending": _pending(step, rest, pseudonym),
    }


def _pending(step: _Step, rest: QuerySet[Any], pseudonym: str) -> int:
    if step.declaration.model is AuditEvent:
        return rest.filter(redacted_at__isnull=True).count()
    if step.delete_rows:
        # Rows emptied in place because a kept record refers to them count as done.
        values = _erased_values(step, pseudonym, holds_run=True)
        return rest.exclude(Q(**values)).count() if values else rest.count()
    pending = 0
    for holds_run, rows in _by_hold(step, rest):
        values = _erased_values(step, pseudonym, holds_run=holds_run)
        pending += rows.exclude(Q(**values)).count() if values else 0
    return pending


def _by_hold(step: _Step, rows: QuerySet[Any]) -> list[tuple[bool, QuerySet[Any]]]:
    """Rows whose holds still run, and rows past them (all rows when nothing is held)."""
    if step.running is None:
        return [(False, rows)]
    return [(True, rows.filter(step.running)), (False, rows.exclude(step.running))]


def _items_for(step: _Step, now: datetime) -> list[PlanItem]:
    declaration = step.declaration
    label, description = declaration.label, str(declaration.description)
    counts = step.counts
    items: list[PlanItem] = []
    whole_hold = declaration.held_under
    if counts["whole_held"] and whole_hold is not None:
        until = _until(step, whole_hold, step.rows.filter(step.whole_held or Q()))
        items.extend(
            PlanItem(
                label,
                description,
                name,
                ErasureAction.HOLD,
                counts["whole_held"],
                str(whole_hold.name),
                str(whole_hold.statute),
                until,
                _reason(whole_hold, until),
            )
            for name in declaration.personal
        )
    changed = counts["pending"]
    for name, (action, hold) in step.actions.items():
        if action is ErasureAction.HOLD and hold is not None:
            if counts["running"]:
                rows = _not_whole(step).filter(step.running or Q())
                until = None if hold is DISPUTE_HOLD else _until(step, hold, rows)
                items.append(
                    PlanItem(
                        label,
                        description,
                        name,
                        ErasureAction.HOLD,
                        counts["running"],
                        str(hold.name),
                        str(hold.statute),
                        until,
                        _reason(hold, until),
                    )
                )
            if counts["expired"]:
                items.append(
                    PlanItem(
                        label,
                        description,
                        name,
                        ErasureAction.ANONYMISE,
                        counts["expired"],
                        reason=gettext("%(hold)s: period over") % {"hold": hold.name},
                    )
                )
        elif changed:
            items.append(PlanItem(label, description, name, action, changed))
    return items


def _not_whole(step: _Step) -> QuerySet[Any]:
    return step.rows.exclude(step.whole_held) if step.whole_held is not None else step.rows


def _until(step: _Step, hold: LegalHold, rows: QuerySet[Any]) -> date | None:
    path = step.declaration.held_from
    if not path:
        return None
    latest = rows.aggregate(latest=Max(path))["latest"]
    return hold_until(hold, latest)


def _reason(hold: LegalHold, until: date | None) -> str:
    if until is None:
        return f"{hold.name} ({hold.statute})"
    return gettext("%(hold)s (%(statute)s) until %(until)s") % {
        "hold": hold.name,
        "statute": hold.statute,
        "until": until.isoformat(),
    }


def _kept_for(step: _Step, now: datetime) -> list[KeptRecord]:
    kept: dict[tuple[str, str], KeptRecord] = {}
    for item in _items_for(step, now):
        if item.action != ErasureAction.HOLD:
            continue
        key = (item.description, item.hold_name)
        previous = kept.get(key)
        if previous is None or item.rows > previous.rows:
            kept[key] = KeptRecord(
                item.description, item.hold_name, item.statute, item.until, item.rows
            )
    return list(kept.values())


# --- execution -------------------------------------------------------------------------------


def erasure_execute(
    subject: Subject,
    *,
    actor: User | None,
    request: DataRequest | None = None,
    trigger: str = "request",
) -> ErasureRecord:
    """Carry out the plan in one transaction: all of it or none of it. Files leave storage only
    once the transaction has committed, so a failure loses nothing."""
    with transaction.atomic():
        user = subject.user
        if user is not None:
            user = User.objects.select_for_update().get(pk=user.pk)
            subject = Subject(user=user, email=subject.email)
        previous = _previous_record(subject)
        plan = erasure_plan(subject)
        if previous is not None and plan.is_empty:
            return previous
        # Recipients are told while the person's name and address can still be given to them.
        _recipients_notify(subject, request, actor)
        files: list[str] = []
        summary: dict[str, dict[str, int]] = {}
        for step in plan.steps:
            summary[step.declaration.label] = _apply(step, plan.pseudonym, files)
        if user is not None:
            _account_disable(user)
        record = ErasureRecord.objects.create(
            request=request,
            subject_id=user.pk if user is not None else None,
            pseudonym=plan.pseudonym,
            executed_at=timezone.now(),
            executed_by=actor,
            trigger=trigger,
            summary={"models": summary, "kept": [_kept_json(k) for k in plan.kept]},
        )
        audit_event_record(
            action="privacy.erased",
            actor=actor,
            obj=record,
            subject_id=record.subject_id,
            details={"trigger": trigger, "models": len(summary)},
        )
        transaction.on_commit(lambda: stored_files_delete(files))
    return record


def _previous_record(subject: Subject) -> ErasureRecord | None:
    if subject.user is None or subject.user.erased_at is None:
        return None
    return ErasureRecord.objects.filter(subject_id=subject.user.pk).first()


def _kept_json(kept: KeptRecord) -> dict[str, Any]:
    return {
        "description": kept.description,
        "hold": kept.hold_name,
        "statute": kept.statute,
        "until": kept.until.isoformat() if kept.until else None,
        "rows": kept.rows,
    }


def _apply(step: _Step, pseudonym: str, files: list[str]) -> dict[str, int]:
    model = step.declaration.model
    # Write through primary keys: paths across relations (and DISTINCT) cannot be updated.
    targets = model._default_manager.filter(pk__in=_not_whole(step).values("pk"))
    if model is AuditEvent:
        events = AuditEvent.objects.filter(pk__in=targets.values("pk"))
        return {"anonymised": audit_events_redact(events, actor_label=pseudonym)}
    if step.delete_rows:
        names = stored_files(model, targets, step.declaration.personal)
        try:
            with transaction.atomic():
                deleted, _ = models.QuerySet.delete(targets)
        except (ProtectedError, RestrictedError):
            # A kept record still refers to some of these rows (a declaration missed a hold):
            # rather than fail the whole erasure, empty them in place.
            cleared = _update(targets, _erased_values(step, pseudonym, holds_run=True))
            files.extend(names)
            return {"anonymised": cleared, "kept": step.counts["whole_held"]}
        files.extend(names)
        return {"deleted": deleted, "kept": step.counts["whole_held"]}
    changed = 0
    for holds_run, rows in _by_hold(step, targets):
        values = _erased_values(step, pseudonym, holds_run=holds_run)
        files.extend(stored_files(model, rows, values))
        changed += _update(rows, values)
    return {"anonymised": changed, "kept": step.counts["whole_held"] + step.counts["running"]}


def _update(rows: QuerySet[Any], values: dict[str, Any]) -> int:
    if not values:
        return 0
    # Append-only tables refuse updates through their own queryset; erasure is the one
    # sanctioned rewrite of their personal fields, so it goes through the plain QuerySet.
    return models.QuerySet.update(rows, **values)


def _erased_values(step: _Step, pseudonym: str, *, holds_run: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, (action, _hold) in step.actions.items():
        if action is ErasureAction.HOLD:
            if holds_run:
                continue
            action = ErasureAction.ANONYMISE
        changes, value = erased_value(
            step.declaration.model._meta.get_field(name), action, pseudonym
        )
        if changes:
            values[name] = value
    if step.declaration.model is User:
        values["password"] = UNUSABLE_PASSWORD
    return values


def erased_value(model_field: Any, action: ErasureAction, pseudonym: str) -> tuple[bool, Any]:
    """What a field becomes when its value is deleted or anonymised: (changes?, new value).

    Anonymising keeps what identifies nobody on its own (dates, amounts, choices, links to the
    anonymised account) and replaces text by the pseudonym; deleting clears what can be cleared.
    """
    f = model_field
    if isinstance(f, models.ForeignKey):
        if action is ErasureAction.DELETE and f.null:
            return True, None
        return False, None
    if isinstance(f, models.FileField):
        return True, ""
    if isinstance(f, models.JSONField):
        return True, f.get_default()
    if isinstance(f, models.GenericIPAddressField):
        return (True, None) if f.null else (True, "")
    if isinstance(f, models.UUIDField):
        if f.null:
            return True, None
        return True, uuid.uuid5(uuid.NAMESPACE_URL, f"{pseudonym}/{f.name}")
    if isinstance(f, models.CharField | models.TextField) and not f.choices:
        if action is ErasureAction.DELETE:
            return True, None if f.null else ""
        if isinstance(f, models.EmailField):
            return True, f"{pseudonym}@{ERASED_DOMAIN}"
        return True, pseudonym[: f.max_length] if f.max_length else pseudonym
    if action is ErasureAction.DELETE and f.null:
        return True, None
    if action is ErasureAction.DELETE and isinstance(f, models.CharField) and f.blank:
        return True, ""
    return False, None


def _account_disable(user: User) -> None:
    now = timezone.now()
    User.objects.filter(pk=user.pk).update(
        is_active=False,
        closed_at=user.closed_at or now,
        erased_at=now,
        password=UNUSABLE_PASSWORD,
    )


def _recipients_notify(subject: Subject, request: DataRequest | None, actor: User | None) -> None:
    """Everyone who received the data is told it was erased (GDPR Art. 19)."""
    recipients_notify(
        user=subject.user, email=subject.email, kind="erasure", request=request, actor=actor
    )

"""The breach register: incidents, the people they touched, the legal clocks, reports and notices.

Every clock starts when we became aware of the incident (`detected_at`):
- GDPR Art. 33: the supervisory authority within 72 hours.
- APPI Art. 26 and the PPC's rules (Art. 7-8 of the Enforcement Rules): a preliminary report
  "promptly", which the PPC's guidelines put at about 3-5 days; we count 5 days as the outer
  limit, so the page shows the latest acceptable moment, not a comfortable target.
- The PPC final report within 30 days, or 60 days when the incident was caused by wrongdoing.

Who is affected is read from the inventory (core/personal_data.py), never from a list of apps,
so a model added later is covered as soon as it is declared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from huey.contrib.djhuey import db_task

from exportdesk.accounts.models import User
from exportdesk.core.audit import audit_event_record
from exportdesk.core.mail import mail_send_template
from exportdesk.core.personal_data import (
    CATEGORY_LABELS,
    DataCategory,
    ModelDeclaration,
    Text,
    declarations,
)
from exportdesk.privacy.models import Breach, BreachNotice, BreachReport

GDPR_AUTHORITY_WITHIN = timedelta(hours=72)
PPC_PRELIMINARY_WITHIN = timedelta(days=5)
PPC_FINAL_WITHIN = timedelta(days=30)
PPC_FINAL_MALICIOUS_WITHIN = timedelta(days=60)

# People told per transaction: large enough to be quick, small enough that a failure in the
# middle of a big incident keeps what was already recorded and the next run carries on.
NOTICE_BATCH = 200

Kind = BreachReport.Kind

_RULES: dict[str, Text] = {
    Kind.GDPR_AUTHORITY: gettext_lazy("GDPR Art. 33: within 72 hours of becoming aware."),
    Kind.PPC_PRELIMINARY: gettext_lazy(
        "APPI Art. 26: promptly, which the PPC puts at about 3-5 days; 5 days is the outer limit."
    ),
    Kind.PPC_FINAL: gettext_lazy(
        "APPI Art. 26: within 30 days, or 60 days when the incident was caused by wrongdoing."
    ),
}


class BreachRefused(Exception):
    """A breach change the rules do not allow; the message says why, for the officer."""


# --- deadlines ------------------------------------------------------------------------------------


def deadline_due(*, kind: str, detected_at: datetime, malicious: bool) -> datetime:
    """When a report of this kind is due for an incident detected at `detected_at`."""
    if kind == Kind.GDPR_AUTHORITY:
        return detected_at + GDPR_AUTHORITY_WITHIN
    if kind == Kind.PPC_PRELIMINARY:
        return detected_at + PPC_PRELIMINARY_WITHIN
    if kind == Kind.PPC_FINAL:
        return detected_at + (PPC_FINAL_MALICIOUS_WITHIN if malicious else PPC_FINAL_WITHIN)
    raise ValueError(f"unknown report kind {kind!r}")


@dataclass(frozen=True)
class Deadline:
    kind: str
    label: Text
    rule: Text
    due_at: datetime
    report: BreachReport | None
    now: datetime

    @property
    def time_left(self) -> timedelta:
        return self.due_at - self.now

    @property
    def overdue(self) -> bool:
        """Not reported and past due: the page shows it in red."""
        return self.report is None and self.now > self.due_at

    @property
    def late(self) -> bool:
        """Reported, but after the deadline (the authority may ask why)."""
        return self.report is not None and self.report.sent_at > self.due_at


def breach_deadlines(breach: Breach, *, now: datetime | None = None) -> list[Deadline]:
    """The three reports the law asks for, each with its due time and the report sent, if any."""
    now = now or timezone.now()
    sent = {report.kind: report for report in breach.reports.all()}
    return [
        Deadline(
            kind=kind.value,
            label=kind.label,
            rule=_RULES[kind],
            due_at=deadline_due(
                kind=kind, detected_at=breach.detected_at, malicious=breach.malicious
            ),
            report=sent.get(kind.value),
            now=now,
        )
        for kind in Kind
    ]


# --- affected people ------------------------------------------------------------------------------


def _field_at(model: type[models.Model], path: str) -> models.Field[Any, Any] | None:
    """The field a lookup path ("deposit__confirmed_at") ends at, or None."""
    current: type[models.Model] = model
    field = None
    for part in path.split("__"):
        try:
            field = current._meta.get_field(part)
        except FieldDoesNotExist:
            return None
        if field.is_relation and field.related_model is not None:
            current = field.related_model  # type: ignore[assignment]
    return field if isinstance(field, models.Field) else None


def _date_path(declaration: ModelDeclaration) -> str | None:
    """The date a row came into being: created_at, else the hold's date, else the first
    timestamp. (Accounts themselves are dated by `date_joined`, in `_subject_condition`.)"""
    model = declaration.model
    candidates = ["created_at", declaration.held_from or ""]
    candidates += [
        f.name for f in model._meta.concrete_fields if isinstance(f, models.DateTimeField)
    ]
    for path in candidates:
        if path and isinstance(_field_at(model, path), models.DateField):
            return path
    return None


def _bound_for(field: models.Field[Any, Any] | None, until: datetime) -> datetime | date:
    """A DateField is compared with the local calendar day the window ends on."""
    if isinstance(field, models.DateTimeField):
        return until
    return timezone.localtime(until).date()


def _subject_condition(declaration: ModelDeclaration, until: datetime) -> Q:
    """Users with a row of this model that existed by `until`, as one subquery."""
    model = declaration.model
    assert declaration.subject is not None
    if declaration.subject == "":
        return Q(date_joined__lte=until)
    rows = model._default_manager.filter(**{f"{declaration.subject}__isnull": False})
    date_path = _date_path(declaration)
    if date_path is None:
        # Without a date the rows cannot be older than the account they belong to.
        return Q(pk__in=rows.values(declaration.subject), date_joined__lte=until)
    bound = _bound_for(_field_at(model, date_path), until)
    rows = rows.filter(**{f"{date_path}__lte": bound})
    return Q(pk__in=rows.values(declaration.subject))


def affected_users(*, categories: list[str], until: datetime) -> QuerySet[User]:
    """Everyone whose data of these categories existed by the end of the window.

    One query: each declaration with a user subject and a field of a chosen category adds a
    subquery; nothing is loaded per user.
    """
    wanted = set(categories)
    condition: Q | None = None
    for declaration in declarations().values():
        if declaration.subject is None:
            continue
        if not any(spec.category in wanted for spec in declaration.personal.values()):
            continue
        part = _subject_condition(declaration, until)
        condition = part if condition is None else condition | part
    if condition is None:
        return User.objects.none()
    return User.objects.filter(condition).order_by("pk")


def breach_affected_users(breach: Breach) -> QuerySet[User]:
    return affected_users(categories=list(breach.categories), until=breach.occurred_until)


def breach_affected_page_rows(breach: Breach) -> QuerySet[User]:
    """The affected list for the officer: who was told, who cannot be reached (erased)."""
    told = BreachNotice.objects.filter(breach=breach, user=OuterRef("pk"))
    return breach_affected_users(breach).annotate(told=Exists(told)).only("pk", "erased_at")


@dataclass(frozen=True)
class NoticeCounts:
    affected: int
    told: int
    to_tell: int
    unreachable: int


def breach_notice_counts(breach: Breach) -> NoticeCounts:
    told_ids = BreachNotice.objects.filter(breach=breach).values("user")
    counts = breach_affected_users(breach).aggregate(
        affected=Count("pk"),
        unreachable=Count("pk", filter=Q(erased_at__isnull=False)),
        to_tell=Count("pk", filter=Q(erased_at__isnull=True) & ~Q(pk__in=told_ids)),
    )
    return NoticeCounts(
        affected=counts["affected"],
        told=BreachNotice.objects.filter(breach=breach).count(),
        to_tell=counts["to_tell"],
        unreachable=counts["unreachable"],
    )


# --- recording ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BreachFacts:
    """What the officer knows about an incident; forms and tests build one."""

    detected_at: datetime
    description: str
    categories: list[str]
    systems: str
    occurred_from: datetime
    occurred_until: datetime
    malicious: bool
    high_risk: bool


def breach_facts_check(facts: BreachFacts, *, now: datetime | None = None) -> None:
    """The rules the form shows field by field; services repeat them for other callers."""
    now = now or timezone.now()
    unknown = set(facts.categories) - {c.value for c in DataCategory}
    if not facts.categories or unknown:
        raise ValidationError(_("Choose at least one kind of data from the list."))
    if facts.occurred_until < facts.occurred_from:
        raise ValidationError(_("The window cannot end before it starts."))
    if facts.detected_at > now:
        raise ValidationError(_("The detection time cannot be in the future."))
    if facts.occurred_from > facts.detected_at:
        raise ValidationError(_("The incident cannot start after it was detected."))


_REFERENCE = re.compile(r"^BR-(\d{4})-(\d+)$")


def _reference_next(year: int) -> str:
    """BR-2026-001, BR-2026-002, ...: numbered by the year of detection."""
    numbers = [
        int(match.group(2))
        for ref in Breach.objects.filter(reference__startswith=f"BR-{year}-").values_list(
            "reference", flat=True
        )
        if (match := _REFERENCE.match(ref))
    ]
    return f"BR-{year}-{max(numbers, default=0) + 1:03d}"


def _facts_values(facts: BreachFacts) -> dict[str, object]:
    return {
        "detected_at": facts.detected_at,
        "description": facts.description,
        "categories": sorted(set(facts.categories)),
        "systems": facts.systems,
        "occurred_from": facts.occurred_from,
        "occurred_until": facts.occurred_until,
        "malicious": facts.malicious,
        "high_risk": facts.high_risk,
    }


def breach_record(*, facts: BreachFacts, actor: User) -> Breach:
    """Open an incident in the register; its clocks start at `facts.detected_at`."""
    breach_facts_check(facts)
    year = timezone.localtime(facts.detected_at).year
    # Two officers recording at once may pick the same number: the loser takes the next one.
    for _attempt in range(5):
        try:
            with transaction.atomic():
                breach = Breach.objects.create(
                    reference=_reference_next(year),
                    recorded_by=actor,
                    created_at=timezone.now(),
                    **_facts_values(facts),
                )
                audit_event_record(
                    action="privacy.breach_recorded",
                    actor=actor,
                    obj=breach,
                    details=_audit_details(breach),
                )
                return breach
        except IntegrityError:
            continue
    raise BreachRefused(_("Could not number the breach; please try again."))


def _audit_details(breach: Breach) -> dict[str, object]:
    return {
        "reference": breach.reference,
        "categories": breach.categories,
        "occurred_from": breach.occurred_from,
        "occurred_until": breach.occurred_until,
        "detected_at": breach.detected_at,
        "malicious": breach.malicious,
        "high_risk": breach.high_risk,
        "status": breach.status,
    }


def breach_update(*, breach: Breach, facts: BreachFacts, status: str, actor: User) -> Breach:
    """Correct what is known about an incident, or close it; the deadlines follow the facts."""
    breach_facts_check(facts)
    if status not in Breach.Status.values:
        raise ValidationError(_("Unknown status."))
    with transaction.atomic():
        locked = Breach.objects.select_for_update().get(pk=breach.pk)
        before = _audit_details(locked)
        for name, value in _facts_values(facts).items():
            setattr(locked, name, value)
        locked.status = status
        locked.save()
        after = _audit_details(locked)
        audit_event_record(
            action="privacy.breach_updated",
            actor=actor,
            obj=locked,
            details={
                "reference": locked.reference,
                "changed": {k: [before[k], after[k]] for k in after if before[k] != after[k]},
            },
        )
    return locked


def breach_report_record(
    *,
    breach: Breach,
    kind: str,
    sent_at: datetime,
    reference: str,
    notes: str,
    actor: User,
) -> BreachReport:
    """Record a report sent to an authority: one of each kind per breach."""
    if kind not in Kind.values:
        raise BreachRefused(_("Unknown kind of report."))
    if sent_at < breach.detected_at or sent_at > timezone.now():
        raise BreachRefused(_("The report must be sent after detection and not in the future."))
    try:
        with transaction.atomic():
            report = BreachReport.objects.create(
                breach=breach,
                kind=kind,
                sent_at=sent_at,
                reference=reference,
                notes=notes,
                sent_by=actor,
            )
            due = deadline_due(
                kind=kind, detected_at=breach.detected_at, malicious=breach.malicious
            )
            audit_event_record(
                action="privacy.breach_report_recorded",
                actor=actor,
                obj=report,
                details={
                    "breach": breach.reference,
                    "kind": kind,
                    "sent_at": sent_at,
                    "reference": reference,
                    "on_time": sent_at <= due,
                },
            )
    except IntegrityError as duplicate:
        raise BreachRefused(
            _("A report of this kind is already recorded for this breach.")
        ) from duplicate
    return report


# --- notices to the people affected ---------------------------------------------------------------


def breach_notices_send(*, breach: Breach, actor: User) -> int:
    """Queue the notices; returns how many people are waiting to be told.

    Restricted and closed accounts are told too: telling people about a breach is a legal duty,
    not marketing. Erased accounts have no address left and are counted as unreachable.
    """
    waiting = breach_notice_counts(breach).to_tell
    if not waiting:
        return 0
    with transaction.atomic():
        audit_event_record(
            action="privacy.breach_notices_requested",
            actor=actor,
            obj=breach,
            details={"breach": breach.reference, "waiting": waiting},
        )
        # The worker starts after the commit, so it sees this request's audit row.
        transaction.on_commit(lambda: breach_notices_task(breach.pk, actor.pk))
    return waiting


@db_task()
def breach_notices_task(breach_id: int, actor_id: int | None) -> int:
    """Background half of `breach_notices_send` (Huey)."""
    return breach_notices_send_now(breach_id=breach_id, actor_id=actor_id)


def breach_notices_send_now(
    *, breach_id: int, actor_id: int | None, batch: int = NOTICE_BATCH
) -> int:
    """Tell everyone affected and reachable who was not told yet, batch by batch; returns how
    many were told. Safe to run twice or concurrently: the breach row is locked per batch and
    people already told are skipped."""
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    sent = 0
    while True:
        told = _notice_batch_send(breach_id=breach_id, actor=actor, batch=batch)
        sent += told
        if told < batch:
            return sent


def _notice_batch_send(*, breach_id: int, actor: User | None, batch: int) -> int:
    with transaction.atomic():
        breach = Breach.objects.select_for_update().get(pk=breach_id)
        already = BreachNotice.objects.filter(breach=breach).values("user")
        people = list(
            breach_affected_users(breach)
            .filter(erased_at__isnull=True)
            .exclude(pk__in=already)
            .only("pk", "email", "name", "language")[:batch]
        )
        if not people:
            return 0
        now = timezone.now()
        BreachNotice.objects.bulk_create(
            [BreachNotice(breach=breach, user=p, email=p.email, sent_at=now) for p in people]
        )
        for person in people:
            _notice_mail(breach=breach, person=person)
        audit_event_record(
            action="privacy.breach_notices_sent",
            actor=actor,
            obj=breach,
            details={"breach": breach.reference, "told": len(people)},
        )
    return len(people)


def _notice_mail(*, breach: Breach, person: User) -> None:
    mail_send_template(
        to=person.email,
        template="privacy/email/breach_notice",
        language=person.language,
        context={
            "name": person.name,
            "breach": breach,
            "categories": [CATEGORY_LABELS[DataCategory(c)] for c in breach.categories],
            "privacy_url": settings.SITE_URL.rstrip("/") + reverse("privacy:mypage_privacy"),
        },
    )

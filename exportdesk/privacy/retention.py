"""The retention sweep: every rule the inventory declares, applied daily (DESIGN.md §3, §4).

Each app's `privacy.py` gives its models either retention rules (`Expiry`: after a period counted
from a date, the rows are deleted or anonymised) or says what they are kept with
(`KeptWhile`: the life of the account, of the record they belong to). This module applies the
rules, skipping rows a legal hold still covers and rows about someone with an open dispute; warns
accounts unused for two years and closes and erases them when the warning goes unanswered; and
erases accounts their owners closed once the promised delay has passed.

Every change is made in small batches, each in its own transaction with its audit event, so a
run never holds a table for long. Rows are locked with SKIP LOCKED on PostgreSQL and checked
again once locked, so two runs at once share the work instead of doing it twice; SQLite
serialises writers by itself. A second run finds nothing left to do.
"""

from __future__ import annotations

import graphlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, FieldError
from django.db import models, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.deletion import ProtectedError, RestrictedError
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from exportdesk.accounts.models import User
from exportdesk.core.audit import audit_event_record
from exportdesk.core.mail import mail_send_template
from exportdesk.core.personal_data import (
    ErasureAction,
    Expiry,
    ExpiryAction,
    ModelDeclaration,
    declarations,
    open_obligations,
)
from exportdesk.privacy.erasure import erased_value, erasure_execute
from exportdesk.privacy.models import DisputeHold, InactivityNotice
from exportdesk.privacy.periods import (
    before,
    field_at,
    fiscal_year_start,
    hold_cutoff,
    stored_files,
    stored_files_delete,
)
from exportdesk.privacy.subjects import subject_for_user

BATCH_SIZE = 500
# Values written by a retention anonymisation: the rows of many people at once, and nobody in
# particular once the period is over, so one pseudonym for all of them.
RETENTION_PSEUDONYM = "erased"


# --- periods ---------------------------------------------------------------------------------


def period_setting(name: str) -> str:
    try:
        return str(settings.PRIVACY_RETENTION[name])
    except KeyError:
        raise KeyError(f"PRIVACY_RETENTION has no period named {name!r}") from None


def rule_cutoff(rule: Expiry, now: datetime) -> datetime:
    """Rows dated before this are past the rule's period.

    Counted from the end of the fiscal year, a record expires once the first fiscal year that
    starts after it is a whole period old, i.e. when it is older than the start of the fiscal
    year that contained "now minus the period".
    """
    moment = before(timezone.localtime(now), period_setting(rule.setting))
    return fiscal_year_start(moment) if rule.from_fiscal_year_end else moment


# --- which rows a rule reaches ---------------------------------------------------------------


def _before_q(model: type[models.Model], path: str, cutoff: datetime) -> Q:
    """`path` earlier than `cutoff`, comparing dates with the local calendar day."""
    target = field_at(model, path)
    value: date | datetime = cutoff
    if isinstance(target, models.DateField) and not isinstance(target, models.DateTimeField):
        value = cutoff.date()
    return Q(**{f"{path}__lt": value})


def _holds_over_q(declaration: ModelDeclaration, now: datetime) -> Q:
    """Rows no legal hold covers any more. Without a start date a hold never runs out."""
    model = declaration.model
    field_holds = {spec.hold for spec in declaration.personal.values() if spec.hold is not None}
    over = Q()
    for hold in field_holds:
        if not declaration.held_from:
            return Q(pk__in=[])
        over &= _before_q(model, declaration.held_from, hold_cutoff(hold, now))
    if declaration.held_when is not None and declaration.held_under is not None:
        if not declaration.held_from:
            return over & ~declaration.held_when
        ended = _before_q(model, declaration.held_from, hold_cutoff(declaration.held_under, now))
        over &= ~declaration.held_when | ended
    return over


def _no_open_dispute_q(declaration: ModelDeclaration) -> Q:
    """An open dispute keeps everything about the person until it is closed."""
    disputed = DisputeHold.objects.filter(closed_at__isnull=True)
    free = Q()
    if declaration.subject is not None:
        path = f"{declaration.subject}__in" if declaration.subject else "pk__in"
        free &= ~Q(**{path: disputed.values("user_id")})
    if declaration.subject_email:
        emails = User.objects.filter(pk__in=disputed.values("user_id")).values("email")
        free &= ~Q(**{f"{declaration.subject_email}__in": emails})
    return free


def _erased_values(declaration: ModelDeclaration, rule: Expiry) -> dict[str, Any]:
    """What an anonymising rule writes: each field's declared erasure action, the same helper
    the erasure engine uses. A held field's hold has run out by then, so it is anonymised."""
    values: dict[str, Any] = {}
    for name, spec in declaration.personal.items():
        action = ErasureAction.ANONYMISE if spec.erasure is ErasureAction.HOLD else spec.erasure
        model_field = declaration.model._meta.get_field(name)
        changes, value = erased_value(model_field, action, RETENTION_PSEUDONYM)
        if changes:
            values[name] = value
    values.update(dict(rule.mark))
    return values


def _already_erased_q(values: dict[str, Any]) -> Q:
    """Rows that already hold the erased values, so a second run leaves them alone."""
    done = Q(pk__isnull=False)  # never empty: excluding an empty Q would exclude every row
    for name, value in values.items():
        done &= Q(**{f"{name}__isnull": True}) if value is None else Q(**{name: value})
    return done


def expired_rows(declaration: ModelDeclaration, rule: Expiry, now: datetime) -> QuerySet[Any]:
    """The rows this rule would change now: past their period, not held, not already done."""
    model = declaration.model
    cutoff = rule_cutoff(rule, now)
    rows = model._default_manager.filter(_holds_over_q(declaration, now))
    rows = rows.filter(_no_open_dispute_q(declaration))
    if rule.when is not None:
        rows = rows.filter(rule.when)
    if rule.latest_per:
        # "3 years after the last contact": a recent row from the same address keeps them all.
        recent = model._default_manager.filter(
            Q(**{rule.latest_per: OuterRef(rule.latest_per)}),
            ~_before_q(model, rule.date_path, cutoff),
        )
        rows = rows.filter(~Exists(recent))
    rows = rows.filter(_before_q(model, rule.date_path, cutoff))
    if rule.action is ExpiryAction.ANONYMISE:
        values = _erased_values(declaration, rule)
        if not values:
            return rows.none()  # nothing of it identifies anyone (an order's amounts and dates)
        rows = rows.exclude(_already_erased_q(values))
    return rows


# --- the report ------------------------------------------------------------------------------


@dataclass
class RuleOutcome:
    model: str
    rule: str
    action: str
    cutoff: datetime
    counted_from: str = ""
    rows: int = 0
    # Past their period but still referenced by a record that is kept (deleted on a later run).
    referenced: int = 0


@dataclass
class RetentionReport:
    now: datetime
    dry_run: bool
    rules: list[RuleOutcome] = field(default_factory=list)
    # Customer numbers, never addresses: the report is printed and logged.
    warned: list[str] = field(default_factory=list)
    warnings_cancelled: list[str] = field(default_factory=list)
    closed_inactive: list[str] = field(default_factory=list)
    kept_open: list[str] = field(default_factory=list)  # unused, but money or orders open
    erased_after_closure: list[str] = field(default_factory=list)

    def total(self, action: ExpiryAction) -> int:
        return sum(outcome.rows for outcome in self.rules if outcome.action == action)

    def summary(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "now": self.now.isoformat(),
            "deleted": self.total(ExpiryAction.DELETE),
            "anonymised": self.total(ExpiryAction.ANONYMISE),
            "rules": [
                {"model": o.model, "rule": o.rule, "from": o.counted_from, "rows": o.rows}
                for o in self.rules
                if o.rows
            ],
            "warned": len(self.warned),
            "warnings_cancelled": len(self.warnings_cancelled),
            "closed_inactive": len(self.closed_inactive),
            "kept_open": len(self.kept_open),
            "erased_after_closure": len(self.erased_after_closure),
        }

    def summary_json(self) -> str:
        return json.dumps(self.summary(), sort_keys=True)


# --- applying the rules ----------------------------------------------------------------------


def retention_rules() -> Iterator[tuple[ModelDeclaration, Expiry]]:
    """Every declared rule, rows that refer to others first: an erasure record goes before the
    request it proves, so the request is not kept alive by a reference about to expire."""
    declared = {label: d for label, d in declarations().items() if d.expiry_rules}
    graph: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for label, declaration in sorted(declared.items()):
        graph.add(label)
        for model_field in declaration.model._meta.concrete_fields:
            target = model_field.related_model
            other = target._meta.label if isinstance(target, type) else None
            if other in declared and other != label:
                graph.add(other, label)
    for label in graph.static_order():
        declaration = declared[label]
        for rule in declaration.expiry_rules:
            yield declaration, rule


def retention_apply(*, now: datetime | None = None, dry_run: bool = False) -> RetentionReport:
    """Apply every retention rule and the account rules; `dry_run` only counts."""
    now = now or timezone.now()
    report = RetentionReport(now=now, dry_run=dry_run)
    performed: dict[str, RuleOutcome] = {}
    for declaration, rule in retention_rules():
        if rule.performed_by:
            _delegated(declaration, rule, now, dry_run, performed, report)
            continue
        outcome = RuleOutcome(
            declaration.label, rule.setting, rule.action, rule_cutoff(rule, now), rule.date_path
        )
        if dry_run:
            outcome.rows = _count(expired_rows(declaration, rule, now))
        else:
            _rule_apply(declaration, rule, now, outcome)
        report.rules.append(outcome)
    inactive_accounts_process(now=now, dry_run=dry_run, report=report)
    closed_accounts_erase(now=now, dry_run=dry_run, report=report)
    return report


def _count(rows: QuerySet[Any]) -> int:
    return rows.values("pk").distinct().count()


def _delegated(
    declaration: ModelDeclaration,
    rule: Expiry,
    now: datetime,
    dry_run: bool,
    performed: dict[str, RuleOutcome],
    report: RetentionReport,
) -> None:
    """A rule its owner carries out (records of provision and receipt): called once per run."""
    assert rule.performed_by is not None
    outcome = performed.get(rule.performed_by)
    if outcome is None:
        outcome = RuleOutcome("", "", rule.action, rule_cutoff(rule, now), rule.date_path)
        performed[rule.performed_by] = outcome
        report.rules.append(outcome)
        if not dry_run:
            purge: Callable[..., int] = import_string(rule.performed_by)
            outcome.rows = purge(now=now)
    outcome.model = ", ".join(filter(None, [outcome.model, declaration.label]))
    outcome.rule = ", ".join(filter(None, [outcome.rule, rule.setting]))
    if dry_run:
        outcome.rows += _count(expired_rows(declaration, rule, now))


def _rule_apply(
    declaration: ModelDeclaration, rule: Expiry, now: datetime, outcome: RuleOutcome
) -> None:
    expired = expired_rows(declaration, rule, now)
    last_pk: Any = None
    while True:
        # Walk forwards by primary key: each row is looked at once per run, even one another
        # run holds locked or one a kept record still refers to.
        candidates = expired.order_by("pk")
        if last_pk is not None:
            candidates = candidates.filter(pk__gt=last_pk)
        pks = list(dict.fromkeys(candidates.values_list("pk", flat=True)[:BATCH_SIZE]))
        if not pks:
            return
        last_pk = pks[-1]
        with transaction.atomic():
            _batch_apply(declaration, rule, expired, pks, outcome)


def _batch_apply(
    declaration: ModelDeclaration,
    rule: Expiry,
    expired: QuerySet[Any],
    pks: list[Any],
    outcome: RuleOutcome,
) -> None:
    model = declaration.model
    locked = list(
        model._default_manager.filter(pk__in=pks)
        .select_for_update(skip_locked=True)
        .values_list("pk", flat=True)
    )
    # Checked again under the lock: another run may have finished these rows meanwhile.
    due = list(set(expired.filter(pk__in=locked).values_list("pk", flat=True)))
    if not due:
        return
    files: list[str] = []
    referenced = 0
    if rule.action is ExpiryAction.DELETE:
        done, referenced = _rows_delete(declaration, due, files)
    else:
        done = _rows_anonymise(declaration, rule, due, files)
    outcome.rows += done
    outcome.referenced += referenced
    if done:
        audit_event_record(
            action="privacy.retention_applied",
            object_type=model._meta.label_lower,
            details={
                "rule": rule.setting,
                "action": str(rule.action),
                "rows": done,
                "before": outcome.cutoff.isoformat(),
            },
        )
    transaction.on_commit(lambda: stored_files_delete(files))


def _rows_anonymise(
    declaration: ModelDeclaration, rule: Expiry, pks: list[Any], files: list[str]
) -> int:
    values = _erased_values(declaration, rule)
    if not values:
        return 0
    rows = declaration.model._default_manager.filter(pk__in=pks)
    files.extend(stored_files(declaration.model, rows, values))
    # Append-only tables (the journal) refuse updates through their own queryset; the end of
    # the legal hold is the one sanctioned rewrite of their personal fields.
    return models.QuerySet.update(rows, **values)


def _rows_delete(
    declaration: ModelDeclaration, pks: list[Any], files: list[str]
) -> tuple[int, int]:
    """Delete the rows; one still referenced by a kept record stays until that record goes."""
    model = declaration.model
    try:
        with transaction.atomic():
            return _delete(declaration, model._default_manager.filter(pk__in=pks), files), 0
    except (ProtectedError, RestrictedError):
        pass
    done = referenced = 0
    for pk in pks:
        try:
            with transaction.atomic():
                done += _delete(declaration, model._default_manager.filter(pk=pk), files)
        except (ProtectedError, RestrictedError):
            referenced += 1
    return done, referenced


def _delete(declaration: ModelDeclaration, rows: QuerySet[Any], files: list[str]) -> int:
    names = stored_files(declaration.model, rows, declaration.personal)
    _total, per_model = rows.delete()
    files.extend(names)
    return per_model.get(declaration.label, 0)


# --- accounts: unused ones warned then closed, closed ones erased ------------------------------


def _customers() -> QuerySet[User]:
    """Accounts this module may close: staff accounts are managed by the exporter."""
    return User.objects.filter(is_staff=False, is_superuser=False)


def _last_seen() -> Coalesce:
    return Coalesce("last_login", "date_joined")


def inactive_accounts_process(
    *, now: datetime | None = None, dry_run: bool = False, report: RetentionReport | None = None
) -> RetentionReport:
    """Cancel warnings answered by a sign-in, warn newly inactive accounts, close and erase the
    ones whose warning went unanswered."""
    now = now or timezone.now()
    report = report or RetentionReport(now=now, dry_run=dry_run)
    _warnings_cancel(now, dry_run, report)
    _warnings_send(now, dry_run, report)
    _inactive_close(now, dry_run, report)
    return report


def _pending_notices() -> QuerySet[InactivityNotice]:
    return InactivityNotice.objects.filter(closed_at__isnull=True)


def _answered() -> Q:
    return Q(user__last_login__gt=F("warned_at"))


def _warnings_cancel(now: datetime, dry_run: bool, report: RetentionReport) -> None:
    """A sign-in after the warning answers it: the notice has served its purpose."""
    for notice in _pending_notices().filter(_answered()).select_related("user"):
        if not dry_run:
            with transaction.atomic():
                gone, _ = InactivityNotice.objects.filter(
                    Q(pk=notice.pk) & _answered(), closed_at__isnull=True
                ).delete()
                if not gone:
                    continue
                audit_event_record(
                    action="privacy.inactivity_cancelled",
                    obj=notice.user,
                    subject_id=notice.user_id,
                    details={"warned_at": notice.warned_at.isoformat()},
                )
        report.warnings_cancelled.append(notice.user.customer_number)


def _inactive_since(now: datetime) -> QuerySet[User]:
    cutoff = before(timezone.localtime(now), period_setting("inactivity_warning"))
    return (
        _customers()
        .filter(is_active=True, closed_at__isnull=True, erased_at__isnull=True)
        .alias(last_seen=_last_seen())
        .filter(last_seen__lt=cutoff)
        .exclude(Exists(_pending_notices().filter(user=OuterRef("pk"))))
    )


def _warnings_send(now: datetime, dry_run: bool, report: RetentionReport) -> None:
    for pk in list(_inactive_since(now).order_by("pk").values_list("pk", flat=True)):
        if dry_run:
            report.warned.append(User(pk=pk).customer_number)
            continue
        with transaction.atomic():
            user = _locked(_inactive_since(now), pk)
            if user is None:
                continue
            _warn(user, now)
            report.warned.append(user.customer_number)


def _locked(users: QuerySet[User], pk: int) -> User | None:
    """The user, locked, if still in `users`; None when another run holds or changed them."""
    if not list(User.objects.select_for_update(skip_locked=True).filter(pk=pk).values("pk")):
        return None
    return users.filter(pk=pk).first()


def _warn(user: User, now: datetime) -> None:
    notice = InactivityNotice.objects.create(
        user=user, warned_at=now, last_login_seen=user.last_login
    )
    closes_on = now + _grace()
    audit_event_record(
        action="privacy.inactivity_warned",
        obj=user,
        subject_id=user.pk,
        details={"notice": notice.pk, "closes_on": timezone.localdate(closes_on).isoformat()},
    )
    mail_send_template(
        to=user.email,
        template="privacy/email/inactive_warning",
        context={
            "user": user,
            "last_seen": user.last_login or user.date_joined,
            "closes_on": closes_on,
            "login_url": settings.SITE_URL + reverse("accounts:login"),
        },
        language=user.language,
    )


def _grace() -> timedelta:
    moment = timezone.now()
    return moment - before(moment, period_setting("inactivity_grace"))


def _unanswered(now: datetime) -> QuerySet[InactivityNotice]:
    return (
        _pending_notices()
        .filter(warned_at__lt=now - _grace())
        .exclude(_answered())
        .filter(user__in=_customers().filter(erased_at__isnull=True))
    )


def _inactive_close(now: datetime, dry_run: bool, report: RetentionReport) -> None:
    notices = list(_unanswered(now).order_by("pk"))
    # Not using an account is no reason to forget money we owe or a car on its way: such
    # accounts stay open and are listed for staff to settle with the person.
    still_open = open_obligations(n.user_id for n in notices)
    for notice in notices:
        if notice.user_id in still_open:
            report.kept_open.append(User(pk=notice.user_id).customer_number)
            continue
        if dry_run:
            report.closed_inactive.append(User(pk=notice.user_id).customer_number)
            continue
        with transaction.atomic():
            user = _locked(User.objects.all(), notice.user_id)
            if user is None or not _unanswered(now).filter(pk=notice.pk).exists():
                continue
            InactivityNotice.objects.filter(pk=notice.pk).update(closed_at=now)
            # The erasure disables the account as it erases it (and deletes this notice). The
            # audit event comes last: the chain's lock is then held only while nothing else
            # is awaited, so a concurrent run's batch cannot deadlock with this one.
            record = erasure_execute(subject_for_user(user), actor=None, trigger="inactivity")
            audit_event_record(
                action="account.closed",
                obj=user,
                subject_id=user.pk,
                details={"reason": "inactivity", "erasure": record.pk},
            )
            report.closed_inactive.append(user.customer_number)


def _closed_due(now: datetime) -> QuerySet[User]:
    cutoff = now - timedelta(days=settings.ACCOUNT_ERASURE_DELAY_DAYS)
    return User.objects.filter(closed_at__lt=cutoff, erased_at__isnull=True)


def closed_accounts_erase(
    *, now: datetime | None = None, dry_run: bool = False, report: RetentionReport | None = None
) -> RetentionReport:
    """Erase accounts their owners closed longer ago than ACCOUNT_ERASURE_DELAY_DAYS."""
    now = now or timezone.now()
    report = report or RetentionReport(now=now, dry_run=dry_run)
    for pk in list(_closed_due(now).order_by("pk").values_list("pk", flat=True)):
        if dry_run:
            report.erased_after_closure.append(User(pk=pk).customer_number)
            continue
        with transaction.atomic():
            user = _locked(_closed_due(now), pk)
            if user is None:
                continue
            erasure_execute(subject_for_user(user), actor=None, trigger="closure")
            report.erased_after_closure.append(user.customer_number)
    return report


# --- the inventory check ---------------------------------------------------------------------


def retention_problems() -> list[str]:
    """Every model with personal data has a retention rule or says what it is kept with, and
    every rule names a period, a date and fields that exist."""
    problems: list[str] = []
    for label, declaration in sorted(declarations().items()):
        if declaration.personal and not declaration.expiry:
            problems.append(f"{label}: personal data without a retention rule or KeptWhile")
        for rule in declaration.expiry_rules:
            problems.extend(
                f"{label} ({rule.setting}): {p}" for p in _rule_problems(declaration, rule)
            )
    return problems


def _rule_problems(declaration: ModelDeclaration, rule: Expiry) -> list[str]:
    model = declaration.model
    problems: list[str] = []
    if rule.setting not in settings.PRIVACY_RETENTION:
        problems.append("no such period in PRIVACY_RETENTION")
    else:
        try:
            before(timezone.now(), period_setting(rule.setting))
        except ValueError as error:
            problems.append(str(error))
    try:
        if not isinstance(field_at(model, rule.date_path), models.DateField):
            problems.append(f"{rule.date_path} is not a date")
        for path in filter(None, [rule.latest_per, *(name for name, _ in rule.mark)]):
            field_at(model, path)
        if rule.when is not None:
            model._default_manager.filter(rule.when)
    except (FieldDoesNotExist, FieldError, AttributeError) as error:
        problems.append(str(error))
    if rule.performed_by:
        try:
            import_string(rule.performed_by)
        except ImportError as error:
            problems.append(str(error))
    return problems

"""Restriction and objection: what a person told us not to do with their data.

Every service that markets, measures or shares asks `processing_allowed` first, so a restriction
takes effect the moment it is recorded. An erased account is restricted from everything but the
legal purposes its kept records serve.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from exportdesk.accounts.models import User
from exportdesk.core.audit import audit_event_record
from exportdesk.privacy.models import DataRequest, ProcessingRestriction

Scope = ProcessingRestriction.Scope

# Which restrictions stop which use. A restriction of all processing stops every optional use;
# storage and what the law requires (accounting, customs) go on regardless.
_BLOCKED_BY: dict[str, tuple[str, ...]] = {
    Scope.MARKETING: (Scope.MARKETING, Scope.ALL),
    Scope.ANALYTICS: (Scope.ANALYTICS, Scope.ALL),
    Scope.DISCLOSURE: (Scope.DISCLOSURE, Scope.ALL),
}


def restrictions_active(user: User) -> set[str]:
    return set(
        ProcessingRestriction.objects.filter(user=user, lifted_at__isnull=True).values_list(
            "scope", flat=True
        )
    )


def processing_allowed(user: User | None, use: str) -> bool:
    """May we use this person's data for `use` (marketing, analytics or disclosure)?"""
    if use not in _BLOCKED_BY:
        raise ValueError(f"unknown use {use!r}; expected one of {sorted(_BLOCKED_BY)}")
    if user is None or user.pk is None:
        return True
    if user.erased_at is not None:
        return False
    return not ProcessingRestriction.objects.filter(
        user=user, lifted_at__isnull=True, scope__in=_BLOCKED_BY[use]
    ).exists()


def restriction_add(
    *,
    user: User,
    scope: str,
    actor: User | None,
    reason: str = "",
    request: DataRequest | None = None,
) -> ProcessingRestriction:
    """Record a restriction or objection; a second one of the same scope changes nothing."""
    if scope not in Scope.values:
        raise ValueError(f"unknown scope {scope!r}")
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        existing = ProcessingRestriction.objects.filter(
            user=user, scope=scope, lifted_at__isnull=True
        ).first()
        if existing is not None:
            return existing
        restriction = ProcessingRestriction.objects.create(
            user=user, scope=scope, reason=reason, request=request, created_at=timezone.now()
        )
        audit_event_record(
            action="privacy.restriction_added",
            actor=actor,
            obj=restriction,
            subject_id=user.pk,
            details={"scope": scope},
        )
    return restriction


def restriction_lift(*, restriction: ProcessingRestriction, actor: User | None) -> None:
    with transaction.atomic():
        updated = ProcessingRestriction.objects.filter(
            pk=restriction.pk, lifted_at__isnull=True
        ).update(lifted_at=timezone.now())
        if updated:
            audit_event_record(
                action="privacy.restriction_lifted",
                actor=actor,
                obj=restriction,
                subject_id=restriction.user_id,
                details={"scope": restriction.scope},
            )

"""Writes of the privacy app: consent choices and policy acknowledgements."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from exportdesk.accounts.models import User
from exportdesk.core.audit import audit_event_record
from exportdesk.core.http import client_ip
from exportdesk.privacy.models import (
    OPTIONAL_CATEGORIES,
    ConsentRecord,
    PolicyAcknowledgement,
    PolicyVersion,
)
from exportdesk.privacy.selectors import policy_current


def consent_choices_record(
    *,
    request: HttpRequest,
    visitor_id: uuid.UUID,
    choices: Mapping[str, bool],
    source: str,
) -> list[ConsentRecord]:
    """Append one ledger row per optional category; the newest row is the current choice."""
    missing = [c for c in OPTIONAL_CATEGORIES if c not in choices]
    if missing:
        raise ValueError(f"a choice is needed for every optional category, missing {missing}")
    user = request.user if request.user.is_authenticated else None
    now = timezone.now()
    policy = policy_current()
    with transaction.atomic():
        records = [
            ConsentRecord.objects.create(
                user=user,
                visitor_id=visitor_id,
                purpose=category,
                granted=bool(choices[category]),
                source=source,
                policy_version=policy,
                created_at=now,
            )
            for category in OPTIONAL_CATEGORIES
        ]
        if user is not None:
            audit_event_record(
                action="consent.recorded",
                actor=user,
                object_type="privacy.consentrecord",
                subject_id=user.pk,
                ip_address=client_ip(request),
                details={"choices": {c: bool(choices[c]) for c in OPTIONAL_CATEGORIES}},
            )
    request._consent_state = None  # type: ignore[attr-defined]
    return records


def policy_acknowledge(*, user: User, policy: PolicyVersion, request: HttpRequest) -> bool:
    """Record that the user saw this version; returns False when it was already recorded."""
    with transaction.atomic():
        _, created = PolicyAcknowledgement.objects.get_or_create(
            user=user, policy_version=policy, defaults={"acknowledged_at": timezone.now()}
        )
        if created:
            audit_event_record(
                action="policy.acknowledged",
                actor=user,
                obj=policy,
                subject_id=user.pk,
                ip_address=client_ip(request),
                details={"version": policy.version},
            )
    return created

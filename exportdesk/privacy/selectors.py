"""Reads shared by the privacy views, middleware and templates."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from exportdesk.privacy.cookies import VISITOR_COOKIE
from exportdesk.privacy.models import (
    OPTIONAL_CATEGORIES,
    ConsentRecord,
    CookieCategory,
    PolicyAcknowledgement,
    PolicyVersion,
)

# Categories the Global Privacy Control signal refuses, whatever was clicked before.
GPC_REFUSES = (CookieCategory.STATISTICS, CookieCategory.MARKETING)


@dataclass
class ConsentState:
    chosen: bool  # has the person made a choice at all (otherwise: show the banner)
    granted: dict[str, bool] = field(default_factory=dict)
    gpc: bool = False

    def allows(self, category: str) -> bool:
        if category == CookieCategory.NECESSARY:
            return True
        return self.granted.get(category, False)


def visitor_id_from(request: HttpRequest) -> uuid.UUID | None:
    raw = request.COOKIES.get(VISITOR_COOKIE, "")
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def gpc_signal(request: HttpRequest) -> bool:
    return request.headers.get("Sec-GPC", "").strip() == "1"


def consent_state_for(request: HttpRequest) -> ConsentState:
    """The person's current choice per category: the newest ledger row for each."""
    cached = getattr(request, "_consent_state", None)
    if cached is not None:
        return cached
    subject = Q()
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        subject |= Q(user=user)
    visitor_id = getattr(request, "visitor_id", None) or visitor_id_from(request)
    if visitor_id is not None:
        subject |= Q(visitor_id=visitor_id)
    granted: dict[str, bool] = {}
    if subject:
        rows = ConsentRecord.objects.filter(subject).order_by("-created_at", "-pk")
        for purpose, is_granted in rows.values_list("purpose", "granted")[:200]:
            granted.setdefault(purpose, is_granted)
            if len(granted) == len(OPTIONAL_CATEGORIES):
                break
    state = ConsentState(chosen=bool(granted), granted=granted, gpc=gpc_signal(request))
    if state.gpc:
        for category in GPC_REFUSES:
            state.granted[category] = False
    request._consent_state = state  # type: ignore[attr-defined]
    return state


def policy_current() -> PolicyVersion | None:
    return (
        PolicyVersion.objects.filter(
            published_at__isnull=False, effective_date__lte=timezone.localdate()
        )
        .order_by("-effective_date", "-pk")
        .first()
    )


def policy_needs_acknowledgement(user: Any, policy: PolicyVersion | None) -> bool:
    if policy is None or not user.is_authenticated:
        return False
    return not PolicyAcknowledgement.objects.filter(user=user, policy_version=policy).exists()

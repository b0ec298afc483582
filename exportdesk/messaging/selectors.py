from __future__ import annotations

from django.db.models import Q, QuerySet

from exportdesk.accounts.models import User
from exportdesk.messaging.models import ContactEvent


def contact_history_for(user: User) -> QuerySet[ContactEvent]:
    """What the customer may see: entries linked to them, and entries sent from their verified
    address before they had an account."""
    mine = Q(customer=user)
    if user.email_verified_at is not None:
        mine |= Q(customer__isnull=True, email=user.email)
    return (
        ContactEvent.objects.filter(mine, visible_to_customer=True)
        .select_related("staff")
        .order_by("-created_at", "-pk")
    )

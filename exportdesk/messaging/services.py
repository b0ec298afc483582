from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db.models import Model
from django.utils import timezone

from exportdesk.accounts.models import User, normalise_email
from exportdesk.messaging.models import ContactEvent


def contact_event_record(
    *,
    email: str,
    kind: str,
    direction: str,
    subject: str,
    body: str = "",
    customer: User | None = None,
    staff: User | None = None,
    source: Model | None = None,
    visible_to_customer: bool = True,
) -> ContactEvent:
    """Add one entry to a customer's contact history (call inside the change's transaction)."""
    event = contact_event_build(
        email=email,
        kind=kind,
        direction=direction,
        subject=subject,
        body=body,
        customer=customer,
        staff=staff,
        source=source,
        visible_to_customer=visible_to_customer,
    )
    event.save()
    return event


def contact_event_build(
    *,
    email: str,
    kind: str,
    direction: str,
    subject: str,
    body: str = "",
    customer: User | None = None,
    staff: User | None = None,
    source: Model | None = None,
    visible_to_customer: bool = True,
) -> ContactEvent:
    """An unsaved entry, for services that write many at once with `bulk_create`."""
    return ContactEvent(
        customer=customer,
        email=normalise_email(email),
        kind=kind,
        direction=direction,
        subject=subject[:200],
        body=body,
        staff=staff,
        visible_to_customer=visible_to_customer,
        source_type=ContentType.objects.get_for_model(source) if source is not None else None,
        source_id=str(source.pk) if source is not None else "",
        created_at=timezone.now(),
    )

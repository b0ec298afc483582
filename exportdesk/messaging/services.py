from __future__ import annotations

from typing import Any

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
    return ContactEvent.objects.create(
        **contact_event_values(
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
    )


def contact_event_values(
    *,
    email: str,
    kind: str,
    direction: str,
    subject: str,
    body: str = "",
    customer: User | int | None = None,
    staff: User | None = None,
    source: Model | tuple[type[Model], int] | None = None,
    visible_to_customer: bool = True,
) -> dict[str, Any]:
    """One entry's column values, for services that write many at once (`core.bulk`); the
    source may be given as (model class, primary key) when only its id is at hand."""
    source_type_id, source_id = None, ""
    if source is not None:
        model, pk = source if isinstance(source, tuple) else (type(source), source.pk)
        source_type_id, source_id = ContentType.objects.get_for_model(model).pk, str(pk)
    return {
        "customer_id": customer.pk if isinstance(customer, User) else customer,
        "email": normalise_email(email),
        "kind": kind,
        "direction": direction,
        "subject": subject[:200],
        "body": body,
        "staff_id": staff.pk if staff is not None else None,
        "visible_to_customer": visible_to_customer,
        "source_type_id": source_type_id,
        "source_id": source_id,
        "created_at": timezone.now(),
    }

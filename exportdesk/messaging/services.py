from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext

from exportdesk.accounts.models import User, normalise_email
from exportdesk.messaging.models import ContactEvent

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def contact_text(
    message: StrOrPromise, /, *, customer: User | None = None, language: str = "", **values: object
) -> str:
    """A line we write into someone's contact history (a subject, a generated body), in their
    language as it is when we write it: the account's, else the language recorded with the event
    (a visitor has no account), else the site's. The entry records what we told them, in the words
    they read, so it is stored translated and never re-rendered later.

    `message` is marked with `gettext_noop` (or `ngettext_lazy(..., "name")` when a number picks
    the plural form) and has named placeholders filled from `values`; `customer` and `language`
    are therefore never placeholder names.
    """
    chosen = (customer.language if customer is not None else "") or language
    with translation.override(chosen or settings.LANGUAGE_CODE):
        # Filled in the same language too: a value may be lazy (a status's name), and a lazy
        # plural message picks its form by the count in `values` when `%` is applied.
        text = message if isinstance(message, Promise) else gettext(message)
        return str(text % values)


def contact_message(message: str, /, *, language: str) -> str:
    """`message` (marked with `gettext_noop`) in `language`, else the site's, its placeholders not
    yet filled: for batches, which translate a message once per language, not once per row."""
    with translation.override(language or settings.LANGUAGE_CODE):
        return gettext(message)


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

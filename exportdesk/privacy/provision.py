"""Records of provision and receipt (APPI Art. 29, 30) and notices to recipients (GDPR Art. 19).

Every path that hands someone's personal data to a third party (a shipping line issuing a B/L,
a customs broker clearing a car, an inspection agency) calls `record_provision`, so the person
can later see who received what and why, and an erasure or correction can be passed on to each
recipient. Data that reaches us from others (portal-site leads) is recorded by `record_receipt`.
Both are kept for PRIVACY_PROVISION_RECORD_YEARS, then purged.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from exportdesk.accounts.models import User, normalise_email
from exportdesk.core.audit import audit_event_record
from exportdesk.core.mail import mail_send_template
from exportdesk.core.personal_data import LegalBasis
from exportdesk.privacy.models import (
    DataRequest,
    ProvisionRecord,
    ReceiptRecord,
    Recipient,
    RecipientNotification,
)
from exportdesk.privacy.periods import before
from exportdesk.privacy.restrictions import processing_allowed

# Data leaving Japan needs a safeguard (APPI Art. 28); inside Japan it does not.
HOME_COUNTRY = "JP"
MAX_DATA_ITEMS = 40
MAX_ITEM_LENGTH = 100
# A clock a little ahead on the caller's machine is not a disclosure from the future.
FUTURE_TOLERANCE = datetime.timedelta(minutes=5)
PURGE_BATCH = 1000
CUSTOMER_NUMBER = re.compile(r"^C(\d{1,12})$", re.IGNORECASE)


class DisclosureRestricted(Exception):
    """The person restricted new disclosures of their data; only a legal duty overrides that."""

    def __init__(self, user: User) -> None:
        self.user = user
        super().__init__(
            _(
                "%(customer)s has restricted new disclosures of their data. Only a disclosure "
                "the law requires (legal obligation) may be recorded."
            )
            % {"customer": user.customer_number}
        )


# --- recipient registry -----------------------------------------------------------------------


def recipient_check(*, country: str, transfer_safeguard: str) -> None:
    """A recipient abroad must name the safeguard that makes the transfer lawful."""
    if country and country.upper() != HOME_COUNTRY and not transfer_safeguard.strip():
        raise ValidationError(
            {
                "transfer_safeguard": _(
                    "A recipient outside Japan needs a transfer safeguard (APPI Art. 28): for "
                    "example an adequacy decision, contract clauses with equivalent protection, "
                    "or the person's consent to the transfer."
                )
            }
        )


def recipient_save(
    *, recipient: Recipient, actor: User | None, changed: Iterable[str] = ()
) -> Recipient:
    """Add a recipient to the registry or save changes to one; audited."""
    recipient.country = recipient.country.upper()
    recipient_check(country=recipient.country, transfer_safeguard=recipient.transfer_safeguard)
    is_new = recipient.pk is None
    with transaction.atomic():
        recipient.save()
        audit_event_record(
            action="privacy.recipient_added" if is_new else "privacy.recipient_changed",
            actor=actor,
            obj=recipient,
            details={
                "name": recipient.name,
                "country": recipient.country,
                "relationship": recipient.relationship,
                "active": recipient.is_active,
                "fields": sorted(changed),
            },
        )
    return recipient


# --- validation shared by provisions and receipts ---------------------------------------------


def _items(data_items: Iterable[str], errors: dict[str, list[str]]) -> list[str]:
    """Trimmed, de-duplicated item names, in the order given."""
    if isinstance(data_items, str):
        # One item passed as a bare string would otherwise be read letter by letter.
        data_items = [data_items]
    items: list[str] = []
    for raw in data_items:
        item = " ".join(str(raw).split())
        if len(item) > MAX_ITEM_LENGTH:
            errors.setdefault("data_items", []).append(
                _("Each data item must be at most %(limit)s characters.")
                % {"limit": MAX_ITEM_LENGTH}
            )
            return items
        if item and item not in items:
            items.append(item)
    if not items:
        errors.setdefault("data_items", []).append(
            _("Name at least one item of data (for example: name, address, passport number).")
        )
    elif len(items) > MAX_DATA_ITEMS:
        errors.setdefault("data_items", []).append(
            _("At most %(limit)s data items.") % {"limit": MAX_DATA_ITEMS}
        )
    return items


def _too_long(value: str, limit: int, field: str, errors: dict[str, list[str]]) -> None:
    if len(value) > limit:
        errors.setdefault(field, []).append(_("At most %(limit)s characters.") % {"limit": limit})


def _subject(
    subject_user: User | None, subject_name: str, subject_email: str, errors: dict[str, list[str]]
) -> tuple[str, str]:
    """The subject's name and normalised e-mail; someone must be named."""
    name = " ".join(subject_name.split())
    email = normalise_email(subject_email) if subject_email.strip() else ""
    if subject_user is None and not name and not email:
        errors.setdefault("subject", []).append(
            _("Name the person the data is about: a customer, or a name or e-mail address.")
        )
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors.setdefault("subject_email", []).append(_("Enter a valid e-mail address."))
    _too_long(name, 200, "subject_name", errors)
    _too_long(email, 254, "subject_email", errors)
    return name, email


def _when(
    value: datetime.datetime | None, field: str, errors: dict[str, list[str]]
) -> datetime.datetime:
    now = timezone.now()
    if value is None:
        return now
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value > now + FUTURE_TOLERANCE:
        errors.setdefault(field, []).append(_("The date cannot be in the future."))
    return value


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


def _account_for(subject_user: User | None, email: str) -> User | None:
    """The account a disclosure is about: the one named, or the one the e-mail belongs to."""
    if subject_user is not None:
        return subject_user
    if not email:
        return None
    return User.objects.filter(email=email).first()


# --- records of provision ---------------------------------------------------------------------


def record_provision(
    *,
    recipient: Recipient,
    data_items: Iterable[str],
    legal_basis: str,
    subject_user: User | None = None,
    subject_name: str = "",
    subject_email: str = "",
    consent_reference: str = "",
    purpose: str = "",
    actor: User | None = None,
    context: models.Model | None = None,
    provided_at: datetime.datetime | None = None,
    source: str = ProvisionRecord.Source.SYSTEM,
) -> ProvisionRecord:
    """Record that personal data about one person went to one recipient (APPI Art. 29).

    Call it in the transaction that sends the data, so a refused disclosure rolls back the
    booking that would have sent it. Raises ValidationError (by field) for bad input and
    DisclosureRestricted when the person restricted disclosures and no law requires this one.
    """
    errors: dict[str, list[str]] = {}
    name, email = _subject(subject_user, subject_name, subject_email, errors)
    items = _items(data_items, errors)
    if legal_basis not in {basis.value for basis in LegalBasis}:
        errors.setdefault("legal_basis", []).append(
            _("Choose the legal basis: contract, legitimate interest, legal obligation or consent.")
        )
    consent_reference = consent_reference.strip()
    if legal_basis == LegalBasis.CONSENT and not consent_reference:
        errors.setdefault("consent_reference", []).append(
            _("A disclosure based on consent needs the reference of that consent.")
        )
    _too_long(consent_reference, 100, "consent_reference", errors)
    purpose = " ".join(purpose.split())
    _too_long(purpose, 200, "purpose", errors)
    if not recipient.is_active:
        errors.setdefault("recipient", []).append(
            _("%(recipient)s is no longer an active recipient.") % {"recipient": recipient.name}
        )
    when = _when(provided_at, "provided_at", errors)
    _raise(errors)
    account = _account_for(subject_user, email)
    if (
        account is not None
        and legal_basis != LegalBasis.LEGAL_OBLIGATION
        and not processing_allowed(account, "disclosure")
    ):
        raise DisclosureRestricted(account)
    with transaction.atomic():
        record = ProvisionRecord.objects.create(
            user=subject_user,
            subject_name=name,
            subject_email=email,
            recipient=recipient,
            data_items=items,
            legal_basis=legal_basis,
            consent_reference=consent_reference,
            purpose=purpose,
            provided_at=when,
            source=source,
            recorded_by=actor,
            context_type=context._meta.label_lower if context is not None else "",
            context_id=str(context.pk) if context is not None else "",
        )
        # The audit row names the record, the recipient and the item names only: the person's
        # name and address stay in the record, which is purged on time; the audit log is not.
        audit_event_record(
            action="privacy.provision_recorded",
            actor=actor,
            obj=record,
            subject_id=account.pk if account is not None else None,
            details={
                "recipient": recipient.pk,
                "data_items": items,
                "legal_basis": legal_basis,
                "source": source,
            },
        )
    return record


def record_receipt(
    *,
    provider_name: str,
    how_obtained: str,
    data_items: Iterable[str],
    subject_user: User | None = None,
    subject_name: str = "",
    subject_email: str = "",
    provider_address: str = "",
    actor: User | None = None,
    received_at: datetime.datetime | None = None,
) -> ReceiptRecord:
    """Record personal data received from someone else, and how they obtained it (APPI Art. 30)."""
    errors: dict[str, list[str]] = {}
    provider_name = " ".join(provider_name.split())
    provider_address = " ".join(provider_address.split())
    how_obtained = how_obtained.strip()
    if not provider_name:
        errors.setdefault("provider_name", []).append(_("Name who provided the data."))
    _too_long(provider_name, 200, "provider_name", errors)
    _too_long(provider_address, 300, "provider_address", errors)
    if not how_obtained:
        errors.setdefault("how_obtained", []).append(
            _("Say how the provider obtained the data (APPI Art. 30 requires it).")
        )
    name, email = _subject(subject_user, subject_name, subject_email, errors)
    items = _items(data_items, errors)
    when = _when(received_at, "received_at", errors)
    _raise(errors)
    with transaction.atomic():
        record = ReceiptRecord.objects.create(
            provider_name=provider_name,
            provider_address=provider_address,
            how_obtained=how_obtained,
            user=subject_user,
            subject_name=name,
            subject_email=email,
            data_items=items,
            received_at=when,
            recorded_by=actor,
        )
        audit_event_record(
            action="privacy.receipt_recorded",
            actor=actor,
            obj=record,
            subject_id=subject_user.pk if subject_user is not None else None,
            details={"provider": provider_name, "data_items": items},
        )
    return record


# --- selectors --------------------------------------------------------------------------------


def _about(user: User | None, email: str) -> Q | None:
    """Records about a person: by the account, or by an e-mail address naming them."""
    conditions: list[Q] = []
    if user is not None and user.pk is not None:
        conditions.append(Q(user=user))
    if email:
        # A record naming the address but tied to someone else's account is theirs.
        owner = Q(user__isnull=True)
        if user is not None and user.pk is not None:
            owner |= Q(user=user)
        conditions.append(Q(subject_email=normalise_email(email)) & owner)
    if not conditions:
        return None
    combined = conditions[0]
    for condition in conditions[1:]:
        combined |= condition
    return combined


def provisions_about(*, user: User | None, email: str) -> QuerySet[ProvisionRecord]:
    condition = _about(user, email)
    records = ProvisionRecord.objects.select_related("recipient")
    return records.none() if condition is None else records.filter(condition)


def receipts_about(*, user: User | None, email: str) -> QuerySet[ReceiptRecord]:
    condition = _about(user, email)
    return (
        ReceiptRecord.objects.none()
        if condition is None
        else ReceiptRecord.objects.filter(condition)
    )


def _own_email(user: User) -> str:
    # Records naming an address count as the customer's only once they proved they own it.
    return user.email if user.email_verified_at is not None else ""


def provisions_for_customer(user: User) -> QuerySet[ProvisionRecord]:
    return provisions_about(user=user, email=_own_email(user))


def receipts_for_customer(user: User) -> QuerySet[ReceiptRecord]:
    return receipts_about(user=user, email=_own_email(user))


def customer_find(text: str) -> User | None:
    """A customer by e-mail address or customer number ("C000042"), as staff type them."""
    text = text.strip()
    customers = User.objects.filter(is_staff=False)
    number = CUSTOMER_NUMBER.match(text)
    if number:
        return customers.filter(pk=int(number.group(1))).first()
    if "@" in text:
        return customers.filter(email=normalise_email(text)).first()
    return None


def _subject_filter(subject: str) -> Q:
    found = customer_find(subject)
    if found is not None:
        return Q(user=found) | Q(subject_email=found.email)
    if "@" in subject:
        return Q(subject_email=normalise_email(subject))
    return Q(subject_name__icontains=subject) | Q(user__name__icontains=subject)


def provisions_filtered(*, recipient_id: int | None, subject: str) -> QuerySet[ProvisionRecord]:
    records = ProvisionRecord.objects.select_related("recipient", "user", "recorded_by")
    if recipient_id is not None:
        records = records.filter(recipient_id=recipient_id)
    if subject:
        records = records.filter(_subject_filter(subject))
    return records.order_by("-provided_at", "-pk")


def receipts_filtered(*, provider: str, subject: str) -> QuerySet[ReceiptRecord]:
    records = ReceiptRecord.objects.select_related("user", "recorded_by")
    if provider:
        records = records.filter(provider_name__icontains=provider)
    if subject:
        records = records.filter(_subject_filter(subject))
    return records.order_by("-received_at", "-pk")


# --- retention --------------------------------------------------------------------------------


def provision_records_purge(
    now: datetime.datetime | None = None, *, batch_size: int = PURGE_BATCH
) -> int:
    """Delete records of provision and receipt past their retention; returns how many went.

    Works in small batches, each in its own transaction, so a daily job never holds the tables
    for long, and a second or concurrent run finds nothing left to do.
    """
    cutoff = before(now or timezone.now(), f"{settings.PRIVACY_PROVISION_RECORD_YEARS}y")
    provisions = _purge(ProvisionRecord.objects.filter(provided_at__lt=cutoff), batch_size)
    receipts = _purge(ReceiptRecord.objects.filter(received_at__lt=cutoff), batch_size)
    if provisions or receipts:
        with transaction.atomic():
            audit_event_record(
                action="privacy.provision_records_purged",
                details={
                    "before": cutoff.isoformat(),
                    "provisions": provisions,
                    "receipts": receipts,
                },
            )
    return provisions + receipts


def _purge(expired: QuerySet[ProvisionRecord] | QuerySet[ReceiptRecord], batch_size: int) -> int:
    total = 0
    while True:
        with transaction.atomic():
            ids = list(expired.order_by("pk").values_list("pk", flat=True)[:batch_size])
            if not ids:
                return total
            # The condition is applied again: a row changed since the read is not deleted.
            deleted, _by_model = expired.filter(pk__in=ids).delete()
            total += deleted


# --- GDPR Art. 19: telling recipients -----------------------------------------------------------


@dataclass(frozen=True)
class _Delivery:
    recipient: Recipient
    records: list[ProvisionRecord]


def _email_address(contact: str) -> str:
    contact = contact.strip()
    try:
        validate_email(contact)
    except ValidationError:
        return ""
    return contact


def _already_told(
    *, request: DataRequest | None, recipient: Recipient, kind: str, user: User | None
) -> RecipientNotification | None:
    notices = RecipientNotification.objects.filter(recipient=recipient, kind=kind)
    if request is not None:
        return notices.filter(request=request).first()
    # Without a request only an account's erasure is a one-off event worth deduplicating;
    # a correction or restriction without a request may happen again and is told again.
    if kind == RecipientNotification.Kind.ERASURE and user is not None:
        return notices.filter(request__isnull=True, subject_id=user.pk).first()
    return None


def recipients_notify(
    *,
    user: User | None,
    email: str,
    kind: str,
    request: DataRequest | None,
    actor: User | None,
) -> list[RecipientNotification]:
    """Tell every recipient of this person's data of an erasure, rectification or restriction.

    One RecipientNotification per recipient; an e-mail goes out when the recipient's contact is
    an address (otherwise staff pass it on by the contact given). Call it before the account's
    name and e-mail are anonymised: the notice must let the recipient find the person. Running
    it again for the same request and kind writes nothing new.
    """
    if kind not in RecipientNotification.Kind.values:
        raise ValueError(
            f"unknown kind {kind!r}; expected one of {RecipientNotification.Kind.values}"
        )
    email = normalise_email(email) if email else ""
    with transaction.atomic():
        _lock(user=user, request=request)
        notifications = []
        for delivery in _deliveries(user=user, email=email):
            existing = _already_told(
                request=request, recipient=delivery.recipient, kind=kind, user=user
            )
            if existing is not None:
                notifications.append(existing)
                continue
            notifications.append(
                _notify(delivery, user=user, email=email, kind=kind, request=request, actor=actor)
            )
    return notifications


def _lock(*, user: User | None, request: DataRequest | None) -> None:
    """Serialise notices about one person so concurrent runs do not both write one."""
    if request is not None:
        DataRequest.objects.select_for_update().filter(pk=request.pk).first()
    elif user is not None and user.pk is not None:
        User.objects.select_for_update().filter(pk=user.pk).first()


def _deliveries(*, user: User | None, email: str) -> list[_Delivery]:
    grouped: dict[int, _Delivery] = {}
    records = provisions_about(user=user, email=email).order_by("recipient_id", "provided_at")
    for record in records:
        delivery = grouped.setdefault(record.recipient_id, _Delivery(record.recipient, []))
        delivery.records.append(record)
    return list(grouped.values())


def _notify(
    delivery: _Delivery,
    *,
    user: User | None,
    email: str,
    kind: str,
    request: DataRequest | None,
    actor: User | None,
) -> RecipientNotification:
    recipient = delivery.recipient
    address = _email_address(recipient.contact)
    notice = RecipientNotification.objects.create(
        request=request,
        recipient=recipient,
        kind=kind,
        subject_id=user.pk if user is not None else None,
        provisions=len(delivery.records),
        sent_at=timezone.now(),
        sent_to=recipient.contact.strip()[:200],
    )
    audit_event_record(
        action="privacy.recipient_notified",
        actor=actor,
        obj=notice,
        subject_id=user.pk if user is not None else None,
        details={
            "recipient": recipient.pk,
            "kind": kind,
            "provisions": len(delivery.records),
            "emailed": bool(address),
        },
    )
    if address:
        names = sorted({r.subject_name for r in delivery.records if r.subject_name})
        if user is not None and user.erased_at is None and user.name:
            names = sorted({user.name, *names})
        mail_send_template(
            to=address,
            template="privacy/email/recipient_notice",
            context={
                "kind": kind,
                "recipient": recipient,
                "names": names,
                "email": email or (user.email if user is not None else ""),
                "records": delivery.records,
                "request": request,
            },
        )
    return notice

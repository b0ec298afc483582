"""The customer's address book, who each order is consigned to, consignee changes, and which
shipping updates the customer wants by e-mail (services and selectors).

Redirecting a car after it was paid for is a known fraud (someone with the customer's password,
or a forged e-mail "from the customer", names a new consignee and collects the car). So once any
money is on an order, a new consignee or notify party takes effect only after two independent
confirmations: the customer follows a one-time link e-mailed to the account's address, and a
logistics officer approves. Before any payment nothing is at stake and the choice is immediate.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django_countries import countries

from exportdesk.accounts.models import User
from exportdesk.core.audit import audit_event_record
from exportdesk.core.mail import mail_send_template
from exportdesk.messaging.models import ContactEvent
from exportdesk.messaging.services import contact_event_record, contact_text
from exportdesk.payments.selectors import orders_paid, orders_pending
from exportdesk.sales.models import Order
from exportdesk.shipping.models import (
    ConsigneeChange,
    CourierDispatch,
    OrderParties,
    Party,
    Shipment,
    ShipmentOrder,
    ShippingNotices,
    TimelineEvent,
)

# How long the customer's confirmation link works. Long enough for a dealer travelling between
# time zones, short enough that an old e-mail found later is useless.
CHANGE_LINK_HOURS = 48

Status = ConsigneeChange.Status
OPEN_CHANGES = (Status.AWAITING_CUSTOMER, Status.AWAITING_APPROVAL)


class ShippingRefused(Exception):
    """A request that cannot be carried out; the message is for the person who asked."""


class ChangeLinkInvalid(Exception):
    """A confirmation link that is unknown, already used, for someone else, or expired."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.expired = reason == "expired"


# --- ID and tax numbers -------------------------------------------------------------------------


@dataclass(frozen=True)
class IdNumberRule:
    """A destination whose customs clear an imported car under the importer's tax number, so the
    consignee (the importer of record) must have one. Kept here, not in stock's destination
    rules: it is about the consignee, not about which cars may go."""

    name: str  # what the destination's customs call the number
    pattern: str  # the number once spaces and hyphens are removed and letters upper-cased
    example: str
    source: str  # where the requirement comes from, for whoever keeps this list current


ID_NUMBER_RULES: dict[str, IdNumberRule] = {
    # Every import entry lodged through KenTrade / iCMS names the importer's KRA PIN: one letter
    # (A for individuals, P for companies), nine digits, one letter.
    "KE": IdNumberRule(
        "KRA PIN", r"[AP][0-9]{9}[A-Z]", "A123456789B", "Kenya Revenue Authority (KRA)"
    ),
    # TANCIS declarations need the importer's 9-digit Taxpayer Identification Number.
    "TZ": IdNumberRule("TIN", r"[0-9]{9}", "123456789", "Tanzania Revenue Authority (TRA)"),
    # ASYCUDA World entries in Uganda need the importer's 10-digit TIN.
    "UG": IdNumberRule("TIN", r"[0-9]{10}", "1000123456", "Uganda Revenue Authority (URA)"),
}


def id_number_rule(country: str) -> IdNumberRule | None:
    return ID_NUMBER_RULES.get(str(country).upper())


def id_number_explained() -> str:
    """Why the form asks, in one sentence naming each destination and its number."""
    places = ", ".join(
        f"{countries.name(code)} ({rule.name})" for code, rule in sorted(ID_NUMBER_RULES.items())
    )
    return _(
        "Customs in %(places)s clear the car under the importer's tax number, so a consignee "
        "there needs one. Elsewhere it is optional."
    ) % {"places": places}


def id_number_problem(*, role: str, country: str, id_number: str) -> str | None:
    """What is wrong with a party's ID/tax number for its country, or None when it will do.
    Only consignees need one: the consignee is the importer customs clear the car for."""
    rule = id_number_rule(country)
    if rule is None or role != Party.Role.CONSIGNEE:
        return None
    name = str(countries.name(country))
    if not id_number:
        return _(
            "Customs in %(country)s clear the car under the consignee's %(number)s. Please enter it."
        ) % {"country": name, "number": rule.name}
    if not re.fullmatch(rule.pattern, id_number_normalise(country, id_number)):
        return _("This does not look like a %(country)s %(number)s (for example %(example)s).") % {
            "country": name,
            "number": rule.name,
            "example": rule.example,
        }
    return None


def id_number_normalise(country: str, id_number: str) -> str:
    """Numbers with a known format are stored in one spelling, so customs forms match them."""
    value = id_number.strip()
    if id_number_rule(country) is None:
        return value
    return re.sub(r"[\s\-]", "", value).upper()


# --- The address book ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PartyDraft:
    role: str
    name: str
    address: str
    country: str
    phone: str
    company: str = ""
    email: str = ""
    id_number: str = ""


def parties_for(
    customer: User, *, role: str | None = None, include_inactive: bool = False
) -> QuerySet[Party]:
    parties = Party.objects.filter(customer=customer)
    if role is not None:
        parties = parties.filter(role=role)
    if not include_inactive:
        parties = parties.filter(is_active=True)
    return parties.order_by("role", "name", "pk")


def party_in_use(party: Party) -> bool:
    """Named on an order or a change: the entry is part of export records and must not change
    under them (editing it would also redirect a paid car without the change checks)."""
    in_change = ConsigneeChange.objects.filter(
        Q(old_consignee=party) | Q(new_consignee=party) | Q(new_notify=party)
    ).exists()
    in_order = OrderParties.objects.filter(Q(consignee=party) | Q(notify=party)).exists()
    return in_change or in_order


def _draft_check(draft: PartyDraft) -> None:
    if draft.role not in Party.Role.values:
        raise ShippingRefused(_("Choose whether this is a consignee or a notify party."))
    problem = id_number_problem(role=draft.role, country=draft.country, id_number=draft.id_number)
    if problem:
        raise ShippingRefused(problem)


def _party_fields(draft: PartyDraft) -> dict[str, str]:
    return {
        "role": draft.role,
        "name": draft.name.strip(),
        "company": draft.company.strip(),
        "address": draft.address.strip(),
        "country": draft.country,
        "phone": draft.phone.strip(),
        "email": draft.email.strip(),
        "id_number": id_number_normalise(draft.country, draft.id_number),
    }


def party_create(*, customer: User, draft: PartyDraft) -> Party:
    _draft_check(draft)
    now = timezone.now()
    with transaction.atomic():
        party = Party.objects.create(
            customer=customer, created_at=now, updated_at=now, **_party_fields(draft)
        )
        audit_event_record(
            action="shipping.party_added",
            actor=customer,
            obj=party,
            subject_id=customer.pk,
            details={"role": party.role, "country": str(party.country)},
        )
    return party


def _own_party_locked(party: Party, customer: User) -> Party:
    locked = Party.objects.select_for_update().filter(pk=party.pk, customer=customer).first()
    if locked is None:
        raise ShippingRefused(_("This address book entry is not yours."))
    return locked


def party_update(*, party: Party, customer: User, draft: PartyDraft) -> Party:
    _draft_check(draft)
    with transaction.atomic():
        locked = _own_party_locked(party, customer)
        if not locked.is_active:
            raise ShippingRefused(_("This entry was removed from your address book."))
        if party_in_use(locked):
            raise ShippingRefused(
                _(
                    "This entry is named on an order, so it is part of that order's export "
                    "records and cannot be edited. Add a new entry instead and choose it for the "
                    "order."
                )
            )
        for name, value in _party_fields(draft).items():
            setattr(locked, name, value)
        locked.updated_at = timezone.now()
        locked.save()
        audit_event_record(
            action="shipping.party_changed",
            actor=customer,
            obj=locked,
            subject_id=customer.pk,
            details={"role": locked.role, "country": str(locked.country)},
        )
    return locked


def party_deactivate(*, party: Party, customer: User) -> Party:
    """Take an entry out of the address book. Orders that name it keep it: the car still goes
    where the customer said."""
    with transaction.atomic():
        locked = _own_party_locked(party, customer)
        waiting = ConsigneeChange.objects.filter(
            Q(new_consignee=locked) | Q(new_notify=locked), status__in=OPEN_CHANGES
        )
        if waiting.exists():
            raise ShippingRefused(
                _(
                    "A consignee change waiting for confirmation names this entry. Cancel that "
                    "change first."
                )
            )
        if locked.is_active:
            locked.is_active = False
            locked.updated_at = timezone.now()
            locked.save(update_fields=["is_active", "updated_at"])
            audit_event_record(
                action="shipping.party_removed",
                actor=customer,
                obj=locked,
                subject_id=customer.pk,
            )
    return locked


# --- Who an order is consigned to ---------------------------------------------------------------


def order_has_payment(order: Order) -> bool:
    """Any money on the order, approved or waiting for approval: from then on a redirect could
    steal a car someone has paid for."""
    if order.status == Order.Status.PAID:
        return True
    return bool(orders_paid([order.pk])[order.pk] or orders_pending([order.pk])[order.pk])


def _party_check(party: Party | None, *, customer: User, role: str) -> None:
    if party is None:
        return
    if party.customer_id != customer.pk or party.role != role:
        raise ShippingRefused(_("Choose an entry from your own address book."))
    if not party.is_active:
        raise ShippingRefused(_("This entry was removed from your address book."))


def _consignee_check(order: Order, consignee: Party) -> None:
    destination = str(order.proforma.destination_country)
    if str(consignee.country) != destination:
        raise ShippingRefused(
            _(
                "The consignee must be in %(country)s, where the car is imported: customs there "
                "release it only to the importer named on the bill of lading."
            )
            % {"country": countries.name(destination)}
        )
    problem = id_number_problem(
        role=consignee.role, country=str(consignee.country), id_number=consignee.id_number
    )
    if problem:
        raise ShippingRefused(
            _("%(name)s: %(problem)s Edit the entry first.")
            % {"name": consignee.name, "problem": problem}
        )


def _expired_changes_close(order: Order, now: datetime) -> int:
    """An unconfirmed change whose link lapsed no longer stands in the way of a new one."""
    lapsed = list(
        ConsigneeChange.objects.select_for_update().filter(
            order=order, status=Status.AWAITING_CUSTOMER, token_expires_at__lte=now
        )
    )
    for change in lapsed:
        change.status, change.decided_at = Status.CANCELLED, now
        change.token_hash, change.token_expires_at = "", None
        change.save(update_fields=["status", "decided_at", "token_hash", "token_expires_at"])
        _change_audit(change, "expired", actor=None)
    return len(lapsed)


def consignee_changes_expire(*, now: datetime | None = None) -> int:
    """Close every unconfirmed change whose link lapsed (for a periodic task; safe to run twice
    or concurrently: each change is closed once, under its order's lock)."""
    now = now or timezone.now()
    order_ids = set(
        ConsigneeChange.objects.filter(
            status=Status.AWAITING_CUSTOMER, token_expires_at__lte=now
        ).values_list("order_id", flat=True)
    )
    closed = 0
    for order_id in sorted(order_ids):
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=order_id)
            closed += _expired_changes_close(order, now)
    return closed


def order_parties_choose(
    *, order: Order, consignee: Party, notify: Party | None, customer: User
) -> OrderParties | ConsigneeChange:
    """The customer names the order's consignee (and notify party). Before any payment, or the
    first time, it takes effect at once and the OrderParties row is returned; afterwards a
    ConsigneeChange waiting for the customer's e-mail confirmation is returned."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().select_related("proforma").get(pk=order.pk)
        if locked.customer_id != customer.pk:
            raise ShippingRefused(_("This order is not yours."))
        if locked.status == Order.Status.CANCELLED:
            raise ShippingRefused(_("This order was cancelled."))
        _party_check(consignee, customer=customer, role=Party.Role.CONSIGNEE)
        _party_check(notify, customer=customer, role=Party.Role.NOTIFY)
        _consignee_check(locked, consignee)
        now = timezone.now()
        _expired_changes_close(locked, now)
        if ConsigneeChange.objects.filter(order=locked, status__in=OPEN_CHANGES).exists():
            raise ShippingRefused(
                _("A change of consignee for this order is already waiting. Cancel it first.")
            )
        current = OrderParties.objects.select_for_update().filter(order=locked).first()
        if current is not None and (current.consignee_id, current.notify_id) == (
            consignee.pk,
            notify.pk if notify else None,
        ):
            raise ShippingRefused(_("These are already the order's consignee and notify party."))
        paid = order_has_payment(locked)
        if current is not None and paid:
            return _change_request(locked, current, consignee, notify, customer, now)
        chosen = _parties_set(locked, current, consignee, notify, customer, now)
        if paid:
            # Nothing to redirect yet, so no approval; but a first consignee named on a paid
            # order is worth a word to the account's mailbox, in case it was not the customer.
            _chosen_tell(chosen)
        return chosen


def _chosen_tell(chosen: OrderParties) -> None:
    customer = chosen.order.customer
    mail_send_template(
        to=customer.email,
        template="shipping/email/consignee_chosen",
        context={
            "parties": chosen,
            "order": chosen.order,
            "customer": customer,
            "site_url": settings.SITE_URL,
        },
        language=customer.language,
    )


def _parties_set(
    order: Order,
    current: OrderParties | None,
    consignee: Party,
    notify: Party | None,
    actor: User,
    now: datetime,
) -> OrderParties:
    if current is None:
        current = OrderParties(order=order)
    previous = (current.consignee_id, current.notify_id) if current.pk else (None, None)
    current.consignee, current.notify, current.chosen_at = consignee, notify, now
    current.save()
    audit_event_record(
        action="shipping.parties_chosen",
        actor=actor,
        obj=current,
        subject_id=order.customer_id,
        details={
            "order": order.number,
            "consignee": consignee.pk,
            "notify": notify.pk if notify else None,
            "previous_consignee": previous[0],
            "previous_notify": previous[1],
        },
    )
    contact_event_record(
        email=order.customer.email,
        customer=order.customer,
        kind=ContactEvent.Kind.NOTE,
        direction=ContactEvent.Direction.INBOUND,
        subject=contact_text(
            gettext_noop("Consignee chosen for order %(number)s"),
            customer=order.customer,
            number=order.number,
        ),
        source=current,
    )
    return current


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _change_request(
    order: Order,
    current: OrderParties,
    consignee: Party,
    notify: Party | None,
    customer: User,
    now: datetime,
) -> ConsigneeChange:
    token = secrets.token_urlsafe(32)
    change = ConsigneeChange.objects.create(
        order=order,
        old_consignee_id=current.consignee_id,
        new_consignee=consignee,
        new_notify=notify,
        status=Status.AWAITING_CUSTOMER,
        requested_at=now,
        requested_by=customer,
        token_hash=_token_hash(token),
        token_expires_at=now + timedelta(hours=CHANGE_LINK_HOURS),
    )
    _change_audit(change, "requested", actor=customer)
    _change_contact(change, "requested", direction=ContactEvent.Direction.INBOUND)
    mail_send_template(
        to=order.customer.email,
        template="shipping/email/consignee_change_confirm",
        context={
            "change": change,
            "order": order,
            "customer": order.customer,
            "confirm_url": settings.SITE_URL
            + reverse("shipping:change_confirm", kwargs={"token": token}),
            "valid_hours": CHANGE_LINK_HOURS,
            "site_url": settings.SITE_URL,
        },
        language=order.customer.language,
    )
    return change


def _change_audit(change: ConsigneeChange, verb: str, *, actor: User | None) -> None:
    audit_event_record(
        action=f"shipping.consignee_change_{verb}",
        actor=actor,
        obj=change,
        subject_id=change.order.customer_id,
        details={
            "order": change.order.number,
            "status": change.status,
            "old_consignee": change.old_consignee_id,
            "new_consignee": change.new_consignee_id,
            "new_notify": change.new_notify_id,
        },
    )


# A consignee change's steps as the customer's history names them, one whole sentence each.
_CHANGE_SUBJECTS = {
    "requested": gettext_noop("Consignee change for order %(number)s requested"),
    "confirmed by e-mail": gettext_noop(
        "Consignee change for order %(number)s confirmed by e-mail"
    ),
    "cancelled": gettext_noop("Consignee change for order %(number)s cancelled"),
    "approved": gettext_noop("Consignee change for order %(number)s approved"),
    "rejected": gettext_noop("Consignee change for order %(number)s rejected"),
}


def _change_contact(
    change: ConsigneeChange, verb: str, *, direction: str, staff: User | None = None
) -> None:
    # No names here: the contact history outlives the address book entries it would repeat.
    order = change.order
    contact_event_record(
        email=order.customer.email,
        customer=order.customer,
        kind=ContactEvent.Kind.NOTE
        if direction == ContactEvent.Direction.INBOUND
        else ContactEvent.Kind.NOTICE,
        direction=direction,
        subject=contact_text(_CHANGE_SUBJECTS[verb], customer=order.customer, number=order.number),
        body=change.reason if verb in ("approved", "rejected") else "",
        staff=staff,
        source=change,
    )


def change_for_token(*, token: str, user: User | None = None) -> ConsigneeChange:
    """The change a confirmation link names, unchanged (for the page that asks to confirm).
    Someone signed in as another account gets the same answer as for a made-up link."""
    change = (
        ConsigneeChange.objects.select_related(
            "order__customer", "old_consignee", "new_consignee", "new_notify"
        )
        .filter(token_hash=_token_hash(token), status=Status.AWAITING_CUSTOMER)
        .first()
    )
    if change is None or not token:
        raise ChangeLinkInvalid("invalid")
    if user is not None and user.pk != change.order.customer_id:
        raise ChangeLinkInvalid("invalid")
    if change.token_expires_at is None or change.token_expires_at <= timezone.now():
        raise ChangeLinkInvalid("expired")
    return change


def consignee_change_confirm(*, token: str, user: User | None = None) -> ConsigneeChange:
    """The customer follows the e-mailed link: the change now waits for logistics. Works once."""
    with transaction.atomic():
        found = change_for_token(token=token, user=user)
        change = (
            ConsigneeChange.objects.select_for_update(of=("self",))
            .select_related("order__customer", "new_consignee", "new_notify", "old_consignee")
            .get(pk=found.pk)
        )
        if change.status != Status.AWAITING_CUSTOMER or change.token_hash != found.token_hash:
            raise ChangeLinkInvalid("invalid")  # Another click won the race.
        change.status, change.confirmed_at = Status.AWAITING_APPROVAL, timezone.now()
        # Forget the token: a replayed link finds nothing.
        change.token_hash, change.token_expires_at = "", None
        change.save(update_fields=["status", "confirmed_at", "token_hash", "token_expires_at"])
        _change_audit(change, "confirmed", actor=change.order.customer)
        _change_contact(change, "confirmed by e-mail", direction=ContactEvent.Direction.INBOUND)
    return change


def consignee_change_cancel(*, change: ConsigneeChange, customer: User) -> ConsigneeChange:
    """The customer withdraws a change that has not been decided yet."""
    with transaction.atomic():
        Order.objects.select_for_update().get(pk=change.order_id)
        locked = (
            ConsigneeChange.objects.select_for_update().select_related("order").get(pk=change.pk)
        )
        if locked.order.customer_id != customer.pk:
            raise ShippingRefused(_("This change is not yours."))
        if locked.status not in OPEN_CHANGES:
            raise ShippingRefused(_("This change has already been decided."))
        locked.status, locked.decided_at = Status.CANCELLED, timezone.now()
        locked.token_hash, locked.token_expires_at = "", None
        locked.save(update_fields=["status", "decided_at", "token_hash", "token_expires_at"])
        _change_audit(locked, "cancelled", actor=customer)
        _change_contact(locked, "cancelled", direction=ContactEvent.Direction.INBOUND)
    return locked


def consignee_change_decide(
    *, change: ConsigneeChange, staff: User, approve: bool, reason: str
) -> ConsigneeChange:
    """A logistics officer approves (the order's parties change now) or rejects a change the
    customer has confirmed; the customer is told either way, with the reason."""
    reason = reason.strip()
    if not reason:
        raise ShippingRefused(_("Give the reason: the customer reads it."))
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=change.order_id)
        locked = (
            ConsigneeChange.objects.select_for_update(of=("self",))
            .select_related("order__customer", "new_consignee", "new_notify")
            .get(pk=change.pk)
        )
        if locked.status != Status.AWAITING_APPROVAL:
            raise ShippingRefused(
                _("Only a change the customer has confirmed by e-mail can be decided.")
                if locked.status == Status.AWAITING_CUSTOMER
                else _("This change has already been decided or was cancelled.")
            )
        now = timezone.now()
        if approve:
            _approval_check(order, locked)
            current = OrderParties.objects.select_for_update().get(order=order)
            current.consignee_id, current.notify_id = locked.new_consignee_id, locked.new_notify_id
            current.chosen_at = now
            current.save(update_fields=["consignee", "notify", "chosen_at"])
            _booked_carriers_told(order, staff)
        locked.status = Status.APPROVED if approve else Status.REJECTED
        locked.decided_at, locked.decided_by, locked.reason = now, staff, reason[:1000]
        locked.save(update_fields=["status", "decided_at", "decided_by", "reason"])
        verdict = "approved" if approve else "rejected"
        _change_audit(locked, verdict, actor=staff)
        _change_contact(locked, verdict, direction=ContactEvent.Direction.OUTBOUND, staff=staff)
        customer = locked.order.customer
        mail_send_template(
            to=customer.email,
            template=f"shipping/email/consignee_change_{verdict}",
            context={
                "change": locked,
                "order": locked.order,
                "customer": customer,
                "site_url": settings.SITE_URL,
            },
            language=customer.language,
        )
    return locked


def _booked_carriers_told(order: Order, staff: User) -> None:
    """A shipment already booked must carry the new consignee on its B/L: their data goes to
    the shipping line (and forwarder, customs broker) now, so it is recorded now. A restriction
    on disclosure refuses the approval."""
    # shipments imports this module (refusals, notice choices); importing it here avoids a cycle.
    from exportdesk.shipping import shipments

    item = (
        ShipmentOrder.objects.filter(order=order, shipment__booked_at__isnull=False)
        .select_related("shipment")
        .first()
    )
    if item is None:
        return
    newcomers = [p for p in shipments.orders_disclosed([order]) if p.user is None]
    shipments.disclosures_record(
        people=newcomers,
        recipients=shipments.shipment_recipients(item.shipment),
        purpose=shipments.booking_purpose(item.shipment),
        actor=staff,
        context=item.shipment,
    )


def _approval_check(order: Order, change: ConsigneeChange) -> None:
    if order.status == Order.Status.CANCELLED:
        raise ShippingRefused(_("This order was cancelled."))
    current = OrderParties.objects.filter(order=order).first()
    if current is None or current.consignee_id != change.old_consignee_id:
        raise ShippingRefused(_("The order's consignee changed since this was asked."))
    if not change.new_consignee.is_active or (
        change.new_notify and not change.new_notify.is_active
    ):
        raise ShippingRefused(_("The customer removed the new entry from their address book."))


# --- Reads for the pages ------------------------------------------------------------------------


def changes_awaiting_approval() -> QuerySet[ConsigneeChange]:
    return (
        ConsigneeChange.objects.filter(status=Status.AWAITING_APPROVAL)
        .select_related("order__customer", "old_consignee", "new_consignee")
        .order_by("confirmed_at", "pk")
    )


def changes_recently_decided(limit: int = 20) -> list[ConsigneeChange]:
    return list(
        ConsigneeChange.objects.filter(status__in=(Status.APPROVED, Status.REJECTED))
        .select_related("order__customer", "new_consignee", "decided_by")
        .order_by("-decided_at", "-pk")[:limit]
    )


# Every step of a journey, in the order a car makes them.
JOURNEY = list(Shipment.Status)


@dataclass(frozen=True)
class OrderShipping:
    """Everything the customer's Shipping page of one order shows."""

    order: Order
    parties: OrderParties | None
    open_change: ConsigneeChange | None
    changes: list[ConsigneeChange]
    events: list[TimelineEvent]
    steps_to_come: list[Shipment.Status]
    shipment: Shipment | None
    couriers: list[CourierDispatch]
    has_payment: bool


def _open_change(changes: list[ConsigneeChange], now: datetime) -> ConsigneeChange | None:
    for change in changes:
        if change.status == Status.AWAITING_APPROVAL:
            return change
        expires = change.token_expires_at
        if change.status == Status.AWAITING_CUSTOMER and expires and expires > now:
            return change
    return None


def order_shipping(order: Order) -> OrderShipping:
    parties = OrderParties.objects.filter(order=order).select_related("consignee", "notify").first()
    changes = list(
        ConsigneeChange.objects.filter(order=order).select_related("new_consignee", "new_notify")
    )
    events = list(TimelineEvent.objects.filter(order=order).order_by("happened_at", "pk"))
    reached = {event.status for event in events}
    shipment = (
        Shipment.objects.filter(items__order=order).select_related("port_of_discharge").first()
    )
    return OrderShipping(
        order=order,
        parties=parties,
        open_change=_open_change(changes, timezone.now()),
        changes=changes,
        events=events,
        steps_to_come=[step for step in JOURNEY if step not in reached],
        shipment=shipment,
        couriers=list(CourierDispatch.objects.filter(order=order)),
        has_payment=order_has_payment(order),
    )


@dataclass(frozen=True)
class OrderLine:
    order: Order
    consignee: Party | None
    latest: TimelineEvent | None


def orders_shipping_for(customer: User) -> list[OrderLine]:
    """The customer's orders with their consignee and latest step (three queries)."""
    orders = list(
        Order.objects.filter(customer=customer)
        .exclude(status=Order.Status.CANCELLED)
        .select_related("proforma")
        .order_by("-created_at", "-pk")
    )
    ids = [o.pk for o in orders]
    consignees = {
        p.order_id: p.consignee
        for p in OrderParties.objects.filter(order_id__in=ids).select_related("consignee")
    }
    latest: dict[int, TimelineEvent] = {}
    for event in TimelineEvent.objects.filter(order_id__in=ids).order_by("happened_at", "pk"):
        latest[event.order_id] = event
    return [OrderLine(o, consignees.get(o.pk), latest.get(o.pk)) for o in orders]


# --- Shipping notices ---------------------------------------------------------------------------


def shipping_notices_of(user: User) -> list[str]:
    """The statuses the customer wants e-mailed: all of them until they choose."""
    row = ShippingNotices.objects.filter(user=user).first()
    if row is None:
        return list(Shipment.Status.values)
    return [s for s in Shipment.Status.values if s in row.statuses]


def notice_wanted(user: User, status: str) -> bool:
    """Whether to e-mail this customer when an order of theirs reaches `status`."""
    row = ShippingNotices.objects.filter(user=user).only("statuses").first()
    return row is None or status in row.statuses


def notices_wanted(user_ids: Iterable[int], status: str) -> set[int]:
    """Of these customers, those who want `status` e-mailed (one query, for a whole shipment)."""
    ids = set(user_ids)
    chose = dict(ShippingNotices.objects.filter(user_id__in=ids).values_list("user_id", "statuses"))
    return {pk for pk in ids if pk not in chose or status in chose[pk]}


def shipping_notices_set(*, user: User, statuses: Iterable[str]) -> ShippingNotices:
    wanted = set(statuses)
    unknown = wanted - set(Shipment.Status.values)
    if unknown:
        raise ShippingRefused(_("Unknown shipping update: %(status)s") % {"status": min(unknown)})
    chosen = [s for s in Shipment.Status.values if s in wanted]
    with transaction.atomic():
        row, _created = ShippingNotices.objects.update_or_create(
            user=user, defaults={"statuses": chosen, "updated_at": timezone.now()}
        )
        audit_event_record(
            action="shipping.notices_changed",
            actor=user,
            obj=row,
            subject_id=user.pk,
            details={"statuses": chosen},
        )
    return row

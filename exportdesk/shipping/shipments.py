"""Shipments, their timeline and couriers of originals: the logistics desk's services and reads.

A shipment carries paid (or partly paid) orders with a consignee to one port of discharge.
Booking it hands each order's consignee, notify party and customer to the shipping line (and the
forwarder and customs broker when set): one record of provision per person and recipient is
written in the same transaction, and a person who restricted disclosure stops the booking with
nothing written. Originals sent by courier hand the addressee's name, address and phone to the
courier, with their record of provision the same way. Timeline steps only move forward and each
one is e-mailed to the customers who want that kind of update.
"""

from __future__ import annotations

import datetime
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from exportdesk.accounts.models import User, normalise_email
from exportdesk.core.audit import AuditDraft, audit_event_record, audit_events_record
from exportdesk.core.mail import mail_send_template
from exportdesk.core.personal_data import LegalBasis
from exportdesk.messaging.models import ContactEvent
from exportdesk.messaging.services import contact_event_record, contact_text
from exportdesk.payments.models import Allocation
from exportdesk.payments.selectors import orders_paid
from exportdesk.privacy.models import ProvisionRecord, Recipient
from exportdesk.privacy.provision import DisclosureRestricted, record_provision
from exportdesk.sales.models import DocumentSequence, Order
from exportdesk.shipping.inspections import inspections_missing, requirements_by_order
from exportdesk.shipping.models import (
    CourierDispatch,
    DocumentKind,
    ExportDocument,
    OrderParties,
    Party,
    Shipment,
    ShipmentOrder,
    TimelineEvent,
)
from exportdesk.shipping.parties import ShippingRefused, notices_wanted
from exportdesk.stock.models import Port, ShippingMethod

Status = Shipment.Status

# A clock a little ahead on the desk's machine is not a step from the future.
FUTURE_TOLERANCE = datetime.timedelta(minutes=5)
REFERENCE_KIND = "shipment"

# The journey of a car, in order. "Documents couriered" is not on it: originals go out by
# courier while the ship is at sea or after it arrived, so it never blocks the car's own steps.
MAIN_TRACK: tuple[str, ...] = (
    Status.PURCHASED,
    Status.EXPORT_CERTIFICATE,
    Status.INSPECTED,
    Status.AT_PORT,
    Status.LOADED,
    Status.SAILED,
    Status.ARRIVED,
    Status.DELIVERED,
)
RANK = {status: rank for rank, status in enumerate(MAIN_TRACK)}
SHIPMENT_STEPS: tuple[str, ...] = (Status.AT_PORT, Status.LOADED, Status.SAILED, Status.ARRIVED)
ORDER_STEPS: tuple[str, ...] = (
    Status.PURCHASED,
    Status.EXPORT_CERTIFICATE,
    Status.INSPECTED,
    Status.DOCUMENTS_COURIERED,
    Status.DELIVERED,
)
# Steps staff record by hand on an order; "documents couriered" comes from a courier dispatch.
ORDER_STEPS_BY_HAND: tuple[str, ...] = tuple(
    s for s in ORDER_STEPS if s != Status.DOCUMENTS_COURIERED
)

RECIPIENT_KINDS = {
    "shipping_line": Recipient.Kind.SHIPPING_LINE,
    "forwarder": Recipient.Kind.FORWARDER,
    "customs_broker": Recipient.Kind.CUSTOMS_BROKER,
}
TRACKING_NUMBER = re.compile(r"^[A-Za-z0-9-]{6,60}$")


def _at_or_after(status: str, step: str) -> bool:
    return RANK.get(status, -1) >= RANK[step]


def moment_checked(when: datetime.datetime | None) -> datetime.datetime:
    now = timezone.now()
    if when is None:
        return now
    if timezone.is_naive(when):
        when = timezone.make_aware(when)
    if when > now + FUTURE_TOLERANCE:
        raise ShippingRefused(_("The date cannot be in the future."))
    return when


# --- References ---------------------------------------------------------------------------------


def _reference_next(day: datetime.date) -> str:
    """SHP-YYYY-NNNN, numbered per calendar year without gaps.

    Uses the sales app's document sequences (its row lock serialises concurrent creations and a
    rollback gives the number back); for shipments the sequence's year is the calendar year.
    """
    assert transaction.get_connection().in_atomic_block, "call inside the shipment's transaction"
    DocumentSequence.objects.get_or_create(kind=REFERENCE_KIND, fiscal_year=day.year)
    sequence = DocumentSequence.objects.select_for_update().get(
        kind=REFERENCE_KIND, fiscal_year=day.year
    )
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return f"SHP-{day.year}-{sequence.last_number:04d}"


# --- Shipments ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShipmentDetails:
    """What staff fill in for a shipment; the booking and the timeline are separate steps."""

    method: str
    port_of_loading: str
    port_of_discharge: Port
    shipping_line: Recipient | None = None
    forwarder: Recipient | None = None
    customs_broker: Recipient | None = None
    vessel: str = ""
    voyage: str = ""
    booking_number: str = ""
    cutoff_date: datetime.date | None = None
    etd: datetime.date | None = None
    eta: datetime.date | None = None
    bl_number: str = ""
    bl_type: str = ""


_TEXT_FIELDS = ("port_of_loading", "vessel", "voyage", "booking_number", "bl_number")
_RELATED_FIELDS = ("port_of_discharge", *RECIPIENT_KINDS)
_DETAIL_FIELDS = (
    "method",
    "port_of_loading",
    "port_of_discharge",
    *RECIPIENT_KINDS,
    "vessel",
    "voyage",
    "booking_number",
    "cutoff_date",
    "etd",
    "eta",
    "bl_number",
    "bl_type",
)


def _details_check(details: ShipmentDetails, shipment: Shipment | None) -> None:
    errors: list[str] = []
    if details.method not in ShippingMethod.values:
        errors.append(_("Choose RoRo or container."))
    if not details.port_of_loading.strip():
        errors.append(_("Name the port of loading."))
    if details.bl_type and details.bl_type not in Shipment.BLType.values:
        errors.append(_("Choose the B/L type from the list."))
    for name, kind in RECIPIENT_KINDS.items():
        recipient: Recipient | None = getattr(details, name)
        unchanged = shipment is not None and getattr(shipment, f"{name}_id") == (
            recipient.pk if recipient else None
        )
        if recipient is None or unchanged:
            continue
        if recipient.kind != kind:
            errors.append(
                _("%(recipient)s is not registered as a %(kind)s.")
                % {"recipient": recipient.name, "kind": Recipient.Kind(kind).label.lower()}
            )
        elif not recipient.is_active:
            errors.append(
                _("%(recipient)s is no longer an active recipient.") % {"recipient": recipient.name}
            )
    errors += _dates_check(details)
    if errors:
        raise ShippingRefused(" ".join(errors))


def _dates_check(details: ShipmentDetails) -> list[str]:
    errors = []
    if details.cutoff_date and details.etd and details.cutoff_date > details.etd:
        errors.append(_("The cut-off date must be on or before the ETD."))
    if details.etd and details.eta and details.etd > details.eta:
        errors.append(_("The ETA must be on or after the ETD."))
    return errors


def _details_apply(shipment: Shipment, details: ShipmentDetails) -> list[str]:
    """Copy the details onto the shipment; returns the names of the fields that changed."""
    changed = []
    for name in _DETAIL_FIELDS:
        value = getattr(details, name)
        if name in _TEXT_FIELDS:
            value = value.strip()
        if name in _RELATED_FIELDS:
            differs = getattr(shipment, f"{name}_id") != (value.pk if value else None)
        else:
            differs = getattr(shipment, name) != value
        if differs:
            setattr(shipment, name, value)
            changed.append(name)
    return changed


def shipment_create(*, details: ShipmentDetails, actor: User) -> Shipment:
    _details_check(details, None)
    now = timezone.now()
    with transaction.atomic():
        shipment = Shipment(created_at=now, created_by=actor)
        _details_apply(shipment, details)
        shipment.reference = _reference_next(timezone.localdate(now))
        shipment.save()
        audit_event_record(
            action="shipping.shipment_created",
            actor=actor,
            obj=shipment,
            details={"reference": shipment.reference, "port": shipment.port_of_discharge.code},
        )
    return shipment


def shipment_update(*, shipment: Shipment, details: ShipmentDetails, actor: User) -> Shipment:
    """Save changed details. A recipient named after the booking receives the booked orders'
    data now, so it gets its records of provision (or the change is refused) at once."""
    with transaction.atomic():
        locked = Shipment.objects.select_for_update().get(pk=shipment.pk)
        _details_check(details, locked)
        carried = _orders_of(locked)
        if carried and details.port_of_discharge.code != locked.port_of_discharge.code:
            raise ShippingRefused(
                _("Remove the orders before changing the port of discharge: they go to %(port)s.")
                % {"port": locked.port_of_discharge.name}
            )
        before = {name: getattr(locked, f"{name}_id") for name in RECIPIENT_KINDS}
        changed = _details_apply(locked, details)
        if not changed:
            return locked
        locked.save()
        if locked.booked_at is not None:
            added = [
                recipient
                for name in RECIPIENT_KINDS
                if (recipient := getattr(locked, name)) is not None and recipient.pk != before[name]
            ]
            disclosures_record(
                people=orders_disclosed(carried),
                recipients=added,
                purpose=booking_purpose(locked),
                actor=actor,
                context=locked,
            )
        audit_event_record(
            action="shipping.shipment_changed",
            actor=actor,
            obj=locked,
            details={"fields": sorted(changed)},
        )
    return locked


def _orders_of(shipment: Shipment) -> list[Order]:
    """The shipment's orders, locked, with what a booking sends about them."""
    return list(
        Order.objects.select_for_update(of=("self",))
        .filter(shipment_item__shipment=shipment)
        .select_related(
            "customer__customer_profile",
            "proforma__port",
            "parties__consignee",
            "parties__notify",
        )
        .order_by("pk")
    )


def order_is_paid_in_part(order: Order) -> bool:
    """Paid in full, or with at least one approved payment on it."""
    if order.status == Order.Status.PAID:
        return True
    return order.status == Order.Status.OPEN and orders_paid([order.pk])[order.pk] > 0


def order_shipping_problems(order: Order, shipment: Shipment) -> list[str]:
    """Why an order cannot travel in this shipment (empty when it can)."""
    number = order.number
    if order.status == Order.Status.CANCELLED:
        return [_("Order %(number)s is cancelled.") % {"number": number}]
    problems = []
    if not order_is_paid_in_part(order):
        problems.append(
            _("Order %(number)s has no payment yet: only paid or partly paid orders are shipped.")
            % {"number": number}
        )
    if not OrderParties.objects.filter(order=order).exists():
        problems.append(
            _("Order %(number)s has no consignee yet: the customer chooses one on My Page.")
            % {"number": number}
        )
    current = ShipmentOrder.objects.filter(order=order).select_related("shipment").first()
    if current is not None:
        problems.append(
            _("Order %(number)s is already in shipment %(reference)s.")
            % {"number": number, "reference": current.shipment.reference}
        )
    port = order.proforma.port
    if port is None:
        problems.append(
            _("Order %(number)s is sold without a port of discharge (FOB).") % {"number": number}
        )
    elif port.code != shipment.port_of_discharge.code:
        problems.append(
            _("Order %(number)s goes to %(port)s, not %(shipment_port)s.")
            % {"number": number, "port": port, "shipment_port": shipment.port_of_discharge}
        )
    return problems


def shipment_order_add(*, shipment: Shipment, order: Order, actor: User) -> ShipmentOrder:
    """Put an order on a shipment. On a booked shipment the order's people go to the recipients
    now, with their records of provision."""
    with transaction.atomic():
        locked = Shipment.objects.select_for_update().get(pk=shipment.pk)
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("proforma__port")
            .get(pk=order.pk)
        )
        if _at_or_after(locked.status, Status.LOADED):
            raise ShippingRefused(
                _("%(reference)s is already loaded: no more orders can join it.")
                % {"reference": locked.reference}
            )
        problems = order_shipping_problems(order, locked)
        if not problems and _progress([order.pk])[order.pk].rank >= RANK[Status.LOADED]:
            problems.append(
                _("Order %(number)s was already loaded on a ship.") % {"number": order.number}
            )
        if problems:
            raise ShippingRefused(" ".join(problems))
        item = ShipmentOrder.objects.create(shipment=locked, order=order)
        if locked.booked_at is not None:
            disclosures_record(
                people=orders_disclosed(_with_parties([order])),
                recipients=shipment_recipients(locked),
                purpose=booking_purpose(locked),
                actor=actor,
                context=locked,
            )
        audit_event_record(
            action="shipping.order_added",
            actor=actor,
            obj=locked,
            subject_id=order.customer_id,
            details={"order": order.number},
        )
    return item


def _with_parties(orders: list[Order]) -> list[Order]:
    return list(
        Order.objects.filter(pk__in=[o.pk for o in orders])
        .select_related("customer__customer_profile", "parties__consignee", "parties__notify")
        .order_by("pk")
    )


def shipment_order_remove(*, shipment: Shipment, order: Order, actor: User) -> None:
    with transaction.atomic():
        locked = Shipment.objects.select_for_update().get(pk=shipment.pk)
        if _at_or_after(locked.status, Status.LOADED):
            raise ShippingRefused(
                _("%(reference)s is already loaded: its orders stay on it.")
                % {"reference": locked.reference}
            )
        deleted, _by_model = ShipmentOrder.objects.filter(shipment=locked, order=order).delete()
        if not deleted:
            raise ShippingRefused(
                _("Order %(number)s is not in %(reference)s.")
                % {"number": order.number, "reference": locked.reference}
            )
        audit_event_record(
            action="shipping.order_removed",
            actor=actor,
            obj=locked,
            subject_id=order.customer_id,
            details={"order": order.number},
        )


def shipment_recipients(shipment: Shipment) -> list[Recipient]:
    """Who a booking hands the data to: the shipping line, then forwarder and customs broker."""
    return [r for name in RECIPIENT_KINDS if (r := getattr(shipment, name)) is not None]


def shipment_book(*, shipment: Shipment, actor: User) -> list[ProvisionRecord]:
    """Book the shipment: its orders' consignees, notify parties and customers go to the
    shipping line (and forwarder, customs broker). One record of provision per person and
    recipient, in this transaction; a restricted disclosure refuses the booking, writing nothing."""
    with transaction.atomic():
        locked = Shipment.objects.select_for_update().get(pk=shipment.pk)
        if locked.booked_at is not None:
            raise ShippingRefused(
                _("%(reference)s is already booked.") % {"reference": locked.reference}
            )
        if locked.shipping_line is None:
            raise ShippingRefused(_("Choose the shipping line before booking."))
        orders = _orders_of(locked)
        if not orders:
            raise ShippingRefused(_("Add at least one order before booking."))
        records = disclosures_record(
            people=orders_disclosed(orders),
            recipients=shipment_recipients(locked),
            purpose=booking_purpose(locked),
            actor=actor,
            context=locked,
        )
        locked.booked_at = timezone.now()
        locked.save(update_fields=["booked_at"])
        audit_event_record(
            action="shipping.shipment_booked",
            actor=actor,
            obj=locked,
            details={
                "orders": [o.number for o in orders],
                "recipients": [r.pk for r in shipment_recipients(locked)],
                "provisions": len(records),
            },
        )
    return records


# --- What leaves for a recipient ----------------------------------------------------------------


@dataclass
class DisclosedPerson:
    """One person whose data a booking sends, with the items sent (name → value)."""

    user: User | None
    name: str
    email: str
    items: dict[str, str]
    roles: list[tuple[str, str]] = field(default_factory=list)  # (role, order number)


ROLE_CUSTOMER = gettext_lazy("Customer")
ROLE_CONSIGNEE = gettext_lazy("Consignee")
ROLE_NOTIFY = gettext_lazy("Notify party")
ROLE_ADDRESSEE = gettext_lazy("Addressee of the originals")

# What a courier's waybill names for the addressee. The address book's e-mail address and ID or
# tax number are for the B/L and customs; the waybill does not carry them, so neither does the
# record of provision.
WAYBILL_ITEMS = ("name", "company", "address", "country", "phone number")


def _party_items(party: Party) -> dict[str, str]:
    values = {
        "name": party.name,
        "company": party.company,
        "address": party.address,
        "country": str(party.country.name),
        "phone number": party.phone,
        "e-mail address": party.email,
        "ID or tax number": party.id_number,
    }
    return {item: value for item, value in values.items() if value}


def _customer_items(customer: User) -> dict[str, str]:
    # The buyer as the commercial invoice names them: no e-mail or phone goes to the line.
    profile = getattr(customer, "customer_profile", None)
    values = {
        "name": customer.name,
        "company": profile.company if profile else "",
        "country": str(profile.country.name) if profile else "",
    }
    return {item: value for item, value in values.items() if value}


def orders_disclosed(orders: Iterable[Order], *, with_notify: bool = True) -> list[DisclosedPerson]:
    """Everyone whose data goes out with these orders, one entry per person.

    A consignee whose e-mail address is the customer's own is the customer (one record, about
    their account); the same address-book entry on two orders is one person.
    """
    people: dict[str, DisclosedPerson] = {}
    for order in orders:
        customer = order.customer
        own = people.setdefault(
            f"user:{customer.pk}",
            DisclosedPerson(customer, customer.name, customer.email, _customer_items(customer)),
        )
        own.roles.append((str(ROLE_CUSTOMER), order.number))
        parties = getattr(order, "parties", None)
        if parties is None:
            continue
        named = [(parties.consignee, ROLE_CONSIGNEE)]
        if with_notify and parties.notify is not None:
            named.append((parties.notify, ROLE_NOTIFY))
        for party, role in named:
            person = _person_for(party, customer, people)
            for item, value in _party_items(party).items():
                person.items.setdefault(item, value)
            person.roles.append((str(role), order.number))
    return list(people.values())


def _person_for(
    party: Party, customer: User, people: dict[str, DisclosedPerson]
) -> DisclosedPerson:
    email = normalise_email(party.email) if party.email else ""
    if email and email == normalise_email(customer.email):
        return people[f"user:{customer.pk}"]
    key = f"email:{email}" if email else f"party:{party.pk}"
    return people.setdefault(key, DisclosedPerson(None, party.name, email, {}))


def disclosures_record(
    *,
    people: Sequence[DisclosedPerson],
    recipients: Sequence[Recipient],
    purpose: str,
    actor: User,
    context: Any,
) -> list[ProvisionRecord]:
    """Record each person's data going to each recipient; call inside the sending transaction,
    so a refusal rolls back everything the operation wrote."""
    records = []
    for recipient in recipients:
        for person in people:
            try:
                records.append(
                    record_provision(
                        recipient=recipient,
                        data_items=list(person.items),
                        legal_basis=LegalBasis.CONTRACT,
                        subject_user=person.user,
                        subject_name="" if person.user else person.name,
                        subject_email="" if person.user else person.email,
                        purpose=purpose,
                        actor=actor,
                        context=context,
                    )
                )
            except DisclosureRestricted as restricted:
                raise ShippingRefused(_refusal(person, str(restricted))) from restricted
            except ValidationError as invalid:
                raise ShippingRefused(" ".join(invalid.messages)) from invalid
    return records


def booking_purpose(shipment: Shipment) -> str:
    return stored_text(
        gettext_noop("Booking of shipment %(reference)s"), reference=shipment.reference
    )


def stored_text(message: str, **values: str) -> str:
    """A sentence kept in a record (a provision's purpose): written once, in the site's
    language, whatever language the member of staff uses. Mark the message with gettext_noop."""
    with translation.override(settings.LANGUAGE_CODE):
        return _(message) % values


def _refusal(person: DisclosedPerson, reason: str) -> str:
    roles = ", ".join(f"{role} ({number})" for role, number in person.roles)
    return _("%(reason)s %(name)s: %(roles)s. Nothing was sent or recorded.") % {
        "reason": reason,
        "name": person.name,
        "roles": roles,
    }


# --- Timeline -----------------------------------------------------------------------------------


@dataclass
class Progress:
    """How far an order has come: its latest step on the car's journey."""

    status: str = ""
    at: datetime.datetime | None = None
    couriered: bool = False

    @property
    def rank(self) -> int:
        return RANK.get(self.status, -1)

    @property
    def status_label(self) -> str:
        return _label(self.status) if self.status else ""


def _progress(order_ids: Iterable[int]) -> dict[int, Progress]:
    ids = list(order_ids)
    progress = {pk: Progress() for pk in ids}
    rows = TimelineEvent.objects.filter(order_id__in=ids).values_list(
        "order_id", "status", "happened_at"
    )
    for order_id, status, happened_at in rows:
        current = progress[order_id]
        if status == Status.DOCUMENTS_COURIERED:
            current.couriered = True
        elif RANK[status] > current.rank:
            current.status, current.at = status, happened_at
    return progress


def orders_progress(order_ids: Iterable[int]) -> dict[int, Progress]:
    return _progress(order_ids)


def _label(status: str) -> str:
    return str(Status(status).label)


def _step_refusal(
    order: Order, progress: Progress, status: str, when: datetime.datetime
) -> str | None:
    if order.status == Order.Status.CANCELLED:
        return _("Order %(number)s is cancelled.") % {"number": order.number}
    if status != Status.DOCUMENTS_COURIERED and progress.rank >= RANK[status]:
        return _("Order %(number)s is already at “%(current)s”: steps only move forward.") % {
            "number": order.number,
            "current": _label(progress.status),
        }
    if progress.at is not None and when < progress.at:
        return _("The date is before order %(number)s's last step (%(when)s).") % {
            "number": order.number,
            "when": timezone.localtime(progress.at).strftime("%Y-%m-%d %H:%M"),
        }
    return None


def _order_step_check(order: Order, shipment: Shipment | None, status: str) -> None:
    if status not in ORDER_STEPS:
        raise ShippingRefused(
            _("“%(step)s” is recorded for the whole shipment, not one order.")
            % {"step": _label(status)}
        )
    if shipment is None:
        return
    if status == Status.DOCUMENTS_COURIERED and not _at_or_after(shipment.status, Status.LOADED):
        raise ShippingRefused(
            _("Originals go out once the car is loaded: %(reference)s is not loaded yet.")
            % {"reference": shipment.reference}
        )
    if status == Status.DELIVERED and not _at_or_after(shipment.status, Status.ARRIVED):
        raise ShippingRefused(
            _("%(reference)s has not arrived yet.") % {"reference": shipment.reference}
        )


def _shipment_step_check(shipment: Shipment, orders: list[Order], status: str) -> None:
    if status not in SHIPMENT_STEPS:
        raise ShippingRefused(
            _("“%(step)s” is recorded on each order, not the shipment.") % {"step": _label(status)}
        )
    if shipment.booked_at is None:
        raise ShippingRefused(
            _("Book %(reference)s with its shipping line first.")
            % {"reference": shipment.reference}
        )
    if not orders:
        raise ShippingRefused(
            _("%(reference)s carries no orders.") % {"reference": shipment.reference}
        )
    if _at_or_after(shipment.status, status):
        raise ShippingRefused(
            _("%(reference)s is already at “%(current)s”: steps only move forward.")
            % {"reference": shipment.reference, "current": shipment.get_status_display()}
        )
    if status == Status.LOADED:
        _inspections_check(shipment, orders)


def _inspections_check(shipment: Shipment, orders: list[Order]) -> None:
    """A car whose destination requires a pre-shipment inspection is not loaded without one."""
    missing = inspections_missing(orders)
    problems = [
        _("Order %(number)s needs a passed inspection: %(kind)s.")
        % {"number": order.number, "kind": requirement.kind}
        for order in orders
        for requirement in missing.get(order.pk, [])
    ]
    if problems:
        raise ShippingRefused(
            _("%(reference)s cannot be marked loaded.") % {"reference": shipment.reference}
            + " "
            + " ".join(problems)
        )


@dataclass(frozen=True)
class _Notice:
    """The e-mail a step sends: its template and what the template needs beyond the events."""

    template: str = "shipping/email/timeline_step"
    context: dict[str, Any] = field(default_factory=dict)


def timeline_event_record(
    *,
    shipment: Shipment | None = None,
    order: Order | None = None,
    status: str,
    happened_at: datetime.datetime | None = None,
    note: str = "",
    actor: User | None,
) -> list[TimelineEvent]:
    """Record a step: a shipment's (at port, loaded, sailed, arrived) for every order it carries,
    moving the shipment's status; or one order's (purchased, export certificate, inspected,
    documents couriered, delivered). Refused (ShippingRefused) unless it moves forward."""
    return _step_record(
        shipment=shipment,
        order=order,
        status=status,
        happened_at=happened_at,
        note=note,
        actor=actor,
        notice=_Notice(),
    )


def _step_record(
    *,
    shipment: Shipment | None,
    order: Order | None,
    status: str,
    happened_at: datetime.datetime | None,
    note: str,
    actor: User | None,
    notice: _Notice,
) -> list[TimelineEvent]:
    if (shipment is None) == (order is None):
        raise ValueError("record a step for a shipment or for an order, not both")
    if status not in Status.values:
        raise ShippingRefused(_("Choose a step from the list."))
    note = note.strip()
    if len(note) > 1000:
        raise ShippingRefused(_("The note can be at most 1,000 characters."))
    when = moment_checked(happened_at)
    with transaction.atomic():
        locked: Shipment | None
        if shipment is not None:
            locked = Shipment.objects.select_for_update().get(pk=shipment.pk)
            orders = _orders_of(locked)
            _shipment_step_check(locked, orders, status)
        else:
            assert order is not None
            orders = [
                Order.objects.select_for_update(of=("self",))
                .select_related("customer")
                .get(pk=order.pk)
            ]
            item = ShipmentOrder.objects.filter(order=orders[0]).select_related("shipment").first()
            locked = item.shipment if item is not None else None
            _order_step_check(orders[0], locked, status)
        events = _events_write(
            orders=orders,
            shipment=locked,
            whole_shipment=shipment is not None,
            status=status,
            when=when,
            note=note,
            actor=actor,
        )
        if shipment is not None and locked is not None:
            locked.status = status
            locked.save(update_fields=["status"])
        _customers_told(
            events, status=status, shipment=locked, note=note, actor=actor, notice=notice
        )
    return events


def _events_write(
    *,
    orders: list[Order],
    shipment: Shipment | None,
    whole_shipment: bool,
    status: str,
    when: datetime.datetime,
    note: str,
    actor: User | None,
) -> list[TimelineEvent]:
    progress = _progress(o.pk for o in orders)
    moving = []
    for order in orders:
        refusal = _step_refusal(order, progress[order.pk], status, when)
        # An order that joined the shipment already past this step (a car moved from another
        # vessel at the port) keeps its own step; any other refusal stops the whole step.
        if refusal and whole_shipment and progress[order.pk].rank >= RANK[status]:
            continue
        if refusal:
            raise ShippingRefused(refusal)
        moving.append(order)
    now = timezone.now()
    events = TimelineEvent.objects.bulk_create(
        [
            TimelineEvent(
                order=order,
                shipment=shipment,
                status=status,
                happened_at=when,
                note=note,
                recorded_by=actor,
                created_at=now,
            )
            for order in moving
        ]
    )
    audit_events_record(
        [
            AuditDraft(
                action="shipping.step_recorded",
                actor=actor,
                obj=event,
                subject_id=event.order.customer_id,
                details={
                    "order": event.order.number,
                    "status": status,
                    "shipment": shipment.reference if shipment else "",
                    "happened_at": when.isoformat(),
                },
            )
            for event in events
        ]
    )
    return events


def _customers_told(
    events: list[TimelineEvent],
    *,
    status: str,
    shipment: Shipment | None,
    note: str,
    actor: User | None,
    notice: _Notice,
) -> None:
    """Each customer gets one e-mail for their orders (if they want this kind of update), and
    every step goes to their contact history."""
    by_customer: dict[int, list[TimelineEvent]] = defaultdict(list)
    for event in events:
        by_customer[event.order.customer_id].append(event)
    wanted = notices_wanted(by_customer, status)
    for customer_events in by_customer.values():
        customer = customer_events[0].order.customer
        numbers = ", ".join(e.order.number for e in customer_events)
        for event in customer_events:
            contact_event_record(
                email=customer.email,
                customer=customer,
                kind=ContactEvent.Kind.NOTICE,
                direction=ContactEvent.Direction.OUTBOUND,
                subject=contact_text(
                    # Translators: a shipping step in the customer's contact history, e.g.
                    # "ORD-2026-00012: Sailed"; the step's name is translated on its own.
                    gettext_noop("%(number)s: %(step)s"),
                    customer=customer,
                    number=event.order.number,
                    step=Status(status).label,
                ),
                body=note,
                staff=actor,
                source=event,
            )
        if customer.is_active and customer.erased_at is None and customer.pk in wanted:
            mail_send_template(
                to=customer.email,
                template=notice.template,
                context={
                    "customer": customer,
                    "status": status,
                    "status_label": Status(status).label,
                    "events": customer_events,
                    "numbers": numbers,
                    "shipment": shipment,
                    "note": note,
                    "site_url": settings.SITE_URL,
                    **notice.context,
                },
                language=customer.language,
            )


# --- Couriers -----------------------------------------------------------------------------------


def courier_documents(dispatch: CourierDispatch) -> list[str]:
    """The names of the documents a dispatch carried, in the current language."""
    return dispatch.document_names()


def courier_dispatch_record(
    *,
    order: Order,
    courier: Recipient,
    tracking_number: str,
    documents: Sequence[str],
    addressed_to: Party,
    actor: User,
    dispatched_at: datetime.datetime | None = None,
) -> CourierDispatch:
    """Originals sent by courier: the dispatch, the addressee's record of provision to the
    courier, and the order's "documents couriered" step with the carrier and tracking number,
    e-mailed to the customer. A refused disclosure refuses the dispatch, writing nothing."""
    tracking = "".join(tracking_number.split()).upper()
    codes = [code for code in DocumentKind.values if code in set(documents)]
    errors = []
    if courier.kind != Recipient.Kind.COURIER:
        errors.append(
            _("%(recipient)s is not registered as a %(kind)s.")
            % {"recipient": courier.name, "kind": Recipient.Kind.COURIER.label.lower()}
        )
    elif not courier.is_active:
        errors.append(
            _("%(recipient)s is no longer an active recipient.") % {"recipient": courier.name}
        )
    if not TRACKING_NUMBER.match(tracking):
        errors.append(
            _(
                "Enter the tracking number as the carrier gives it: 6 to 60 letters, digits or dashes."
            )
        )
    if not codes or len(codes) != len(set(documents)):
        errors.append(_("Tick the documents in the envelope."))
    if addressed_to.customer_id != order.customer_id:
        errors.append(_("Send the originals to someone in this customer's address book."))
    if errors:
        raise ShippingRefused(" ".join(errors))
    when = moment_checked(dispatched_at)
    with transaction.atomic():
        dispatch = CourierDispatch.objects.create(
            order=order,
            carrier=courier.name,
            tracking_number=tracking,
            documents=",".join(codes),
            addressed_to=addressed_to,
            dispatched_at=when,
            recorded_by=actor,
        )
        [provision] = disclosures_record(
            people=[_addressee(addressed_to, order)],
            recipients=[courier],
            purpose=courier_purpose(order),
            actor=actor,
            context=dispatch,
        )
        _step_record(
            shipment=None,
            order=order,
            status=Status.DOCUMENTS_COURIERED,
            happened_at=when,
            note=f"{courier.name} {tracking}",
            actor=actor,
            notice=_Notice(
                "shipping/email/courier_dispatched",
                # Labels stay lazy: the e-mail renders them in the customer's language.
                {"dispatch": dispatch, "documents": [DocumentKind(c).label for c in codes]},
            ),
        )
        audit_event_record(
            action="shipping.courier_dispatched",
            actor=actor,
            obj=dispatch,
            subject_id=order.customer_id,
            details={
                "order": order.number,
                "carrier": courier.name,
                "recipient": courier.pk,
                "documents": codes,
                "provision": provision.pk,
            },
        )
    return dispatch


def _addressee(party: Party, order: Order) -> DisclosedPerson:
    """The person on the waybill: the customer's own account when the address-book entry carries
    their e-mail address (so the record shows on their privacy page), otherwise the entry."""
    customer = order.customer
    people = {f"user:{customer.pk}": DisclosedPerson(customer, customer.name, customer.email, {})}
    person = _person_for(party, customer, people)
    items = _party_items(party)
    person.items = {item: items[item] for item in WAYBILL_ITEMS if item in items}
    person.roles.append((str(ROLE_ADDRESSEE), order.number))
    return person


def courier_purpose(order: Order) -> str:
    return stored_text(
        gettext_noop("Originals of order %(number)s sent by courier"), number=order.number
    )


def courier_mark_delivered(
    *, dispatch: CourierDispatch, actor: User, delivered_at: datetime.datetime | None = None
) -> CourierDispatch:
    when = moment_checked(delivered_at)
    with transaction.atomic():
        locked = (
            CourierDispatch.objects.select_for_update()
            .select_related("order__customer")
            .get(pk=dispatch.pk)
        )
        if locked.delivered_at is not None:
            raise ShippingRefused(_("This envelope is already marked delivered."))
        if when < locked.dispatched_at:
            raise ShippingRefused(_("It cannot be delivered before it was sent."))
        locked.delivered_at = when
        locked.save(update_fields=["delivered_at"])
        customer = locked.order.customer
        contact_event_record(
            email=customer.email,
            customer=customer,
            kind=ContactEvent.Kind.NOTE,
            direction=ContactEvent.Direction.OUTBOUND,
            subject=contact_text(
                gettext_noop("%(number)s: originals delivered (%(carrier)s %(tracking_number)s)"),
                customer=customer,
                number=locked.order.number,
                carrier=locked.carrier,
                tracking_number=locked.tracking_number,
            ),
            staff=actor,
            source=locked,
        )
        audit_event_record(
            action="shipping.courier_delivered",
            actor=actor,
            obj=locked,
            subject_id=customer.pk,
            details={"order": locked.order.number},
        )
    return locked


# --- Reads for the back office -----------------------------------------------------------------


def shipment_orders(shipment: Shipment) -> list[Order]:
    return list(
        Order.objects.filter(shipment_item__shipment=shipment)
        .select_related(
            "customer__customer_profile",
            "proforma__port",
            "parties__consignee",
            "parties__notify",
        )
        .order_by("pk")
    )


def orders_eligible_for(shipment: Shipment) -> QuerySet[Order]:
    """Orders that could join the shipment: to its port, with a consignee, not shipped, and
    paid in full or in part (suggestions for the desk; adding checks again)."""
    paid = Allocation.objects.filter(order=OuterRef("pk"), status=Allocation.Status.APPROVED)
    return (
        Order.objects.filter(
            proforma__port__code=shipment.port_of_discharge.code,
            parties__isnull=False,
            shipment_item__isnull=True,
        )
        .filter(Q(status=Order.Status.PAID) | Q(Exists(paid), status=Order.Status.OPEN))
        .select_related("customer")
        .order_by("created_at", "pk")
    )


def order_timeline(order: Order) -> QuerySet[TimelineEvent]:
    return (
        TimelineEvent.objects.filter(order=order)
        .select_related("recorded_by", "shipment")
        .order_by("happened_at", "pk")
    )


def shipment_timeline(shipment: Shipment) -> QuerySet[TimelineEvent]:
    return shipment.events.select_related("order", "recorded_by").order_by("happened_at", "pk")


def courier_dispatches(order: Order) -> QuerySet[CourierDispatch]:
    return CourierDispatch.objects.filter(order=order).select_related("addressed_to", "recorded_by")


# --- The logistics board ------------------------------------------------------------------------

# The board's status filter: where a shipment is between planning and arrival.
BOARD_STATES: dict[str, Any] = {
    "open": gettext_lazy("Not arrived yet"),
    "planned": gettext_lazy("Not booked"),
    "booked": gettext_lazy("Booked"),
    **{status: Status(status).label for status in SHIPMENT_STEPS},
    "all": gettext_lazy("All"),
}
# Originals every shipped order needs; the inspection certificate too where one is required.
EXPECTED_DOCUMENTS: tuple[str, ...] = (
    DocumentKind.EXPORT_CERTIFICATE,
    DocumentKind.COMMERCIAL_INVOICE,
    DocumentKind.BILL_OF_LADING,
)


@dataclass(frozen=True)
class BoardRow:
    shipment: Shipment
    orders: int
    inspections_missing: int
    documents_missing: int
    overdue: bool


def board_shipments(*, state: str, port_id: int | None) -> QuerySet[Shipment]:
    """Shipments by cut-off date (those without one last), filtered by state and port."""
    shipments = Shipment.objects.select_related("port_of_discharge", "shipping_line")
    if state == "planned":
        shipments = shipments.filter(booked_at__isnull=True)
    elif state == "booked":
        shipments = shipments.filter(booked_at__isnull=False, status=Status.PURCHASED)
    elif state in SHIPMENT_STEPS:
        shipments = shipments.filter(status=state)
    elif state != "all":
        shipments = shipments.exclude(status=Status.ARRIVED)
    if port_id is not None:
        shipments = shipments.filter(port_of_discharge_id=port_id)
    return shipments.order_by(F("cutoff_date").asc(nulls_last=True), "pk")


def board_rows(shipments: Sequence[Shipment], today: datetime.date | None = None) -> list[BoardRow]:
    """Counts for each shipment on a board page, in a fixed number of queries for any page."""
    day = today or timezone.localdate()
    items = list(ShipmentOrder.objects.filter(shipment__in=shipments).select_related("order"))
    orders = [item.order for item in items]
    required = requirements_by_order(orders)
    missing = inspections_missing(orders, required)
    documents: set[tuple[int, str]] = set(
        ExportDocument.objects.filter(order__in=orders).values_list("order_id", "kind").distinct()
    )
    per_shipment: dict[int, list[int]] = defaultdict(list)
    for item in items:
        per_shipment[item.shipment_id].append(item.order_id)
    rows = []
    for shipment in shipments:
        order_ids = per_shipment.get(shipment.pk, [])
        rows.append(
            BoardRow(
                shipment=shipment,
                orders=len(order_ids),
                inspections_missing=sum(len(missing.get(pk, [])) for pk in order_ids),
                documents_missing=sum(
                    _documents_missing(pk, documents, bool(required.get(pk))) for pk in order_ids
                ),
                overdue=shipment.cutoff_date is not None
                and shipment.cutoff_date < day
                and not _at_or_after(shipment.status, Status.LOADED),
            )
        )
    return rows


def _documents_missing(order_id: int, present: set[tuple[int, str]], inspected: bool) -> int:
    expected = (
        (*EXPECTED_DOCUMENTS, DocumentKind.INSPECTION_CERTIFICATE)
        if inspected
        else EXPECTED_DOCUMENTS
    )
    return sum(1 for kind in expected if (order_id, kind) not in present)

"""Pre-shipment inspections: what each destination requires, bookings with an agency, results.

A destination rule of kind "inspection" (Kenya's roadworthiness inspection, for example) makes an
inspection a requirement of every order to that country. Requirements are derived from the rules
each time and shown as missing on the order until a booked inspection of that kind has passed;
no inspection row is created on the order's behalf, because booking one hands the consignee's
and customer's data to the agency and must be a decision of the logistics desk. A shipment is
not marked loaded while any of its orders misses a passed required inspection.
"""

from __future__ import annotations

import contextlib
import datetime
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from exportdesk.accounts.models import User
from exportdesk.core.audit import audit_event_record
from exportdesk.privacy.models import Recipient
from exportdesk.sales.models import Order
from exportdesk.shipping.documents import DocumentRefused, document_file_check
from exportdesk.shipping.models import Inspection, Shipment
from exportdesk.shipping.parties import ShippingRefused
from exportdesk.stock.models import DestinationRule

Result = Inspection.Result
_EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


@dataclass(frozen=True)
class InspectionRequirement:
    """An inspection a destination's rules require, named the way bookings record its kind."""

    kind: str
    agency: str
    country: str
    source: str


def _requirement(rule: DestinationRule) -> InspectionRequirement:
    # The kind is stored on the inspection and matched against the rule later, so it is the
    # same text in every language.
    return InspectionRequirement(
        kind=f"Pre-shipment inspection ({rule.inspection_agency})",
        agency=rule.inspection_agency,
        country=rule.country.code,
        source=rule.source,
    )


def requirements_by_order(
    orders: Sequence[Order], on: datetime.date | None = None
) -> dict[int, list[InspectionRequirement]]:
    """The inspections each order's destination requires today (two queries for any number)."""
    day = on or timezone.localdate()
    destinations = dict(
        Order.objects.filter(pk__in=[o.pk for o in orders]).values_list(
            "pk", "proforma__destination_country"
        )
    )
    rules = DestinationRule.objects.filter(
        country__in=set(destinations.values()),
        kind=DestinationRule.Kind.INSPECTION,
        effective_from__lte=day,
    ).order_by("country", "pk")
    by_country: dict[str, list[InspectionRequirement]] = {}
    for rule in rules:
        if rule.in_force(day):
            by_country.setdefault(rule.country.code, []).append(_requirement(rule))
    return {pk: list(by_country.get(country, [])) for pk, country in destinations.items()}


def inspection_requirements(order: Order) -> list[InspectionRequirement]:
    return requirements_by_order([order]).get(order.pk, [])


def inspections_missing(
    orders: Sequence[Order],
    requirements: dict[int, list[InspectionRequirement]] | None = None,
) -> dict[int, list[InspectionRequirement]]:
    """For each order, the required inspections it has not passed (three queries in all, one
    when the requirements are given)."""
    if requirements is None:
        requirements = requirements_by_order(orders)
    passed = set(
        Inspection.objects.filter(
            order_id__in=list(requirements), result=Result.PASSED
        ).values_list("order_id", "kind")
    )
    return {
        pk: [r for r in required if (pk, r.kind) not in passed]
        for pk, required in requirements.items()
    }


def inspection_passed(order: Order) -> bool:
    """Has the order passed its inspections? Every kind its destination requires when there
    are requirements; otherwise whether any inspection of it passed."""
    if inspection_requirements(order):
        return not inspections_missing([order]).get(order.pk)
    return Inspection.objects.filter(order=order, result=Result.PASSED).exists()


# --- Booking and results ------------------------------------------------------------------------


def inspection_book(
    *,
    order: Order,
    agency: Recipient,
    kind: str,
    booked_for: datetime.date | None,
    actor: User,
) -> Inspection:
    """Book an inspection: the consignee's and customer's data go to the agency, recorded as a
    provision in this transaction (refused, writing nothing, if either restricted disclosure)."""
    # Imported here: shipments imports this module (its loading rule, the board), and these
    # services use its disclosures and timeline in turn.
    from exportdesk.shipping.shipments import disclosures_record, orders_disclosed, stored_text

    kind = " ".join(kind.split())
    if not kind or len(kind) > 120:
        raise ShippingRefused(_("Name the inspection (at most 120 characters)."))
    if agency.kind != Recipient.Kind.INSPECTION_AGENCY:
        raise ShippingRefused(
            _("%(recipient)s is not registered as an inspection agency.")
            % {"recipient": agency.name}
        )
    with transaction.atomic():
        locked = (
            Order.objects.select_for_update(of=("self",))
            .select_related("customer__customer_profile", "parties__consignee")
            .get(pk=order.pk)
        )
        _booking_check(locked, kind)
        inspection = Inspection.objects.create(
            order=locked,
            agency=agency,
            kind=kind,
            required=kind in {r.kind for r in inspection_requirements(locked)},
            booked_for=booked_for,
            recorded_by=actor,
            created_at=timezone.now(),
        )
        disclosures_record(
            people=orders_disclosed([locked], with_notify=False),
            recipients=[agency],
            purpose=stored_text(
                gettext_noop("%(kind)s of order %(number)s"), kind=kind, number=locked.number
            ),
            actor=actor,
            context=inspection,
        )
        audit_event_record(
            action="shipping.inspection_booked",
            actor=actor,
            obj=inspection,
            subject_id=locked.customer_id,
            details={"order": locked.number, "agency": agency.pk, "kind": kind},
        )
    return inspection


def _booking_check(order: Order, kind: str) -> None:

    if order.status == Order.Status.CANCELLED:
        raise ShippingRefused(_("Order %(number)s is cancelled.") % {"number": order.number})
    same = Inspection.objects.filter(
        order=order, kind=kind, result__in=[Result.BOOKED, Result.PASSED]
    ).first()
    if same is not None:
        raise ShippingRefused(
            _("This inspection is already %(state)s for order %(number)s.")
            % {"state": same.get_result_display().lower(), "number": order.number}
        )


def inspection_result_record(
    *,
    inspection: Inspection,
    passed: bool,
    actor: User,
    certificate: UploadedFile | None = None,
    certificate_number: str = "",
    result_at: datetime.datetime | None = None,
) -> Inspection:
    """Record the agency's verdict. A pass needs its certificate (PDF, JPEG or PNG, checked by
    content, kept in private storage) and moves the order to "inspected" when that is forward."""
    from exportdesk.shipping.shipments import moment_checked, timeline_event_record

    certificate_number = " ".join(certificate_number.split())
    if len(certificate_number) > 60:
        raise ShippingRefused(_("The certificate number can be at most 60 characters."))
    if passed and certificate is None:
        raise ShippingRefused(_("Attach the inspection certificate of a passed inspection."))
    content_type = ""
    if certificate is not None:
        try:
            content_type = document_file_check(certificate)
        except DocumentRefused as refused:
            raise ShippingRefused(str(refused)) from refused
    when = moment_checked(result_at)
    with transaction.atomic():
        locked = (
            Inspection.objects.select_for_update().select_related("order").get(pk=inspection.pk)
        )
        if locked.result != Result.BOOKED:
            raise ShippingRefused(
                _("The result of this inspection is already recorded: book a new inspection.")
            )
        locked.result = Result.PASSED if passed else Result.FAILED
        locked.result_at, locked.certificate_number, locked.recorded_by = (
            when,
            certificate_number,
            actor,
        )
        if certificate is not None:
            # Nothing of the uploaded name is kept: it can hold personal data or path tricks.
            locked.certificate.save(
                f"{uuid.uuid4().hex}.{_EXTENSIONS[content_type]}", certificate, save=False
            )
        locked.save()
        audit_event_record(
            action="shipping.inspection_result",
            actor=actor,
            obj=locked,
            subject_id=locked.order.customer_id,
            details={"order": locked.order.number, "result": locked.result},
        )
        if passed:
            # A re-inspection of a car already further on leaves its timeline alone.
            with contextlib.suppress(ShippingRefused):
                timeline_event_record(
                    order=locked.order,
                    status=Shipment.Status.INSPECTED,
                    happened_at=when,
                    note=locked.kind,
                    actor=actor,
                )
    return locked


def certificate_content_type(inspection: Inspection) -> str:
    extension = inspection.certificate.name.rsplit(".", 1)[-1].lower()
    return {ext: kind for kind, ext in _EXTENSIONS.items()}.get(extension, "application/pdf")


# --- Reads for the order page ---------------------------------------------------------------------


@dataclass
class RequirementState:
    """A required inspection as the order page shows it: missing, booked, failed or passed."""

    requirement: InspectionRequirement
    inspections: list[Inspection] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return any(i.result == Result.PASSED for i in self.inspections)

    @property
    def pending(self) -> Inspection | None:
        return next((i for i in self.inspections if i.result == Result.BOOKED), None)


def order_inspections(order: Order) -> tuple[list[RequirementState], list[Inspection]]:
    """The order's requirements with the inspections of each kind, and every inspection."""
    inspections = list(
        Inspection.objects.filter(order=order).select_related("agency", "recorded_by")
    )
    states = [
        RequirementState(r, [i for i in inspections if i.kind == r.kind])
        for r in inspection_requirements(order)
    ]
    return states, inspections

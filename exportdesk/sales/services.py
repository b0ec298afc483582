"""Inquiries; proformas (issue, accept, expire), orders and invoices; four-eyes bank accounts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from exportdesk.accounts.models import User, normalise_email
from exportdesk.core.audit import audit_event_record
from exportdesk.core.bank_days import bank_days_after
from exportdesk.core.http import client_ip
from exportdesk.core.mail import mail_send_template
from exportdesk.core.money import quantize
from exportdesk.messaging.models import ContactEvent
from exportdesk.messaging.services import contact_event_record, contact_text
from exportdesk.sales.models import (
    BANK_DETAIL_FIELDS,
    BankAccount,
    BankAccountChange,
    Incoterm,
    Inquiry,
    InquiryReply,
    Invoice,
    LineKind,
    Order,
    Proforma,
    ProformaLine,
)
from exportdesk.sales.numbers import document_number_next, verification_code_new
from exportdesk.stock.models import ExchangeRate, Port, ShippingMethod, Vehicle, VehicleStatus
from exportdesk.stock.pricing import NoFreightRate, latest_rate, price_to_port
from exportdesk.stock.rules import rules_for, verdict_for
from exportdesk.stock.services import vehicle_status_change


class InquiryRefused(Exception):
    def __init__(self, reasons: list[str], *, throttled: bool = False) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons
        self.throttled = throttled


@dataclass(frozen=True)
class InquiryDraft:
    name: str
    email: str
    country: str
    message: str
    port: Port | None = None
    vehicle: Vehicle | None = None


def _throttled(*, email: str, ip: str | None) -> bool:
    since = timezone.now() - timedelta(seconds=settings.INQUIRY_THROTTLE_WINDOW)
    recent = Inquiry.objects.filter(created_at__gte=since)
    if recent.filter(email=email).count() >= settings.INQUIRY_THROTTLE_PER_EMAIL:
        return True
    return bool(ip) and recent.filter(ip_address=ip).count() >= settings.INQUIRY_THROTTLE_PER_IP


def inquiry_submit(*, draft: InquiryDraft, request: HttpRequest) -> Inquiry:
    email = normalise_email(draft.email)
    ip = client_ip(request)
    if _throttled(email=email, ip=ip):
        raise InquiryRefused(
            [
                gettext(
                    "You have sent several inquiries in a short time. Please wait an hour and try again."
                )
            ],
            throttled=True,
        )
    if draft.vehicle is not None:
        verdict = verdict_for(draft.vehicle, draft.country, rules_for(draft.country))
        if not verdict.allowed:
            raise InquiryRefused(verdict.reasons)
    user = request.user if request.user.is_authenticated else None
    language = getattr(user, "language", "") or request.LANGUAGE_CODE
    with transaction.atomic():
        inquiry = Inquiry.objects.create(
            user=user,
            vehicle=draft.vehicle,
            name=draft.name.strip(),
            email=email,
            country=draft.country,
            port=draft.port,
            message=draft.message.strip(),
            ip_address=ip,
            language=language,
            created_at=timezone.now(),
        )
        subject = (
            contact_text(
                gettext_noop("Inquiry about %(stock_number)s %(title)s"),
                customer=user,
                language=language,
                stock_number=draft.vehicle.stock_number,
                title=draft.vehicle.title,
            )
            if draft.vehicle
            else contact_text(gettext_noop("General inquiry"), customer=user, language=language)
        )
        contact_event_record(
            email=email,
            customer=user,
            kind=ContactEvent.Kind.INQUIRY,
            direction=ContactEvent.Direction.INBOUND,
            subject=subject,
            body=inquiry.message,
            source=inquiry,
        )
        mail_send_template(
            to=email,
            template="sales/email/inquiry_received",
            context={"inquiry": inquiry},
            language=language,
        )
    return inquiry


def inquiry_reply(*, inquiry: Inquiry, staff: User, body: str) -> InquiryReply:
    with transaction.atomic():
        locked = Inquiry.objects.select_for_update().get(pk=inquiry.pk)
        reply = InquiryReply.objects.create(
            inquiry=locked, staff=staff, body=body.strip(), sent_at=timezone.now()
        )
        locked.status = Inquiry.Status.ANSWERED
        locked.save(update_fields=["status"])
        contact_event_record(
            email=locked.email,
            customer=locked.user,
            kind=ContactEvent.Kind.REPLY,
            direction=ContactEvent.Direction.OUTBOUND,
            subject=contact_text(
                gettext_noop("Re: inquiry #%(number)s"),
                customer=locked.user,
                language=locked.language,
                number=locked.pk,
            ),
            body=reply.body,
            staff=staff,
            source=reply,
        )
        audit_event_record(
            action="inquiry.replied",
            actor=staff,
            obj=locked,
            subject_id=locked.user_id,
        )
        mail_send_template(
            to=locked.email,
            template="sales/email/inquiry_reply",
            context={"inquiry": locked, "reply": reply},
            language=(locked.user.language if locked.user else "") or locked.language,
        )
    return reply


# --- Proformas, orders, invoices ----------------------------------------------------------------


class ProformaRefused(Exception):
    """A proforma that must not be issued or changed; `reasons` are shown to staff as they are."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class ExtraCharge:
    description: str
    amount: Decimal  # in the proforma's currency


@dataclass(frozen=True)
class ProformaDraft:
    customer: User
    vehicles: list[Vehicle]
    incoterm: str
    destination_country: str
    currency: str
    bank_account: BankAccount
    port: Port | None = None
    method: str = ShippingMethod.RORO
    extra_charges: list[ExtraCharge] = field(default_factory=list)
    due_date: date | None = None
    notes: str = ""


@dataclass(frozen=True)
class _PricedLine:
    kind: str
    vehicle: Vehicle | None
    description: str
    amount_jpy: int


def _priced_lines(draft: ProformaDraft) -> list[_PricedLine]:
    """Lines in yen for each vehicle: FOB, then inspection, freight and insurance as the
    incoterm includes them. Refuses banned destinations and ports without a freight rate."""
    reasons: list[str] = []
    lines: list[_PricedLine] = []
    rules = rules_for(draft.destination_country)
    for vehicle in draft.vehicles:
        verdict = verdict_for(vehicle, draft.destination_country, rules)
        if not verdict.allowed:
            reasons += [f"{vehicle.stock_number}: {reason}" for reason in verdict.reasons]
            continue
        lines.append(
            _PricedLine(
                LineKind.VEHICLE,
                vehicle,
                f"{vehicle.stock_number} {vehicle.title} ({vehicle.chassis_number})",
                vehicle.fob_price_jpy,
            )
        )
        if draft.incoterm == Incoterm.FOB:
            continue
        assert draft.port is not None
        try:
            price = price_to_port(
                vehicle=vehicle, port=draft.port, method=draft.method, verdict=verdict
            )
        except NoFreightRate:
            reasons.append(
                gettext("No %(method)s freight rate is on file for %(port)s.")
                % {"method": ShippingMethod(draft.method).label, "port": draft.port}
            )
            continue
        if price.inspection_jpy:
            lines.append(
                _PricedLine(
                    LineKind.INSPECTION,
                    vehicle,
                    f"{vehicle.stock_number} inspection: {verdict.inspection_agency}",
                    price.inspection_jpy,
                )
            )
        lines.append(
            _PricedLine(
                LineKind.FREIGHT,
                vehicle,
                f"{vehicle.stock_number} freight to {draft.port.name} ({price.method_label})",
                price.freight_jpy,
            )
        )
        if draft.incoterm == Incoterm.CIF:
            lines.append(
                _PricedLine(
                    LineKind.INSURANCE,
                    vehicle,
                    f"{vehicle.stock_number} marine insurance ({price.insurance_percent} % of C&F)",
                    price.insurance_jpy,
                )
            )
    if reasons:
        raise ProformaRefused(reasons)
    return lines


def _draft_check(draft: ProformaDraft) -> None:
    reasons: list[str] = []
    if not draft.vehicles:
        reasons.append(gettext("Choose at least one vehicle."))
    if draft.incoterm != Incoterm.FOB and draft.port is None:
        reasons.append(gettext("C&F and CIF need a port of discharge."))
    if draft.port is not None and draft.port.country != draft.destination_country:
        reasons.append(gettext("The port is not in the destination country."))
    if not draft.bank_account.is_active:
        reasons.append(gettext("That bank account is no longer in use."))
    if draft.bank_account.currency != draft.currency:
        reasons.append(
            gettext("The bank account takes %(account)s, not %(currency)s.")
            % {"account": draft.bank_account.currency, "currency": draft.currency}
        )
    for vehicle in draft.vehicles:
        if vehicle.status != VehicleStatus.AVAILABLE:
            reasons.append(
                gettext("%(number)s is %(status)s, not available.")
                % {"number": vehicle.stock_number, "status": vehicle.get_status_display()}
            )
    if reasons:
        raise ProformaRefused(reasons)


def _in_currency(amount_jpy: int, currency: str, rate: ExchangeRate | None) -> Decimal:
    if currency == "JPY":
        return Decimal(amount_jpy)
    assert rate is not None
    return quantize(Decimal(amount_jpy) / rate.jpy_per_unit, currency)


def proforma_issue(*, draft: ProformaDraft, staff: User) -> Proforma:
    """Price, number and issue a proforma; reserve its vehicles until the due date."""
    _draft_check(draft)
    rate = None if draft.currency == "JPY" else latest_rate(draft.currency)
    if draft.currency != "JPY" and rate is None:
        raise ProformaRefused(
            [
                gettext("No exchange rate for %(currency)s is on file.")
                % {"currency": draft.currency}
            ]
        )
    priced = _priced_lines(draft)
    today = timezone.localdate()
    due = draft.due_date or bank_days_after(today, settings.PROFORMA_DUE_BUSINESS_DAYS)
    if due < today:
        raise ProformaRefused([gettext("The due date cannot be in the past.")])
    with transaction.atomic():
        # Lock the vehicles in id order (the fixed order every reservation uses), then re-check
        # that nobody reserved them since the form was shown.
        locked = list(
            Vehicle.objects.select_for_update()
            .filter(pk__in=[v.pk for v in draft.vehicles])
            .order_by("pk")
        )
        busy = [v.stock_number for v in locked if v.status != VehicleStatus.AVAILABLE]
        if busy:
            raise ProformaRefused(
                [gettext("Already reserved or sold: %(list)s") % {"list": ", ".join(busy)}]
            )
        number, year = document_number_next(kind="proforma", day=today)
        amounts = [_in_currency(line.amount_jpy, draft.currency, rate) for line in priced]
        extras = [quantize(extra.amount, draft.currency) for extra in draft.extra_charges]
        proforma = Proforma.objects.create(
            number=number,
            fiscal_year=year,
            verification_code=verification_code_new(),
            customer=draft.customer,
            incoterm=draft.incoterm,
            destination_country=draft.destination_country,
            port=draft.port,
            currency=draft.currency,
            jpy_rate=rate.jpy_per_unit if rate else Decimal(1),
            rate_date=rate.rate_date if rate else None,
            total=sum(amounts, Decimal(0)) + sum(extras, Decimal(0)),
            due_date=due,
            bank_account=draft.bank_account,
            bank_details=draft.bank_account.details(),
            notes=draft.notes.strip(),
            issued_by=staff,
            issued_at=timezone.now(),
        )
        rows = [
            ProformaLine(
                proforma=proforma,
                position=index,
                kind=line.kind,
                vehicle=line.vehicle,
                description=line.description[:200],
                amount=amount,
            )
            for index, (line, amount) in enumerate(zip(priced, amounts, strict=True), start=1)
        ]
        rows += [
            ProformaLine(
                proforma=proforma,
                position=len(priced) + index,
                kind=LineKind.OTHER,
                description=extra.description[:200],
                amount=amount,
            )
            for index, (extra, amount) in enumerate(
                zip(draft.extra_charges, extras, strict=True), start=1
            )
        ]
        ProformaLine.objects.bulk_create(rows)
        for vehicle in locked:
            vehicle_status_change(vehicle=vehicle, new_status=VehicleStatus.RESERVED, actor=staff)
        audit_event_record(
            action="proforma.issued",
            actor=staff,
            obj=proforma,
            subject_id=draft.customer.pk,
            details={"number": number, "total": str(proforma.total), "currency": draft.currency},
        )
        _tell_customer(proforma, kind="issued", subject=gettext_noop("Proforma %(number)s issued"))
    return proforma


def _tell_customer(
    proforma: Proforma, *, kind: str, subject: str, staff: User | None = None
) -> None:
    """E-mail the customer about their proforma and log it in their contact history; `subject`
    is a `gettext_noop` message with the proforma's %(number)s."""
    customer = proforma.customer
    contact_event_record(
        email=customer.email,
        customer=customer,
        kind=ContactEvent.Kind.NOTICE,
        direction=ContactEvent.Direction.OUTBOUND,
        subject=contact_text(subject, customer=customer, number=proforma.number),
        staff=staff,
        source=proforma,
    )
    mail_send_template(
        to=customer.email,
        template=f"sales/email/proforma_{kind}",
        context={"proforma": proforma, "customer": customer, "site_url": settings.SITE_URL},
        language=customer.language,
    )


def proforma_accept(*, proforma: Proforma, customer: User) -> Order:
    """The customer accepts their proforma: it becomes an order awaiting payment."""
    with transaction.atomic():
        locked = Proforma.objects.select_for_update().get(pk=proforma.pk)
        if locked.customer_id != customer.pk:
            raise ProformaRefused([gettext("This proforma is not yours.")])
        if locked.status != Proforma.Status.ISSUED:
            raise ProformaRefused(
                [
                    gettext("This proforma is %(status)s and can no longer be accepted.")
                    % {"status": locked.get_status_display().lower()}
                ]
            )
        if locked.due_date < timezone.localdate():
            raise ProformaRefused([gettext("This proforma is past its due date.")])
        number, _year = document_number_next(kind="order", day=timezone.localdate())
        order = Order.objects.create(
            number=number,
            proforma=locked,
            customer=customer,
            currency=locked.currency,
            total=locked.total,
            created_at=timezone.now(),
        )
        locked.status = Proforma.Status.ACCEPTED
        locked.save(update_fields=["status"])
        audit_event_record(
            action="proforma.accepted",
            actor=customer,
            obj=locked,
            subject_id=customer.pk,
            details={"order": number},
        )
        contact_event_record(
            email=customer.email,
            customer=customer,
            kind=ContactEvent.Kind.NOTE,
            direction=ContactEvent.Direction.INBOUND,
            subject=contact_text(
                gettext_noop("Proforma %(number)s accepted: order %(order)s"),
                customer=customer,
                number=locked.number,
                order=number,
            ),
            source=order,
        )
    return order


def proforma_release(
    *, proforma: Proforma, actor: User | None, cancelled: bool = False
) -> Proforma:
    """End a proforma that will not be paid: expired (due date passed) or cancelled by staff.
    Its vehicles go back on sale, an open order is cancelled, and the customer is told.

    Whether money has arrived for it is the payments app's question; it calls this only for
    proformas with nothing paid.
    """
    with transaction.atomic():
        locked = Proforma.objects.select_for_update().get(pk=proforma.pk)
        if locked.status not in (Proforma.Status.ISSUED, Proforma.Status.ACCEPTED):
            return locked
        order = Order.objects.select_for_update().filter(proforma=locked).first()
        if order is not None and order.status != Order.Status.OPEN:
            return locked
        locked.status = Proforma.Status.CANCELLED if cancelled else Proforma.Status.EXPIRED
        locked.closed_at = timezone.now()
        locked.save(update_fields=["status", "closed_at"])
        if order is not None:
            order.status = Order.Status.CANCELLED
            order.save(update_fields=["status"])
        vehicle_ids = locked.lines.filter(vehicle__isnull=False).values_list("vehicle", flat=True)
        for vehicle in (
            Vehicle.objects.select_for_update().filter(pk__in=vehicle_ids).order_by("pk")
        ):
            if vehicle.status == VehicleStatus.RESERVED:
                vehicle_status_change(
                    vehicle=vehicle, new_status=VehicleStatus.AVAILABLE, actor=actor
                )
        audit_event_record(
            action="proforma.cancelled" if cancelled else "proforma.expired",
            actor=actor,
            obj=locked,
            subject_id=locked.customer_id,
        )
        if cancelled:
            kind, subject = "cancelled", gettext_noop("Proforma %(number)s cancelled")
        else:
            kind, subject = "expired", gettext_noop("Proforma %(number)s expired")
        _tell_customer(locked, kind=kind, subject=subject, staff=actor)
    return locked


def order_mark_paid(*, order: Order, actor: User | None) -> Invoice:
    """Paid in full: the vehicles are sold, and the commercial invoice is issued.
    Called by the payments app inside the transaction that approved the last allocation."""
    assert transaction.get_connection().in_atomic_block
    order.mark_paid(timezone.now())
    order.save(update_fields=["status", "paid_at"])
    vehicle_ids = order.proforma.lines.filter(vehicle__isnull=False).values_list(
        "vehicle", flat=True
    )
    for vehicle in Vehicle.objects.select_for_update().filter(pk__in=vehicle_ids).order_by("pk"):
        if vehicle.status == VehicleStatus.RESERVED:
            vehicle_status_change(vehicle=vehicle, new_status=VehicleStatus.SOLD, actor=actor)
    invoice = Invoice.objects.filter(order=order).first()
    if invoice is None:
        number, year = document_number_next(kind="invoice", day=timezone.localdate())
        invoice = Invoice.objects.create(
            number=number,
            fiscal_year=year,
            verification_code=verification_code_new(),
            order=order,
            currency=order.currency,
            total=order.total,
            bank_details=order.proforma.bank_details,
            issued_at=timezone.now(),
        )
    audit_event_record(
        action="order.paid",
        actor=actor,
        obj=order,
        subject_id=order.customer_id,
        details={"invoice": invoice.number},
    )
    return invoice


def order_reopen(*, order: Order, actor: User | None) -> None:
    """A reversed allocation leaves a paid order short again (the invoice stays issued)."""
    assert transaction.get_connection().in_atomic_block
    order.reopen()
    order.save(update_fields=["status", "paid_at"])
    audit_event_record(
        action="order.reopened", actor=actor, obj=order, subject_id=order.customer_id
    )


# --- The exporter's bank accounts: four-eyes changes --------------------------------------------


class BankAccountChangeRefused(Exception):
    pass


def bank_account_change_propose(
    *, staff: User, proposed: dict[str, Any], code: str, bank_account: BankAccount | None = None
) -> BankAccountChange:
    with transaction.atomic():
        change = BankAccountChange.objects.create(
            bank_account=bank_account,
            code=code,
            proposed=proposed,
            proposed_by=staff,
            proposed_at=timezone.now(),
        )
        audit_event_record(
            action="bank_account.change_proposed",
            actor=staff,
            obj=change,
            details={"code": code, "proposed": proposed},
        )
    return change


def bank_account_change_decide(
    *, change: BankAccountChange, staff: User, approve: bool, reason: str = ""
) -> BankAccountChange:
    """The second accountant approves or rejects; the proposer can never approve their own."""
    with transaction.atomic():
        locked = BankAccountChange.objects.select_for_update().get(pk=change.pk)
        if locked.status != BankAccountChange.Status.PENDING:
            raise BankAccountChangeRefused(gettext("This change has already been decided."))
        if locked.proposed_by_id == staff.pk:
            raise BankAccountChangeRefused(
                gettext("A second member of accounting must approve a change you proposed.")
            )
        if not staff.has_perm("sales.change_bankaccount"):
            raise BankAccountChangeRefused(
                gettext("Only accounting can approve bank account changes.")
            )
        locked.status = (
            BankAccountChange.Status.APPROVED if approve else BankAccountChange.Status.REJECTED
        )
        locked.decided_by, locked.decided_at, locked.reason = staff, timezone.now(), reason[:300]
        locked.save(update_fields=["status", "decided_by", "decided_at", "reason"])
        if approve:
            account = _bank_account_apply(locked)
            locked.bank_account = account
            locked.save(update_fields=["bank_account"])
            _bank_account_announce(account, staff=staff)
        audit_event_record(
            action="bank_account.change_approved" if approve else "bank_account.change_rejected",
            actor=staff,
            obj=locked,
            details={"code": locked.code, "proposed_by": locked.proposed_by_id, "reason": reason},
        )
    return locked


def _bank_account_apply(change: BankAccountChange) -> BankAccount:
    account = change.bank_account or BankAccount(code=change.code)
    for name, value in change.proposed.items():
        if name in (*BANK_DETAIL_FIELDS, "statement_identification", "is_active"):
            setattr(account, name, value)
    account.full_clean()
    account.save()
    return account


def _bank_account_announce(account: BankAccount, *, staff: User) -> None:
    """Customers with open orders or proformas hear of any change of our bank details from us,
    in the portal and by e-mail, so a fraudster's "new account" message stands out."""
    # A proforma not yet accepted, or accepted into an order still awaiting payment.
    open_proformas = Proforma.objects.filter(
        Q(status=Proforma.Status.ISSUED)
        | Q(status=Proforma.Status.ACCEPTED, order__status=Order.Status.OPEN)
    )
    customers = User.objects.filter(pk__in=open_proformas.values("customer_id"))
    for customer in customers:
        contact_event_record(
            email=customer.email,
            customer=customer,
            kind=ContactEvent.Kind.NOTICE,
            direction=ContactEvent.Direction.OUTBOUND,
            subject=contact_text(
                gettext_noop("Our bank account details have changed"), customer=customer
            ),
            staff=staff,
            source=account,
        )
        mail_send_template(
            to=customer.email,
            template="sales/email/bank_account_changed",
            context={"account": account, "customer": customer, "site_url": settings.SITE_URL},
            language=customer.language,
        )

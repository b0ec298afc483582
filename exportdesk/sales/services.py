"""Inquiries: submission with spam limits and destination rules, staff replies by e-mail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext

from exportdesk.accounts.models import User, normalise_email
from exportdesk.core.audit import audit_event_record
from exportdesk.core.http import client_ip
from exportdesk.core.mail import mail_send_template
from exportdesk.messaging.models import ContactEvent
from exportdesk.messaging.services import contact_event_record
from exportdesk.sales.models import Inquiry, InquiryReply
from exportdesk.stock.models import Port, Vehicle
from exportdesk.stock.rules import rules_for, verdict_for


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
            created_at=timezone.now(),
        )
        subject = (
            f"Inquiry about {draft.vehicle.stock_number} {draft.vehicle.title}"
            if draft.vehicle
            else "General inquiry"
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
            language=getattr(user, "language", "") or request.LANGUAGE_CODE,
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
            subject=f"Re: inquiry #{locked.pk}",
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
        language = locked.user.language if locked.user else ""
        mail_send_template(
            to=locked.email,
            template="sales/email/inquiry_reply",
            context={"inquiry": locked, "reply": reply},
            language=language,
        )
    return reply

"""Every write about accounts: registration, verification, profile, closure, security events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from exportdesk.accounts.models import CustomerProfile, SecurityEvent, User, normalise_email
from exportdesk.core.audit import audit_event_record
from exportdesk.core.http import client_ip, user_agent
from exportdesk.core.mail import mail_send_template

_VERIFY_SALT = "exportdesk.accounts.email-verification"
_EMAIL_CHANGE_SALT = "exportdesk.accounts.email-change"


# --- security events and throttling ----------------------------------------------------------


def security_event_record(
    *,
    kind: str,
    request: HttpRequest | None,
    user: User | None = None,
    email_tried: str = "",
) -> SecurityEvent:
    return SecurityEvent.objects.create(
        kind=kind,
        user=user,
        email_tried=normalise_email(email_tried or (user.email if user else "")),
        ip_address=client_ip(request) if request else None,
        user_agent=user_agent(request) if request else "",
    )


def login_throttled(*, email: str, ip: str | None) -> bool:
    """Too many recent failures for this address or from this IP refuse further attempts."""
    since = timezone.now() - timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW)
    failures = SecurityEvent.objects.filter(
        kind=SecurityEvent.Kind.LOGIN_FAILED, created_at__gte=since
    )
    if failures.filter(email_tried=normalise_email(email)).count() >= (
        settings.LOGIN_THROTTLE_PER_ACCOUNT
    ):
        return True
    return bool(ip) and failures.filter(ip_address=ip).count() >= settings.LOGIN_THROTTLE_PER_IP


def security_events_purge(*, now: datetime | None = None) -> int:
    """Delete security events older than the retention period; safe to run twice."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.SECURITY_EVENT_RETENTION_DAYS)
    deleted, _ = SecurityEvent.objects.filter(created_at__lt=cutoff).delete()
    return deleted


# --- registration and e-mail verification ----------------------------------------------------


@dataclass(frozen=True)
class Registration:
    email: str
    password: str
    name: str
    country: str
    company: str = ""
    address: str = ""
    phone: str = ""
    whatsapp: str = ""
    fax: str = ""
    language: str = ""


def customer_register(*, registration: Registration, request: HttpRequest) -> User | None:
    """Open an account and send the verification link.

    An address that is already registered gets the same response on screen; its owner gets an
    e-mail instead, so the form never reveals who has an account.
    """
    email = normalise_email(registration.email)
    with transaction.atomic():
        existing = User.objects.filter(email=email).first()
        if existing is not None:
            mail_send_template(
                to=existing.email,
                template="accounts/email/already_registered",
                context={"user": existing, "login_url": _absolute(request, "accounts:login")},
                language=existing.language,
            )
            return None
        user = User.objects.create_user(
            email=email,
            password=registration.password,
            name=registration.name.strip(),
            language=registration.language,
        )
        CustomerProfile.objects.create(
            user=user,
            country=registration.country,
            company=registration.company.strip(),
            address=registration.address.strip(),
            phone=registration.phone.strip(),
            whatsapp=registration.whatsapp.strip(),
            fax=registration.fax.strip(),
            adult_attested_at=timezone.now(),
        )
        audit_event_record(
            action="account.registered",
            actor=user,
            obj=user,
            subject_id=user.pk,
            ip_address=client_ip(request),
        )
        verification_email_send(user=user, request=request)
        return user


def verification_email_send(*, user: User, request: HttpRequest) -> None:
    token = signing.dumps({"u": user.pk, "e": user.email}, salt=_VERIFY_SALT)
    mail_send_template(
        to=user.email,
        template="accounts/email/verify",
        context={
            "user": user,
            "verify_url": _absolute(request, "accounts:verify_email", token=token),
            "valid_hours": settings.EMAIL_VERIFICATION_MAX_AGE // 3600,
        },
        language=user.language,
    )


class InvalidLink(Exception):
    """A signed link that is expired, tampered with, or no longer applies."""


def email_verify(*, token: str, request: HttpRequest) -> User:
    try:
        data = signing.loads(token, salt=_VERIFY_SALT, max_age=settings.EMAIL_VERIFICATION_MAX_AGE)
    except signing.SignatureExpired:
        raise InvalidLink("expired") from None
    except signing.BadSignature:
        raise InvalidLink("invalid") from None
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=data.get("u"), is_active=True).first()
        if user is None or user.email != data.get("e"):
            raise InvalidLink("invalid")
        if user.email_verified_at is None:
            user.email_verified_at = timezone.now()
            user.save(update_fields=["email_verified_at"])
            security_event_record(
                kind=SecurityEvent.Kind.EMAIL_VERIFIED, request=request, user=user
            )
        return user


# --- profile and e-mail change ---------------------------------------------------------------


def profile_update(
    *, user: User, name: str, profile_fields: dict[str, str], request: HttpRequest
) -> list[str]:
    """Save the profile; the audit event names the changed fields, never their values."""
    with transaction.atomic():
        profile = CustomerProfile.objects.select_for_update().get(user=user)
        changed: list[str] = []
        if user.name != name:
            user.name = name
            user.save(update_fields=["name"])
            changed.append("name")
        for field, value in profile_fields.items():
            if str(getattr(profile, field)) != value:
                setattr(profile, field, value)
                changed.append(field)
        if changed:
            profile.save()
            audit_event_record(
                action="profile.updated",
                actor=user,
                obj=profile,
                subject_id=user.pk,
                ip_address=client_ip(request),
                details={"fields": changed},
            )
        return changed


def email_change_request(*, user: User, new_email: str, request: HttpRequest) -> None:
    """Send a confirmation link to the new address; nothing changes until it is followed."""
    new_email = normalise_email(new_email)
    token = signing.dumps(
        {"u": user.pk, "old": user.email, "new": new_email}, salt=_EMAIL_CHANGE_SALT
    )
    if User.objects.filter(email=new_email).exists():
        return  # Same screen either way; the other account's owner learns nothing either.
    mail_send_template(
        to=new_email,
        template="accounts/email/confirm_email_change",
        context={
            "user": user,
            "confirm_url": _absolute(request, "accounts:email_change_confirm", token=token),
        },
        language=user.language,
    )


def email_change_confirm(*, token: str, request: HttpRequest) -> User:
    try:
        data = signing.loads(
            token, salt=_EMAIL_CHANGE_SALT, max_age=settings.EMAIL_VERIFICATION_MAX_AGE
        )
    except signing.BadSignature:
        raise InvalidLink("invalid") from None
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=data.get("u"), is_active=True).first()
        if user is None or user.email != data.get("old"):
            raise InvalidLink("invalid")
        if User.objects.filter(email=data["new"]).exists():
            raise InvalidLink("taken")
        old_email = user.email
        user.email = data["new"]
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email", "email_verified_at"])
        security_event_record(kind=SecurityEvent.Kind.EMAIL_CHANGED, request=request, user=user)
        audit_event_record(
            action="account.email_changed",
            actor=user,
            obj=user,
            subject_id=user.pk,
            ip_address=client_ip(request),
        )
        mail_send_template(
            to=old_email,
            template="accounts/email/email_changed_notice",
            context={"user": user},
            language=user.language,
        )
        return user


# --- closure ---------------------------------------------------------------------------------


def account_close(*, user: User, request: HttpRequest) -> datetime:
    """Disable sign-in at once and schedule the data for erasure under the retention rules.

    Every other session of the user stops working on its next request, because the
    authentication backend refuses inactive users.
    """
    now = timezone.now()
    erasure_due = now + timedelta(days=settings.ACCOUNT_ERASURE_DELAY_DAYS)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.closed_at is not None:
            return locked.closed_at + timedelta(days=settings.ACCOUNT_ERASURE_DELAY_DAYS)
        locked.is_active = False
        locked.closed_at = now
        locked.save(update_fields=["is_active", "closed_at"])
        security_event_record(kind=SecurityEvent.Kind.ACCOUNT_CLOSED, request=request, user=locked)
        audit_event_record(
            action="account.closed",
            actor=locked,
            obj=locked,
            subject_id=locked.pk,
            ip_address=client_ip(request),
            details={"erasure_due": erasure_due.date().isoformat()},
        )
        mail_send_template(
            to=locked.email,
            template="accounts/email/account_closed",
            context={"user": locked, "erasure_due": erasure_due},
            language=locked.language,
        )
    return erasure_due


def _absolute(request: HttpRequest, name: str, **kwargs: str) -> str:
    return request.build_absolute_uri(reverse(name, kwargs=kwargs or None))

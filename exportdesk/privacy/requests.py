"""Data-subject requests, the person's side: intake, e-mail verification, immediate effects.

Services write (atomic, audited in the same transaction, e-mails on commit); the selectors at the
end read for the views, the back office and the tasks. The privacy officer's actions on a request
(identity checks, extensions, rejections, erasure) build on these in `request_actions.py`.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core import signing
from django.core.files import File
from django.core.files.storage import Storage
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext

from exportdesk.accounts.models import User, normalise_email
from exportdesk.core.audit import AuditDraft, audit_event_record, audit_events_record
from exportdesk.core.http import client_ip
from exportdesk.core.mail import mail_send_template
from exportdesk.core.models import AuditEvent
from exportdesk.privacy.models import (
    OPTIONAL_CATEGORIES,
    ConsentRecord,
    CookieCategory,
    DataExport,
    DataRequest,
    ProcessingRestriction,
)
from exportdesk.privacy.restrictions import restriction_add, restriction_lift
from exportdesk.privacy.selectors import consent_state_for, visitor_id_from
from exportdesk.privacy.services import consent_choices_record

Kind = DataRequest.Kind
State = DataRequest.State
Scope = ProcessingRestriction.Scope

# Public-form requests: more than this many unconfirmed requests for one address in a day are
# dropped silently (the page reads the same), so the form cannot be used to flood a mailbox.
PUBLIC_PER_EMAIL_PER_DAY = 5
# More than this many public requests from one IP address in an hour are refused openly: the
# refusal says nothing about any e-mail address.
PUBLIC_PER_IP_PER_HOUR = 20
_PUBLIC_SUBMITTED = "privacy.request_submitted_public"

# Kinds a signed-in customer files with their password on My Page; objections, restrictions and
# consent withdrawals take effect at once instead (see `objection_apply`).
MYPAGE_KINDS = (Kind.ACCESS, Kind.PORTABILITY, Kind.RECTIFICATION, Kind.ERASURE)
# Kinds answered with a downloadable package, built in the background.
EXPORT_KINDS = (Kind.ACCESS, Kind.PORTABILITY)


class RequestRefused(Exception):
    """A request that cannot be accepted; the message is for the person."""


class InvalidLink(Exception):
    """A one-time or signed link that is unknown, already used, tampered with or expired."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.expired = reason == "expired"


# --- clocks and state helpers ---------------------------------------------------------------


def request_due_at(received_at: datetime) -> datetime:
    """The promised answer date: received + PRIVACY_REQUEST_DAYS (30 in the policy)."""
    return received_at + timedelta(days=settings.PRIVACY_REQUEST_DAYS)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_audit(
    *,
    data_request: DataRequest,
    action: str,
    actor: User | None,
    http_request: HttpRequest | None = None,
    **details: object,
) -> AuditEvent:
    """One audit event about a request; the subject is the account when there is one."""
    return audit_event_record(
        action=action,
        actor=actor,
        obj=data_request,
        subject_id=data_request.user_id,
        ip_address=client_ip(http_request) if http_request is not None else None,
        details={"kind": data_request.kind, "state": data_request.state, **details},
    )


def request_acknowledge(*, data_request: DataRequest) -> None:
    """Tell the person what they asked, when we will answer, and that it costs nothing."""
    mail_send_template(
        to=data_request.email,
        template="privacy/email/request_received",
        context={"data_request": data_request, "site_url": settings.SITE_URL},
        language=data_request.language,
    )


def request_complete(
    *, data_request: DataRequest, outcome: str, actor: User | None, notify: bool = True
) -> DataRequest:
    """Close a request as answered, with the outcome line the person sees; idempotent."""
    with transaction.atomic():
        locked = DataRequest.objects.select_for_update().get(pk=data_request.pk)
        if locked.state == State.COMPLETED:
            return locked
        locked.state = State.COMPLETED
        locked.outcome = outcome
        locked.completed_at = timezone.now()
        if actor is not None and actor.is_staff:
            locked.handled_by = actor
        locked.save(update_fields=["state", "outcome", "completed_at", "handled_by"])
        request_audit(data_request=locked, action="privacy.request_completed", actor=actor)
        if notify:
            mail_send_template(
                to=locked.email,
                template="privacy/email/request_completed",
                context={"data_request": locked, "site_url": settings.SITE_URL},
                language=locked.language,
            )
    return locked


# --- intake from My Page ----------------------------------------------------------------------


def request_submit_mypage(
    *, user: User, kind: str, details: str, request: HttpRequest
) -> DataRequest:
    """A signed-in customer's request; the form has already checked their password again.

    Access and portability requests start building the package at once.
    """
    if kind not in MYPAGE_KINDS:
        raise RequestRefused(gettext("This kind of request cannot be made here."))
    now = timezone.now()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        if DataRequest.objects.filter(
            user=user, kind=kind, state__in=DataRequest.OPEN_STATES
        ).exists():
            raise RequestRefused(
                gettext("You already have an open request of this kind; it is listed below.")
            )
        data_request = DataRequest.objects.create(
            kind=kind,
            state=State.RECEIVED,
            channel=DataRequest.Channel.MYPAGE,
            user=user,
            email=user.email,
            name=user.name,
            details=details.strip(),
            language=user.language or getattr(request, "LANGUAGE_CODE", ""),
            received_at=now,
            verified_at=now,
            due_at=request_due_at(now),
        )
        request_audit(
            data_request=data_request,
            action="privacy.request_submitted",
            actor=user,
            http_request=request,
            channel=data_request.channel,
        )
        request_acknowledge(data_request=data_request)
        if kind in EXPORT_KINDS:
            export_request(data_request=data_request, actor=user)
    return data_request


# --- intake from the public form ----------------------------------------------------------------


def _public_throttled_ip(ip: str | None) -> bool:
    if not ip:
        return False
    since = timezone.now() - timedelta(hours=1)
    recent = AuditEvent.objects.filter(
        action=_PUBLIC_SUBMITTED, created_at__gte=since, ip_address=ip
    )
    return recent.count() >= PUBLIC_PER_IP_PER_HOUR


def _public_throttled_email(email: str) -> bool:
    since = timezone.now() - timedelta(days=1)
    recent = DataRequest.objects.filter(
        email=email, channel=DataRequest.Channel.PUBLIC_FORM, received_at__gte=since
    )
    return recent.count() >= PUBLIC_PER_EMAIL_PER_DAY


def request_submit_public(
    *, email: str, name: str, kind: str, details: str, request: HttpRequest
) -> None:
    """A request from the public form, by someone who may or may not have an account.

    Nothing is looked up about the address: the request waits, unverified and linked to no
    account, until the one-time link mailed to that address is followed. So typing someone
    else's address yields nothing but an e-mail to its owner, and the page and the e-mail are
    the same whether or not we hold anything about the address.
    """
    if kind not in Kind.values:
        raise RequestRefused(gettext("Choose what you would like us to do."))
    ip = client_ip(request)
    if _public_throttled_ip(ip):
        raise RequestRefused(
            gettext("Many requests were sent from your network recently. Please try again later.")
        )
    email = normalise_email(email)
    if _public_throttled_email(email):
        return  # Same page as a success; the mailbox owner already has several links.
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    expires = now + timedelta(hours=settings.PRIVACY_VERIFY_HOURS)
    with transaction.atomic():
        data_request = DataRequest.objects.create(
            kind=kind,
            state=State.UNVERIFIED,
            channel=DataRequest.Channel.PUBLIC_FORM,
            email=email,
            name=name.strip(),
            details=details.strip(),
            language=getattr(request, "LANGUAGE_CODE", ""),
            received_at=now,
            token_hash=token_hash(token),
            token_expires_at=expires,
        )
        request_audit(
            data_request=data_request,
            action=_PUBLIC_SUBMITTED,
            actor=None,
            http_request=request,
        )
        mail_send_template(
            to=email,
            template="privacy/email/request_verify",
            context={
                "data_request": data_request,
                "verify_url": settings.SITE_URL
                + reverse("privacy:request_verify", kwargs={"token": token}),
                "valid_hours": settings.PRIVACY_VERIFY_HOURS,
            },
            language=data_request.language,
        )


def request_for_token(*, token: str) -> DataRequest:
    """The unverified request a link names, without changing it (for the confirmation page)."""
    data_request = DataRequest.objects.filter(
        token_hash=token_hash(token), state=State.UNVERIFIED
    ).first()
    if data_request is None:
        raise InvalidLink("invalid")
    if data_request.token_expires_at is None or data_request.token_expires_at <= timezone.now():
        raise InvalidLink("expired")
    return data_request


def request_verify(*, token: str, request: HttpRequest | None = None) -> DataRequest:
    """Follow the one-time link: the request is received from now, once; a replay fails."""
    with transaction.atomic():
        found = request_for_token(token=token)
        data_request = DataRequest.objects.select_for_update().get(pk=found.pk)
        if data_request.state != State.UNVERIFIED or data_request.token_hash != found.token_hash:
            raise InvalidLink("invalid")  # Another click won the race.
        now = timezone.now()
        data_request.state = State.RECEIVED
        data_request.verified_at = now
        # The 30 days run from when we know who is asking, as the policy says.
        data_request.received_at = now
        data_request.due_at = request_due_at(now)
        data_request.token_hash = ""
        data_request.token_expires_at = None
        data_request.user = User.objects.filter(email=data_request.email).first()
        data_request.save()
        request_audit(
            data_request=data_request,
            action="privacy.request_verified",
            actor=None,
            http_request=request,
            account_found=data_request.user_id is not None,
        )
        request_acknowledge(data_request=data_request)
        if data_request.kind in EXPORT_KINDS:
            export_request(data_request=data_request, actor=None)
    return data_request


def requests_unverified_expire(*, now: datetime | None = None) -> int:
    """Unverified requests whose link has lapsed become EXPIRED; safe to run twice."""
    now = now or timezone.now()
    with transaction.atomic():
        expiring = list(
            DataRequest.objects.select_for_update().filter(
                state=State.UNVERIFIED, token_expires_at__lte=now
            )
        )
        if not expiring:
            return 0
        DataRequest.objects.filter(pk__in=[r.pk for r in expiring]).update(
            state=State.EXPIRED, token_hash="", token_expires_at=None
        )
        audit_events_record(
            [
                AuditDraft(
                    action="privacy.request_expired",
                    obj=r,
                    subject_id=r.user_id,
                    details={"kind": r.kind, "state": State.EXPIRED},
                )
                for r in expiring
            ]
        )
    return len(expiring)


# --- immediate effects from My Page -----------------------------------------------------------

# What each one-click choice on My Page records: the request kind for the trail, the restriction
# it adds (if any) and the consent purposes it withdraws in the ledger.
EFFECTS: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "marketing": (Kind.OBJECTION, Scope.MARKETING, (CookieCategory.MARKETING,)),
    "analytics": (Kind.OBJECTION, Scope.ANALYTICS, (CookieCategory.STATISTICS,)),
    "all": (Kind.RESTRICTION, Scope.ALL, ()),
    "consent": (Kind.CONSENT_WITHDRAWAL, None, tuple(OPTIONAL_CATEGORIES)),
}


def _effect_label(effect: str) -> str:
    labels = {
        "marketing": gettext("Object to the use of my data for marketing"),
        "analytics": gettext("Object to the use of my data for analytics"),
        "all": gettext("Restrict all processing of my data"),
        "consent": gettext("Withdraw every optional consent"),
    }
    return labels[effect]


def _effect_outcome(effect: str) -> str:
    outcomes = {
        "marketing": gettext(
            "Done at once: we no longer use your data for marketing, and your marketing consent "
            "is withdrawn."
        ),
        "analytics": gettext(
            "Done at once: we no longer use your data for analytics, and your statistics consent "
            "is withdrawn."
        ),
        "all": gettext(
            "Done at once: we only store your data and use it for what the law requires, until "
            "you lift the restriction."
        ),
        "consent": gettext("Done at once: every optional consent is withdrawn."),
    }
    return outcomes[effect]


def _withdraw_consents(*, request: HttpRequest, purposes: tuple[str, ...]) -> None:
    """Append ledger rows refusing `purposes`; the person's other choices stay as they were."""
    if not purposes:
        return
    state = consent_state_for(request)
    choices = {str(c): (state.allows(c) and c not in purposes) for c in OPTIONAL_CATEGORIES}
    # The ledger row needs an identifier; a signed-in person without a visitor cookie gets one.
    visitor_id = getattr(request, "visitor_id", None) or visitor_id_from(request) or uuid.uuid4()
    consent_choices_record(
        request=request,
        visitor_id=visitor_id,
        choices=choices,
        source=ConsentRecord.Source.PRIVACY_CENTRE,
    )


def objection_apply(*, user: User, effect: str, request: HttpRequest) -> DataRequest:
    """Object, restrict or withdraw consent from My Page: in force the moment this returns.

    Recorded as a request completed at once, so the person's and the officer's trail show it.
    """
    if effect not in EFFECTS:
        raise RequestRefused(gettext("This choice is not available."))
    kind, scope, purposes = EFFECTS[effect]
    now = timezone.now()
    outcome = _effect_outcome(effect)
    with transaction.atomic():
        data_request = DataRequest.objects.create(
            kind=kind,
            state=State.COMPLETED,
            channel=DataRequest.Channel.MYPAGE,
            user=user,
            email=user.email,
            name=user.name,
            details=_effect_label(effect),
            language=user.language or getattr(request, "LANGUAGE_CODE", ""),
            received_at=now,
            verified_at=now,
            due_at=request_due_at(now),
            completed_at=now,
            outcome=outcome,
        )
        request_audit(
            data_request=data_request,
            action="privacy.request_submitted",
            actor=user,
            http_request=request,
            channel=data_request.channel,
            effect=effect,
        )
        if scope is not None:
            restriction_add(
                user=user, scope=scope, actor=user, reason=outcome, request=data_request
            )
        _withdraw_consents(request=request, purposes=purposes)
        request_audit(data_request=data_request, action="privacy.request_completed", actor=user)
    return data_request


def restriction_lift_own(*, user: User, restriction_id: int) -> ProcessingRestriction:
    """The person lifts a restriction or objection they made themselves on My Page.

    Restrictions the privacy officer recorded (for example while checking accuracy) are lifted
    by the officer, who must tell the person first (GDPR Art. 18(3)).
    """
    restriction = (
        ProcessingRestriction.objects.filter(
            pk=restriction_id,
            user=user,
            lifted_at__isnull=True,
            request__user=user,
            request__channel=DataRequest.Channel.MYPAGE,
        )
        .select_related("request")
        .first()
    )
    if restriction is None:
        raise RequestRefused(gettext("This restriction cannot be lifted here."))
    restriction_lift(restriction=restriction, actor=user)
    return restriction


# --- access and portability packages ---------------------------------------------------------

_EXPORT_SALT = "exportdesk.privacy.export-download"


def export_request(*, data_request: DataRequest, actor: User | None) -> DataExport:
    """Queue the package for an access or portability request; one build at a time per request."""
    with transaction.atomic():
        locked = DataRequest.objects.select_for_update().get(pk=data_request.pk)
        pending = locked.exports.filter(
            state__in=(DataExport.State.QUEUED, DataExport.State.BUILDING)
        ).first()
        if pending is not None:
            return pending
        export = DataExport.objects.create(request=locked, created_at=timezone.now())
        if locked.state == State.RECEIVED:
            locked.state = State.IN_PROGRESS
            locked.save(update_fields=["state"])
        request_audit(
            data_request=locked, action="privacy.export_requested", actor=actor, export=export.pk
        )
        transaction.on_commit(lambda: _export_enqueue(export.pk))
    return export


def _export_enqueue(export_id: int) -> None:
    # The task module imports these services, so it is imported when first needed.
    from exportdesk.privacy.tasks import export_build

    export_build(export_id)


def export_start(*, export_id: int) -> DataExport | None:
    """Claim a queued export for building; None when another worker has it or it is done."""
    with transaction.atomic():
        export = (
            # Only the export's row: PostgreSQL cannot lock the nullable side of the user join.
            DataExport.objects.select_for_update(of=("self",))
            .select_related("request__user")
            .filter(pk=export_id, state=DataExport.State.QUEUED)
            .first()
        )
        if export is None:
            return None
        export.state = DataExport.State.BUILDING
        export.progress = 0
        export.save(update_fields=["state", "progress"])
    return export


def export_progress_set(*, export_id: int, percent: int) -> None:
    DataExport.objects.filter(pk=export_id, state=DataExport.State.BUILDING).update(
        progress=max(0, min(99, percent))
    )


def export_finish(*, export_id: int, content: File[bytes], size: int) -> DataExport:
    """Store the package, open the download for PRIVACY_EXPORT_DAYS, tell the person, close
    the request."""
    export = DataExport.objects.select_related("request__user").get(pk=export_id)
    # A random name: the file name itself must not say whose data is inside. The file is
    # written before the transaction, and removed again if the transaction fails.
    export.file.save(f"{uuid.uuid4().hex}.zip", content, save=False)
    try:
        return _export_mark_ready(export=export, size=size)
    except BaseException:
        export.file.storage.delete(export.file.name or "")
        raise


def _export_mark_ready(*, export: DataExport, size: int) -> DataExport:
    with transaction.atomic():
        DataExport.objects.select_for_update().get(pk=export.pk)
        now = timezone.now()
        export.state = DataExport.State.READY
        export.progress = 100
        export.size = size
        export.ready_at = now
        export.expires_at = now + timedelta(days=settings.PRIVACY_EXPORT_DAYS)
        export.error = ""
        export.save()
        data_request = export.request
        request_audit(
            data_request=data_request, action="privacy.export_ready", actor=None, export=export.pk
        )
        mail_send_template(
            to=data_request.email,
            template="privacy/email/export_ready",
            context={
                "data_request": data_request,
                "export": export,
                "download_url": settings.SITE_URL + export_download_path(export),
                "needs_sign_in": data_request.user_id is not None,
            },
            language=data_request.language,
        )
        with translation.override(data_request.language or settings.LANGUAGE_CODE):
            outcome = gettext(
                "A copy of your data was prepared. Download it by %(date)s from the link we "
                "e-mailed you or from My Page."
            ) % {"date": formats.date_format(timezone.localtime(export.expires_at), "DATE_FORMAT")}
        request_complete(data_request=data_request, outcome=outcome, actor=None, notify=False)
    return export


def export_fail(*, export_id: int, error: str) -> None:
    """Record why the build failed; the request stays open for the privacy officer."""
    with transaction.atomic():
        export = DataExport.objects.select_for_update().select_related("request").get(pk=export_id)
        export.state = DataExport.State.FAILED
        export.error = error[:4000]
        export.save(update_fields=["state", "error"])
        request_audit(
            data_request=export.request,
            action="privacy.export_failed",
            actor=None,
            export=export.pk,
            error=export.error[:200],
        )


def export_download_path(export: DataExport) -> str:
    token = signing.dumps({"x": export.pk}, salt=_EXPORT_SALT)
    return reverse("privacy:export_download", kwargs={"token": token})


def export_for_token(*, token: str) -> DataExport:
    """The ready export a download link names; InvalidLink when tampered with or expired."""
    max_age = timedelta(days=settings.PRIVACY_EXPORT_DAYS)
    try:
        data = signing.loads(token, salt=_EXPORT_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise InvalidLink("expired") from None
    except signing.BadSignature:
        raise InvalidLink("invalid") from None
    export_id = data.get("x") if isinstance(data, dict) else None
    export = (
        DataExport.objects.select_related("request").filter(pk=export_id).first()
        if isinstance(export_id, int)
        else None
    )
    if export is None:
        raise InvalidLink("invalid")
    if export.state == DataExport.State.EXPIRED or (
        export.expires_at is not None and export.expires_at <= timezone.now()
    ):
        raise InvalidLink("expired")
    if export.state != DataExport.State.READY or not export.file:
        raise InvalidLink("invalid")
    return export


def export_downloadable_by(export: DataExport, user: User | AnonymousUser) -> bool:
    """A package about an account goes only to that account, signed in; a package for someone
    without an account goes to whoever holds the link mailed to their verified address."""
    owner_id = export.request.user_id
    if owner_id is None:
        return True
    return bool(user.is_authenticated and user.pk == owner_id)


def export_download_record(
    *, export: DataExport, user: User | AnonymousUser, request: HttpRequest
) -> None:
    with transaction.atomic():
        DataExport.objects.filter(pk=export.pk).update(downloads=F("downloads") + 1)
        audit_event_record(
            action="privacy.export_downloaded",
            actor=user if user.is_authenticated else None,
            obj=export,
            subject_id=export.request.user_id,
            ip_address=client_ip(request),
            details={"request": str(export.request.public_id)},
        )


def _delete_on_commit(storage: Storage, name: str) -> None:
    transaction.on_commit(lambda: storage.delete(name))


def exports_expired_delete(*, now: datetime | None = None) -> int:
    """Delete the files of packages past their download period (state EXPIRED); idempotent."""
    now = now or timezone.now()
    with transaction.atomic():
        expiring = list(
            DataExport.objects.select_for_update().filter(
                state=DataExport.State.READY, expires_at__lte=now
            )
        )
        for export in expiring:
            if export.file:
                _delete_on_commit(export.file.storage, export.file.name or "")
            export.state = DataExport.State.EXPIRED
            export.file = ""
            export.save(update_fields=["state", "file"])
        if expiring:
            audit_events_record(
                [
                    AuditDraft(
                        action="privacy.export_expired",
                        obj=export,
                        subject_id=export.request.user_id,
                    )
                    for export in expiring
                ]
            )
    return len(expiring)


# --- selectors ----------------------------------------------------------------------------------


def requests_of(user: User) -> QuerySet[DataRequest]:
    """A customer's own requests, newest first, with their exports."""
    return (
        DataRequest.objects.filter(user=user)
        .exclude(state__in=(State.UNVERIFIED, State.EXPIRED))
        .prefetch_related("exports")
        .order_by("-received_at", "-pk")
    )


def restrictions_own(user: User) -> QuerySet[ProcessingRestriction]:
    """Restrictions in force for the person, with whether they may lift each themselves."""
    return (
        ProcessingRestriction.objects.filter(user=user, lifted_at__isnull=True)
        .select_related("request")
        .order_by("-created_at", "-pk")
    )


def restriction_liftable_by_owner(restriction: ProcessingRestriction) -> bool:
    req = restriction.request
    return (
        req is not None
        and req.user_id == restriction.user_id
        and req.channel == DataRequest.Channel.MYPAGE
    )

"""Cookie choices, the cookie and privacy policy pages, the language switch, the privacy centre
on My Page, the public request form, its e-mail link, and data downloads."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from exportdesk.accounts.http import AuthenticatedRequest
from exportdesk.accounts.middleware import SESSION_LANGUAGE_KEY
from exportdesk.accounts.models import User
from exportdesk.privacy.cookies import VISITOR_COOKIE, cookie_declarations
from exportdesk.privacy.erasure import erasure_plan
from exportdesk.privacy.forms import (
    CookieChoiceForm,
    LanguageForm,
    MyPageRequestForm,
    ObjectionForm,
    PublicRequestForm,
)
from exportdesk.privacy.models import (
    OPTIONAL_CATEGORIES,
    ConsentRecord,
    CookieCategory,
    DataExport,
    DataRequest,
)
from exportdesk.privacy.notice import notice_sections
from exportdesk.privacy.requests import (
    MYPAGE_KINDS,
    InvalidLink,
    RequestRefused,
    export_download_path,
    export_download_record,
    export_downloadable_by,
    export_for_token,
    objection_apply,
    request_for_token,
    request_submit_mypage,
    request_submit_public,
    request_verify,
    requests_of,
    restriction_lift_own,
    restriction_liftable_by_owner,
    restrictions_own,
)
from exportdesk.privacy.selectors import consent_state_for, policy_current
from exportdesk.privacy.services import consent_choices_record, policy_acknowledge
from exportdesk.privacy.subjects import subject_for_user

VISITOR_COOKIE_AGE = 60 * 60 * 24 * 365


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@require_POST
def cookie_choice(request: HttpRequest) -> HttpResponse:
    form = CookieChoiceForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Your cookie choice could not be read. Please choose again."))
        return redirect("privacy:cookies")
    visitor_id = getattr(request, "visitor_id", None) or uuid.uuid4()
    choices = form.choices()
    consent_choices_record(
        request=request, visitor_id=visitor_id, choices=choices, source=_source(request)
    )
    response = HttpResponseRedirect(_back(request, reverse("core:home")))
    response.set_cookie(
        VISITOR_COOKIE,
        str(visitor_id),
        max_age=VISITOR_COOKIE_AGE,
        samesite="Lax",
        secure=request.is_secure(),
        httponly=True,
    )
    _drop_refused_cookies(request, response, choices)
    messages.success(request, _("Your cookie choices have been saved."))
    return response


def _source(request: HttpRequest) -> str:
    if request.POST.get("source") == "settings":
        return ConsentRecord.Source.SETTINGS
    return ConsentRecord.Source.BANNER


def _drop_refused_cookies(
    request: HttpRequest, response: HttpResponse, choices: dict[str, bool]
) -> None:
    """Withdrawing consent removes the cookies that depended on it."""
    for name, declaration in cookie_declarations().items():
        if declaration.category == CookieCategory.NECESSARY:
            continue
        if not choices.get(declaration.category, False) and name in request.COOKIES:
            response.delete_cookie(name)


def cookies(request: HttpRequest) -> HttpResponse:
    state = consent_state_for(request)
    by_category = {
        category: [c for c in cookie_declarations().values() if c.category == category]
        for category in CookieCategory
    }
    return render(
        request,
        "privacy/cookies.html",
        {
            "state": state,
            "choices": [(c.value, c.label, state.allows(c)) for c in OPTIONAL_CATEGORIES],
            "categories": [(c, c.label, by_category[c]) for c in CookieCategory],
        },
    )


def policy(request: HttpRequest) -> HttpResponse:
    current = policy_current()
    return render(
        request,
        "privacy/policy.html",
        {
            "policy": current,
            "paragraphs": (current.body.split("\n\n") if current else []),
            "notice_sections": notice_sections(),
        },
    )


@require_POST
@login_required
def policy_acknowledge_view(request: HttpRequest) -> HttpResponse:
    current = policy_current()
    if current is not None:
        assert isinstance(request.user, User)
        policy_acknowledge(user=request.user, policy=current, request=request)
    return HttpResponseRedirect(_back(request, reverse("core:home")))


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Keep the chosen language in the session (necessary) and the profile; the language cookie
    is functional, so it is set only when the visitor allowed functional cookies."""
    form = LanguageForm(request.POST)
    response = HttpResponseRedirect(_back(request, reverse("core:home")))
    if not form.is_valid():
        return response
    language = form.cleaned_data["language"]
    request.session[SESSION_LANGUAGE_KEY] = language
    if request.user.is_authenticated:
        User.objects.filter(pk=request.user.pk).update(language=language)
    if consent_state_for(request).allows(CookieCategory.FUNCTIONAL):
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite="Lax",
            secure=request.is_secure(),
            httponly=True,
        )
    return response


# --- the privacy centre on My Page ---------------------------------------------------------


@login_required
def mypage_privacy(request: AuthenticatedRequest) -> HttpResponse:
    """Everything a customer can do about their data, and every request they made."""
    user = request.user
    data_requests = list(requests_of(user)[:100])
    exports = {r.pk: _latest_export(r) for r in data_requests}
    restrictions = [(r, restriction_liftable_by_owner(r)) for r in restrictions_own(user)]
    active_scopes = {r.scope for r, _ in restrictions}
    records = ConsentRecord.objects.filter(user=user).order_by("-created_at", "-pk")[:50]
    return render(
        request,
        "privacy/mypage_privacy.html",
        {
            "state": consent_state_for(request),
            "records": records,
            "policy": policy_current(),
            "rows": [(r, exports[r.pk]) for r in data_requests],
            "building": any(
                e is not None and e.state in _BUILDING_STATES for e in exports.values()
            ),
            "restrictions": restrictions,
            "active_scopes": active_scopes,
            "request_days": settings.PRIVACY_REQUEST_DAYS,
        },
    )


_BUILDING_STATES = (DataExport.State.QUEUED, DataExport.State.BUILDING)


def _latest_export(data_request: DataRequest) -> DataExport | None:
    # Prefetched: the newest export of the request (the model orders newest first).
    exports = list(data_request.exports.all())
    if not exports:
        return None
    export = exports[0]
    if export.state == DataExport.State.READY:
        export.download_path = export_download_path(export)  # type: ignore[attr-defined]
    return export


@login_required
def mypage_request(request: AuthenticatedRequest, kind: str) -> HttpResponse:
    """File an access, portability, rectification or erasure request, password re-entered."""
    if kind not in MYPAGE_KINDS:
        raise Http404
    user = request.user
    form = MyPageRequestForm(request.POST or None, user=user, kind=kind)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                request_submit_mypage(
                    user=user, kind=kind, details=form.cleaned_data["details"], request=request
                )
            except RequestRefused as refused:
                form.add_error(None, str(refused))
                status = 409
            else:
                messages.success(request, _mypage_request_message(kind))
                return redirect("privacy:mypage_privacy")
    kept = erasure_plan(subject_for_user(user)).kept if kind == DataRequest.Kind.ERASURE else []
    return render(
        request,
        "privacy/mypage_request.html",
        {
            "form": form,
            "kind": kind,
            "kind_label": DataRequest.Kind(kind).label,
            "kept": kept,
            "request_days": settings.PRIVACY_REQUEST_DAYS,
        },
        status=status,
    )


def _mypage_request_message(kind: str) -> str:
    if kind in (DataRequest.Kind.ACCESS, DataRequest.Kind.PORTABILITY):
        return _(
            "We are preparing a copy of your data. It appears below when it is ready, and we "
            "e-mail you the download link."
        )
    return _("Your request has been received. We have e-mailed you a confirmation.")


@require_POST
@login_required
def mypage_objection(request: AuthenticatedRequest) -> HttpResponse:
    form = ObjectionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("That choice could not be read. Please choose again."))
        return redirect("privacy:mypage_privacy")
    data_request = objection_apply(
        user=request.user, effect=form.cleaned_data["effect"], request=request
    )
    messages.success(request, data_request.outcome)
    return redirect("privacy:mypage_privacy")


@require_POST
@login_required
def mypage_restriction_lift(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    try:
        restriction_lift_own(user=request.user, restriction_id=pk)
    except RequestRefused:
        # Another person's restriction, or one the officer set: nothing to say about it.
        raise Http404 from None
    messages.success(request, _("The restriction is lifted."))
    return redirect("privacy:mypage_privacy")


# --- the public request form, its e-mail link, and downloads -----------------------------


def public_request(request: HttpRequest) -> HttpResponse:
    form = PublicRequestForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                request_submit_public(
                    email=data["email"],
                    name=data["name"],
                    kind=data["kind"],
                    details=data["details"],
                    request=request,
                )
            except RequestRefused as refused:
                form.add_error(None, str(refused))
                status = 429
            else:
                return redirect("privacy:public_request_sent")
    return render(
        request,
        "privacy/public_request.html",
        {"form": form, "request_days": settings.PRIVACY_REQUEST_DAYS},
        status=status,
    )


def public_request_sent(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "privacy/public_request_sent.html",
        {"valid_hours": settings.PRIVACY_VERIFY_HOURS},
    )


def request_verify_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows what is confirmed; only the button (POST) confirms, so a mail scanner that
    opens links cannot confirm a request on the person's behalf."""
    try:
        if request.method == "POST":
            data_request = request_verify(token=token, request=request)
            return render(request, "privacy/request_verified.html", {"data_request": data_request})
        data_request = request_for_token(token=token)
    except InvalidLink as invalid:
        return _link_failed(request, invalid, what="verify")
    return render(request, "privacy/request_verify.html", {"data_request": data_request})


def export_download(request: HttpRequest, token: str) -> HttpResponseBase:
    try:
        export = export_for_token(token=token)
    except InvalidLink as invalid:
        return _link_failed(request, invalid, what="download")
    if not export_downloadable_by(export, request.user):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        raise Http404
    export_download_record(export=export, user=request.user, request=request)
    day = timezone.localdate(export.ready_at).isoformat() if export.ready_at else "export"
    response = FileResponse(
        export.file.open("rb"),
        content_type="application/zip",
        as_attachment=True,
        filename=f"my-data-{day}.zip",
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _link_failed(request: HttpRequest, invalid: InvalidLink, *, what: str) -> HttpResponse:
    return render(
        request,
        "privacy/link_failed.html",
        {"expired": invalid.expired, "what": what},
        status=410 if invalid.expired else 400,
    )

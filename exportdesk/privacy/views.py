"""Cookie choices, the cookie and privacy policy pages, the language switch, My Page privacy."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from exportdesk.accounts.http import AuthenticatedRequest
from exportdesk.accounts.middleware import SESSION_LANGUAGE_KEY
from exportdesk.accounts.models import User
from exportdesk.core.personal_data import (
    CATEGORY_LABELS,
    LEGAL_BASIS_LABELS,
    PURPOSE_LABELS,
    declarations,
)
from exportdesk.privacy.cookies import VISITOR_COOKIE, cookie_declarations
from exportdesk.privacy.forms import CookieChoiceForm, LanguageForm
from exportdesk.privacy.models import OPTIONAL_CATEGORIES, ConsentRecord, CookieCategory
from exportdesk.privacy.selectors import consent_state_for, policy_current
from exportdesk.privacy.services import consent_choices_record, policy_acknowledge

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
            "what_we_hold": _what_we_hold(),
        },
    )


def _what_we_hold() -> list[dict[str, Any]]:
    """A readable summary of the inventory: for each kind of record, why and how long."""
    rows = []
    for declaration in sorted(declarations().values(), key=lambda d: str(d.description)):
        if not declaration.personal:
            continue
        specs = list(declaration.personal.values())
        purposes = sorted({p for s in specs for p in s.purposes})
        rows.append(
            {
                "description": declaration.description,
                "categories": sorted({str(CATEGORY_LABELS[s.category]) for s in specs}),
                "purposes": [PURPOSE_LABELS[p] for p in purposes],
                "legal_bases": sorted({str(LEGAL_BASIS_LABELS[s.legal_basis]) for s in specs}),
                "retention": sorted({str(s.retention) for s in specs}),
            }
        )
    return rows


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


@login_required
def mypage_privacy(request: AuthenticatedRequest) -> HttpResponse:
    records = ConsentRecord.objects.filter(user=request.user).order_by("-created_at", "-pk")[:50]
    return render(
        request,
        "privacy/mypage_privacy.html",
        {"state": consent_state_for(request), "records": records, "policy": policy_current()},
    )

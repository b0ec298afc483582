"""Account pages: registration, sign-in, e-mail verification, password, profile, closure."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from exportdesk.accounts.forms import (
    CloseAccountForm,
    EmailChangeForm,
    LoginForm,
    ProfileForm,
    RegistrationForm,
)
from exportdesk.accounts.http import AuthenticatedRequest
from exportdesk.accounts.middleware import SESSION_LANGUAGE_KEY
from exportdesk.accounts.models import CustomerProfile, SecurityEvent, User
from exportdesk.accounts.services import (
    InvalidLink,
    Registration,
    account_close,
    customer_register,
    email_change_confirm,
    email_change_request,
    email_verify,
    login_throttled,
    profile_update,
    security_event_record,
    verification_email_send,
)
from exportdesk.core.http import client_ip
from exportdesk.core.mail import mail_send_template


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


# --- registration ----------------------------------------------------------------------------


def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("accounts:mypage")
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        customer_register(
            registration=Registration(
                email=data["email"],
                password=data["password"],
                name=data["name"],
                country=data["country"],
                company=data["company"],
                address=data["address"],
                phone=data["phone"],
                whatsapp=data["whatsapp"],
                fax=data["fax"],
                language=request.LANGUAGE_CODE,
            ),
            request=request,
        )
        return redirect("accounts:register_done")
    return render(request, "accounts/register.html", {"form": form}, status=_status(request, form))


def register_done(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/register_done.html")


def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    try:
        email_verify(token=token, request=request)
    except InvalidLink as error:
        expired = str(error) == "expired"
        return render(request, "accounts/verify_failed.html", {"expired": expired}, status=400)
    messages.success(request, _("Thank you, your e-mail address is verified. You can sign in now."))
    return redirect("accounts:login")


# --- sign-in ---------------------------------------------------------------------------------


def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        response = _login_attempt(request, form)
        if response is not None:
            return response
    return render(
        request,
        "accounts/login.html",
        {"form": form, "next": request.POST.get("next") or request.GET.get("next", "")},
        status=_status(request, form),
    )


def _login_attempt(request: HttpRequest, form: LoginForm) -> HttpResponse | None:
    email = form.cleaned_data["email"]
    if login_throttled(email=email, ip=client_ip(request)):
        security_event_record(
            kind=SecurityEvent.Kind.LOGIN_THROTTLED, request=request, email_tried=email
        )
        minutes = settings.LOGIN_THROTTLE_WINDOW // 60
        form.add_error(
            None,
            ngettext(
                "Too many failed sign-in attempts. For your security, please wait %(minutes)d "
                "minute and try again, or reset your password.",
                "Too many failed sign-in attempts. For your security, please wait %(minutes)d "
                "minutes and try again, or reset your password.",
                minutes,
            )
            % {"minutes": minutes},
        )
        return None
    user = authenticate(request, email=email, password=form.cleaned_data["password"])
    if user is None:
        security_event_record(
            kind=SecurityEvent.Kind.LOGIN_FAILED, request=request, email_tried=email
        )
        form.add_error(None, _("The e-mail address or password is not correct."))
        return None
    assert isinstance(user, User)
    if user.email_verified_at is None and not user.is_staff:
        verification_email_send(user=user, request=request)
        form.add_error(
            None,
            _(
                "Please verify your e-mail address first: follow the link we sent you. "
                "We have just sent a new one."
            ),
        )
        return None
    login(request, user)
    security_event_record(kind=SecurityEvent.Kind.LOGIN, request=request, user=user)
    chosen_language = request.session.get(SESSION_LANGUAGE_KEY)
    if chosen_language and chosen_language != user.language:
        User.objects.filter(pk=user.pk).update(language=chosen_language)
    default = reverse("backoffice:home") if user.is_staff else reverse("accounts:mypage")
    return HttpResponseRedirect(_safe_next(request, default))


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        security_event_record(kind=SecurityEvent.Kind.LOGOUT, request=request, user=request.user)
    logout(request)
    messages.info(request, _("You have signed out."))
    return redirect(settings.LOGOUT_REDIRECT_URL)


# --- passwords -------------------------------------------------------------------------------


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        user = form.user
        security_event_record(
            kind=SecurityEvent.Kind.PASSWORD_CHANGED, request=self.request, user=user
        )
        mail_send_template(
            to=user.email,
            template="accounts/email/password_changed",
            context={"user": user},
            language=user.language,
        )
        messages.success(self.request, _("Your password has been changed."))
        return response


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def get_extra_email_context(self) -> dict[str, int]:
        return {"valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600}

    def form_valid(self, form: Any) -> HttpResponse:
        self.extra_email_context = self.get_extra_email_context()
        security_event_record(
            kind=SecurityEvent.Kind.PASSWORD_RESET_REQUESTED,
            request=self.request,
            email_tried=form.cleaned_data["email"],
        )
        return super().form_valid(form)


def password_reset_done(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/password_reset_done.html",
        {"valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600},
    )


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        security_event_record(
            kind=SecurityEvent.Kind.PASSWORD_RESET, request=self.request, user=form.user
        )
        return response


# --- My Page ---------------------------------------------------------------------------------


@login_required
def mypage(request: AuthenticatedRequest) -> HttpResponse:
    return render(request, "accounts/mypage.html")


def _own_profile(user: Any) -> CustomerProfile | None:
    return CustomerProfile.objects.filter(user=user).first()


# Sections of My Page that later parts of Export Desk fill; they exist now so links never 404.
MYPAGE_SECTIONS: dict[str, str] = {}


@login_required
def mypage_section(request: AuthenticatedRequest, section: str) -> HttpResponse:
    title = MYPAGE_SECTIONS.get(section)
    if title is None:
        raise Http404
    return render(request, "accounts/mypage_section.html", {"title": title, "section": section})


@login_required
def profile(request: AuthenticatedRequest) -> HttpResponse:
    return render(request, "accounts/profile.html", {"profile": _own_profile(request.user)})


@login_required
def profile_edit(request: AuthenticatedRequest) -> HttpResponse:
    profile_obj = _own_profile(request.user)
    if profile_obj is None:
        messages.info(request, _("Staff accounts have no customer profile."))
        return redirect("accounts:profile")
    form = ProfileForm(
        request.POST or None, instance=profile_obj, initial={"name": request.user.name}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        changed = profile_update(
            user=request.user,
            name=data["name"],
            profile_fields={f: str(data[f]) for f in ProfileForm.Meta.fields},
            request=request,
        )
        if changed:
            messages.success(request, _("Your profile has been saved."))
        else:
            messages.info(request, _("Nothing was changed."))
        return redirect("accounts:profile")
    return render(
        request, "accounts/profile_edit.html", {"form": form}, status=_status(request, form)
    )


@login_required
def email_change(request: AuthenticatedRequest) -> HttpResponse:
    form = EmailChangeForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        email_change_request(
            user=request.user, new_email=form.cleaned_data["new_email"], request=request
        )
        messages.info(
            request,
            _(
                "We have sent a confirmation link to the new address. Your e-mail changes when you follow it."
            ),
        )
        return redirect("accounts:profile")
    return render(
        request, "accounts/email_change.html", {"form": form}, status=_status(request, form)
    )


def email_change_confirm_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        email_change_confirm(token=token, request=request)
    except InvalidLink:
        return render(request, "accounts/verify_failed.html", {"expired": False}, status=400)
    messages.success(request, _("Your e-mail address has been changed."))
    return redirect("accounts:profile" if request.user.is_authenticated else "accounts:login")


@login_required
def close_account(request: AuthenticatedRequest) -> HttpResponse:
    form = CloseAccountForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        erasure_due = account_close(user=request.user, request=request)
        logout(request)
        return render(request, "accounts/closed.html", {"erasure_due": erasure_due})
    return render(
        request,
        "accounts/close.html",
        {"form": form, "erasure_days": settings.ACCOUNT_ERASURE_DELAY_DAYS},
        status=_status(request, form),
    )


def _status(request: HttpRequest, form: Any) -> int:
    """Re-rendered forms with errors answer 400 so scripts and the API see the refusal too."""
    return 400 if request.method == "POST" and form.errors else 200

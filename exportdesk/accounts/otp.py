"""The staff second factor (TOTP) and the session marker that says it was passed."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

import pyotp
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from exportdesk.accounts.models import StaffTOTPDevice, User
from exportdesk.core.qr import qr_svg

_SESSION_KEY = "staff_otp_verified_at"
_STEP_SECONDS = 30


def otp_verified(request: HttpRequest) -> bool:
    verified_at = request.session.get(_SESSION_KEY)
    if not isinstance(verified_at, int | float):
        return False
    return time.time() - verified_at < settings.STAFF_OTP_SESSION_SECONDS


def otp_mark_verified(request: HttpRequest) -> None:
    request.session[_SESSION_KEY] = int(time.time())


def totp_device_for(user: User) -> StaffTOTPDevice:
    device, _ = StaffTOTPDevice.objects.get_or_create(
        user=user, defaults={"secret": pyotp.random_base32()}
    )
    return device


def totp_provisioning_uri(device: StaffTOTPDevice) -> str:
    return pyotp.TOTP(device.secret).provisioning_uri(
        name=device.user.email, issuer_name=settings.SITE_NAME
    )


def totp_qr_svg(uri: str) -> str:
    return qr_svg(uri)


def totp_check(*, device: StaffTOTPDevice, code: str, at: float | None = None) -> bool:
    """Accept the current code or its neighbours (clock drift), each step only once."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return False
    now = time.time() if at is None else at
    totp = pyotp.TOTP(device.secret)
    current_step = int(now // _STEP_SECONDS)
    with transaction.atomic():
        locked = StaffTOTPDevice.objects.select_for_update().get(pk=device.pk)
        for step in (current_step - 1, current_step, current_step + 1):
            if step <= locked.last_used_step:
                continue
            if totp.verify(code, for_time=step * _STEP_SECONDS, valid_window=0):
                locked.last_used_step = step
                locked.save(update_fields=["last_used_step"])
                device.last_used_step = step
                return True
    return False


def staff_required(
    permission: str = "accounts.access_backoffice",
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Back-office views: signed-in staff with the permission, past the second factor."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user.is_staff:
                raise PermissionDenied
            if not otp_verified(request):
                return redirect_to_login(request.get_full_path(), reverse("backoffice:otp_verify"))
            if not user.has_perm(permission):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator

"""The destination a visitor or customer chose: port, shipping method and display currency."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse

from exportdesk.stock.favourites import functional_allowed
from exportdesk.stock.models import CustomerDestination, Port, ShippingMethod
from exportdesk.stock.pricing import DISPLAY_CURRENCIES

DESTINATION_COOKIE = "ed_destination"
DESTINATION_COOKIE_AGE = 90 * 24 * 60 * 60
_SESSION_KEY = "destination"


@dataclass(frozen=True)
class Destination:
    port: Port | None
    method: str = ShippingMethod.RORO
    currency: str = "USD"

    @property
    def country(self) -> str:
        return self.port.country.code if self.port else ""


def _parse(raw: str) -> tuple[str, str, str] | None:
    parts = raw.split(":")
    if len(parts) != 3:
        return None
    port_id, method, currency = parts
    if not port_id.isdigit() or method not in ShippingMethod.values:
        return None
    if currency not in DISPLAY_CURRENCIES:
        return None
    return port_id, method, currency


def destination_for(request: HttpRequest) -> Destination:
    if request.user.is_authenticated:
        saved = CustomerDestination.objects.select_related("port").filter(user=request.user).first()
        if saved is not None:
            return Destination(saved.port, saved.method, saved.currency)
    raw = request.session.get(_SESSION_KEY) or (
        request.COOKIES.get(DESTINATION_COOKIE, "") if functional_allowed(request) else ""
    )
    parsed = _parse(raw) if raw else None
    if parsed is None:
        return Destination(None)
    port = Port.objects.filter(pk=int(parsed[0])).first()
    return Destination(port, parsed[1], parsed[2]) if port else Destination(None)


def destination_remember(
    *, request: HttpRequest, response: HttpResponse, destination: Destination
) -> None:
    if destination.port is None:
        return
    if request.user.is_authenticated:
        CustomerDestination.objects.update_or_create(
            user=request.user,
            defaults={
                "port": destination.port,
                "method": destination.method,
                "currency": destination.currency,
            },
        )
        return
    value = f"{destination.port.pk}:{destination.method}:{destination.currency}"
    if functional_allowed(request):
        response.set_cookie(
            DESTINATION_COOKIE,
            value,
            max_age=DESTINATION_COOKIE_AGE,
            samesite="Lax",
            secure=request.is_secure(),
            httponly=True,
        )
        request.session.pop(_SESSION_KEY, None)
    else:
        request.session[_SESSION_KEY] = value

"""Favourites: in the database for members; for visitors in a 5-day cookie (functional consent)
or, without that consent, only for the session."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core import signing
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from exportdesk.accounts.models import User
from exportdesk.privacy.models import CookieCategory
from exportdesk.privacy.selectors import consent_state_for
from exportdesk.stock.models import Favourite, Vehicle

FAVOURITES_COOKIE = "myfavlist"
FAVOURITES_COOKIE_AGE = 5 * 24 * 60 * 60  # the exporter's policy: 5 days
_SESSION_KEY = "favourites"
_SALT = "exportdesk.stock.favourites"
MAX_VISITOR_FAVOURITES = 100


def functional_allowed(request: HttpRequest) -> bool:
    return consent_state_for(request).allows(CookieCategory.FUNCTIONAL)


def visitor_favourite_ids(request: HttpRequest) -> list[int]:
    """The visitor's list from the signed cookie, else the session; a tampered cookie counts as
    empty (it is signed, so nobody can plant ids or oversized lists in it)."""
    raw = request.COOKIES.get(FAVOURITES_COOKIE)
    if raw and functional_allowed(request):
        try:
            ids = signing.loads(raw, salt=_SALT, max_age=FAVOURITES_COOKIE_AGE)
        except signing.BadSignature:
            ids = []
        if isinstance(ids, list):
            return [i for i in ids if isinstance(i, int)][:MAX_VISITOR_FAVOURITES]
        return []
    stored = request.session.get(_SESSION_KEY, [])
    return [i for i in stored if isinstance(i, int)][:MAX_VISITOR_FAVOURITES]


def _store_visitor(request: HttpRequest, response: HttpResponse, ids: list[int]) -> None:
    ids = ids[:MAX_VISITOR_FAVOURITES]
    if functional_allowed(request):
        response.set_cookie(
            FAVOURITES_COOKIE,
            signing.dumps(ids, salt=_SALT),
            max_age=FAVOURITES_COOKIE_AGE,
            samesite="Lax",
            secure=request.is_secure(),
            httponly=True,
        )
        request.session.pop(_SESSION_KEY, None)
    else:
        request.session[_SESSION_KEY] = ids


def favourite_ids(request: HttpRequest) -> set[int]:
    if request.user.is_authenticated:
        return set(Favourite.objects.filter(user=request.user).values_list("vehicle_id", flat=True))
    return set(visitor_favourite_ids(request))


def favourite_toggle(*, request: HttpRequest, response: HttpResponse, vehicle: Vehicle) -> bool:
    """Add or remove one vehicle; returns whether it is a favourite now."""
    if request.user.is_authenticated:
        with transaction.atomic():
            deleted, _ = Favourite.objects.filter(user=request.user, vehicle=vehicle).delete()
            if deleted:
                return False
            Favourite.objects.create(
                user=request.user,
                vehicle=vehicle,
                price_when_added_jpy=vehicle.fob_price_jpy,
                status_when_added=vehicle.status,
            )
            return True
    ids = visitor_favourite_ids(request)
    now_favourite = vehicle.pk not in ids
    ids = [vehicle.pk, *ids] if now_favourite else [i for i in ids if i != vehicle.pk]
    _store_visitor(request, response, ids)
    return now_favourite


def favourites_merge(*, user: User, vehicle_ids: list[int]) -> int:
    """Add a visitor's favourites to the account they signed in to; returns how many were new."""
    if not vehicle_ids:
        return 0
    existing = set(Favourite.objects.filter(user=user).values_list("vehicle_id", flat=True))
    vehicles = Vehicle.objects.filter(pk__in=[i for i in vehicle_ids if i not in existing])
    created = Favourite.objects.bulk_create(
        [
            Favourite(
                user=user,
                vehicle=v,
                price_when_added_jpy=v.fob_price_jpy,
                status_when_added=v.status,
            )
            for v in vehicles
        ],
        ignore_conflicts=True,
    )
    return len(created)


def merge_on_login(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    """Signal receiver: accounts knows nothing of stock, so the merge hooks into sign-in here."""
    if request is None or user.is_staff:
        return
    favourites_merge(user=user, vehicle_ids=visitor_favourite_ids(request))
    request.session.pop(_SESSION_KEY, None)
    # The list now lives in the account; the cookie must not follow the next person who signs
    # in on this browser. The middleware below deletes it from this response.
    request._drop_favourites_cookie = True  # type: ignore[attr-defined]


def favourites_cookie_cleanup(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if getattr(request, "_drop_favourites_cookie", False):
            response.delete_cookie(FAVOURITES_COOKIE, samesite="Lax")
        return response

    return middleware

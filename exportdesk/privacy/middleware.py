from __future__ import annotations

import logging
from collections.abc import Callable
from http.cookies import Morsel

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from exportdesk.privacy.cookies import cookie_declarations
from exportdesk.privacy.selectors import consent_state_for, visitor_id_from

logger = logging.getLogger(__name__)


class CookieViolation(Exception):
    """A response set a cookie the registry does not declare, or one the visitor refused."""


def visitor_and_consent(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        request.visitor_id = visitor_id_from(request)  # type: ignore[attr-defined]
        return get_response(request)

    return middleware


def _is_deletion(morsel: Morsel) -> bool:
    return morsel["max-age"] == 0 or morsel["max-age"] == "0" or "1970" in str(morsel["expires"])


def cookie_guard(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Enforce the cookie registry on every response.

    Strict mode (DEBUG and tests) raises, so a test fails the moment a page sets an undeclared
    cookie or a non-necessary one without consent; production drops the cookie and logs.
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        declared = cookie_declarations()
        for name, morsel in list(response.cookies.items()):
            if _is_deletion(morsel):
                continue
            problem = _problem(request, name, declared)
            if problem is None:
                continue
            if settings.COOKIE_GUARD_STRICT:
                raise CookieViolation(problem)
            logger.error("cookie guard dropped a cookie: %s", problem)
            del response.cookies[name]
        return response

    return middleware


def _problem(request: HttpRequest, name: str, declared: dict) -> str | None:
    declaration = declared.get(name)
    if declaration is None:
        return f"cookie {name!r} is not declared in the cookie registry"
    if not consent_state_for(request).allows(declaration.category):
        return f"cookie {name!r} ({declaration.category}) set without the visitor's consent"
    return None

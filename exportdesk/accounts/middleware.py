from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

SESSION_LANGUAGE_KEY = "language"
_SUPPORTED = {code for code, _ in settings.LANGUAGES}


def user_language(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """The language a person chose beats the browser's: session first, then their profile.

    Django's LocaleMiddleware already handled the language cookie (functional, consent only)
    and Accept-Language; this adds the choices that need no optional cookie.
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        chosen = request.session.get(SESSION_LANGUAGE_KEY)
        if chosen not in _SUPPORTED and request.user.is_authenticated:
            chosen = request.user.language
        if chosen in _SUPPORTED:
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        return get_response(request)

    return middleware

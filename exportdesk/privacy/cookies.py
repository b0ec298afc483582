"""Every cookie the site sets, declared once; the cookie policy page is rendered from this."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from exportdesk.privacy.models import CookieCategory

VISITOR_COOKIE = "ed_visitor"


@dataclass(frozen=True)
class CookieDeclaration:
    name: str
    provider: str
    purpose: Promise
    category: CookieCategory
    kind: Promise  # first-party HTTP cookie, etc.
    duration: Promise


_FIRST_PARTY = _("First-party HTTP cookie")


_extra: dict[str, CookieDeclaration] = {}


def declare_cookie(declaration: CookieDeclaration) -> None:
    """Apps above privacy declare their cookies here (from their privacy.py)."""
    _extra[declaration.name] = declaration


def _registry() -> dict[str, CookieDeclaration]:
    return {
        **{
            c.name: c
            for c in (
                CookieDeclaration(
                    settings.SESSION_COOKIE_NAME,
                    settings.SITE_NAME,
                    _("Keeps you signed in and remembers this visit's choices."),
                    CookieCategory.NECESSARY,
                    _FIRST_PARTY,
                    _("2 weeks, or until you sign out"),
                ),
                CookieDeclaration(
                    settings.CSRF_COOKIE_NAME,
                    settings.SITE_NAME,
                    _("Protects forms against cross-site request forgery."),
                    CookieCategory.NECESSARY,
                    _FIRST_PARTY,
                    _("1 year"),
                ),
                CookieDeclaration(
                    VISITOR_COOKIE,
                    settings.SITE_NAME,
                    _(
                        "A random identifier that records your cookie choices so we can respect them."
                    ),
                    CookieCategory.NECESSARY,
                    _FIRST_PARTY,
                    _("1 year"),
                ),
                CookieDeclaration(
                    settings.LANGUAGE_COOKIE_NAME,
                    settings.SITE_NAME,
                    _("Remembers the language you chose for your next visits."),
                    CookieCategory.FUNCTIONAL,
                    _FIRST_PARTY,
                    _("1 year"),
                ),
            )
        },
        **_extra,
    }


def cookie_declarations() -> dict[str, CookieDeclaration]:
    return _registry()

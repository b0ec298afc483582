from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from exportdesk.privacy.models import OPTIONAL_CATEGORIES
from exportdesk.privacy.selectors import (
    consent_state_for,
    policy_current,
    policy_needs_acknowledgement,
)


def privacy(request: HttpRequest) -> dict[str, Any]:
    """Cookie banner and policy-update notice state; evaluated only when a template asks."""

    def _policy_notice() -> Any:
        if not request.user.is_authenticated:
            return None  # only members acknowledge a new policy: visitors cost no query
        policy = policy_current()
        return policy if policy_needs_acknowledgement(request.user, policy) else None

    return {
        "consent": SimpleLazyObject(lambda: consent_state_for(request)),
        "optional_cookie_categories": OPTIONAL_CATEGORIES,
        "policy_update": SimpleLazyObject(_policy_notice),
    }

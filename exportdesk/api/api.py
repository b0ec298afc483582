"""The JSON API: thin routers over the apps' services, signed in with the site's session.

Session authentication checks the CSRF token on every unsafe method, so a page of another site
cannot make a signed-in customer's browser call it. Each router lives in this app and calls the
same services as the pages, so a rule enforced there holds here too.
"""

from __future__ import annotations

from ninja import NinjaAPI
from ninja.security import django_auth

from exportdesk.api.bids import router as bids_router

api = NinjaAPI(
    title="Export Desk API",
    version="1",
    auth=django_auth,
    urls_namespace="api",
    # The schema is served at openapi.json; the interactive page would load scripts from a CDN,
    # which the content security policy (rightly) refuses.
    docs_url=None,
)

api.add_router("/bids/", bids_router)

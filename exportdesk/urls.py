from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("backoffice/admin/", admin.site.urls),
    path("backoffice/stock/", include("exportdesk.stock.backoffice_urls")),
    path("backoffice/sales/", include("exportdesk.sales.backoffice_urls")),
    path("backoffice/payments/", include("exportdesk.payments.backoffice_urls")),
    path("backoffice/auctions/", include("exportdesk.auctions.backoffice_urls")),
    path("backoffice/shipping/", include("exportdesk.shipping.backoffice_urls")),
    path("backoffice/privacy/", include("exportdesk.privacy.backoffice_urls")),
    path("backoffice/privacy/breaches/", include("exportdesk.privacy.breach_urls")),
    path("backoffice/", include("exportdesk.accounts.backoffice_urls")),
    path("", include("exportdesk.privacy.urls")),
    # Customer pages at mypage/privacy/... and back-office pages at backoffice/privacy/...
    path("", include("exportdesk.privacy.provision_urls")),
    path("", include("exportdesk.messaging.urls")),
    path("", include("exportdesk.stock.urls")),
    path("", include("exportdesk.sales.urls")),
    path("", include("exportdesk.payments.urls")),
    path("", include("exportdesk.auctions.urls")),
    path("", include("exportdesk.shipping.urls")),
    # Customer downloads at mypage/... and staff pages at backoffice/shipping/documents/...
    path("", include("exportdesk.shipping.document_urls")),
    path("", include("exportdesk.api.urls")),
    path("", include("exportdesk.accounts.urls")),
    path("", include("exportdesk.core.urls")),
]

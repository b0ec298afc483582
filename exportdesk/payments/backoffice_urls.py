from django.urls import path

from exportdesk.payments import backoffice

app_name = "payments_backoffice"

urlpatterns = [
    path("", backoffice.queue, name="queue"),
    path("statements/import/", backoffice.statement_upload, name="statement_upload"),
    path("entries/<int:pk>/", backoffice.transaction_detail, name="transaction"),
    path("entries/<int:pk>/ignore/", backoffice.transaction_ignore_view, name="transaction_ignore"),
    path(
        "allocations/<int:pk>/decide/", backoffice.allocation_decide_view, name="allocation_decide"
    ),
    path(
        "allocations/<int:pk>/reverse/",
        backoffice.allocation_reverse_view,
        name="allocation_reverse",
    ),
    path("deposits/<int:pk>/", backoffice.deposit_detail, name="deposit"),
    path("deposits/<int:pk>/<slug:action>/", backoffice.deposit_action, name="deposit_action"),
    path("customers/<int:pk>/ledger/", backoffice.customer_ledger, name="customer_ledger"),
    path("settings/", backoffice.payment_settings, name="settings"),
]

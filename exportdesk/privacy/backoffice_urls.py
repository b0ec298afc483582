"""URLs for data-subject requests, erasure previews and dispute holds (privacy officer)."""

from django.urls import path

from exportdesk.privacy import backoffice

app_name = "privacy_backoffice"

urlpatterns = [
    path("", backoffice.queue, name="queue"),
    path("requests/record/", backoffice.request_record, name="request_record"),
    path("requests/<int:pk>/", backoffice.request_detail, name="request_detail"),
    path("requests/<int:pk>/<slug:action>/", backoffice.request_action, name="request_action"),
    path("customers/<int:pk>/", backoffice.customer_privacy, name="customer"),
    path("holds/<int:pk>/close/", backoffice.hold_close, name="hold_close"),
]

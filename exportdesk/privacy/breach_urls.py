"""URLs for the breach register (privacy officer)."""

from django.urls import path

from exportdesk.privacy import breach_views

app_name = "breaches"

urlpatterns = [
    path("", breach_views.breach_list, name="list"),
    path("new/", breach_views.breach_create, name="create"),
    path("<str:reference>/", breach_views.breach_detail, name="detail"),
    path("<str:reference>/edit/", breach_views.breach_edit, name="edit"),
    path("<str:reference>/reports/", breach_views.breach_report_add, name="report_add"),
    path("<str:reference>/notices/", breach_views.breach_notices, name="notices_send"),
]

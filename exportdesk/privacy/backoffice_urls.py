"""URLs for data-subject requests, erasure previews and dispute holds (privacy officer)."""

from django.urls import URLPattern

app_name = "privacy_backoffice"

urlpatterns: list[URLPattern] = []

"""URLs for the recipient registry, records of provision and receipt (staff) and the customer's own records."""

from django.urls import URLPattern

app_name = "provision"

urlpatterns: list[URLPattern] = []

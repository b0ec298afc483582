"""URLs for export documents: staff upload and rules, customer downloads."""

from django.urls import URLPattern

app_name = "shipping_documents"

urlpatterns: list[URLPattern] = []

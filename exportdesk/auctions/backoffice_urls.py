"""URLs for auction lots, their import, and bid processing (sales staff)."""

from django.urls import URLPattern

app_name = "auctions_backoffice"

urlpatterns: list[URLPattern] = []

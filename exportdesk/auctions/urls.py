"""URLs for auction lots, bid requests and Bid History (customers)."""

from django.urls import URLPattern

app_name = "auctions"

urlpatterns: list[URLPattern] = []

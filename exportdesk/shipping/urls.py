"""URLs for the address book, consignee choice and changes, and the shipment timeline (customers)."""

from django.urls import URLPattern

app_name = "shipping"

urlpatterns: list[URLPattern] = []

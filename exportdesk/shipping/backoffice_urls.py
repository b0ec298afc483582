"""URLs for the logistics board, shipments, inspections and couriers (logistics staff)."""

from django.urls import URLPattern

app_name = "shipping_backoffice"

urlpatterns: list[URLPattern] = []

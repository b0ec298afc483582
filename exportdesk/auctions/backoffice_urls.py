"""URLs for auction lots, their import, and bid processing (sales staff)."""

from django.urls import path

from exportdesk.auctions import backoffice

app_name = "auctions_backoffice"

urlpatterns = [
    path("", backoffice.queue, name="queue"),
    path("lots/", backoffice.lot_list, name="lot_list"),
    path("lots/new/", backoffice.lot_create, name="lot_create"),
    path("lots/import/", backoffice.lot_import, name="lot_import"),
    path("lots/<int:pk>/", backoffice.lot_edit, name="lot_edit"),
    path("bids/<int:pk>/", backoffice.bid_detail, name="bid_detail"),
    path("bids/<int:pk>/processed/", backoffice.bid_processed, name="bid_processed"),
    path("bids/<int:pk>/won/", backoffice.bid_won, name="bid_won"),
    path("bids/<int:pk>/lost/", backoffice.bid_lost, name="bid_lost"),
    path("settings/", backoffice.settings_edit, name="settings"),
]

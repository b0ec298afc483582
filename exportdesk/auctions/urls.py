"""URLs for auction lots, bid requests and Bid History (customers)."""

from django.urls import path

from exportdesk.auctions import views

app_name = "auctions"

urlpatterns = [
    path("auctions/", views.lot_list, name="lot_list"),
    path("auctions/lots/<int:pk>/", views.lot_detail, name="lot_detail"),
    path("auctions/lots/<int:pk>/sheet/<slug:size>/", views.lot_sheet, name="lot_sheet"),
    path("mypage/bids/", views.bid_history, name="bid_history"),
    path("mypage/bids/<int:pk>/edit/", views.bid_edit, name="bid_edit"),
    path("mypage/bids/<int:pk>/withdraw/", views.bid_withdraw, name="bid_withdraw"),
]

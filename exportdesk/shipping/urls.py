"""URLs for the address book, consignee choice and changes, and the shipment timeline (customers),
and the logistics officer's consignee-change approvals (full paths under backoffice/shipping/)."""

from django.urls import URLPattern, path

from exportdesk.shipping import views

app_name = "shipping"

urlpatterns: list[URLPattern] = [
    path("mypage/address-book/", views.address_book, name="address_book"),
    path("mypage/address-book/add/", views.party_add, name="party_add"),
    path("mypage/address-book/<int:pk>/edit/", views.party_edit, name="party_edit"),
    path("mypage/address-book/<int:pk>/remove/", views.party_remove, name="party_remove"),
    path("mypage/shipments/", views.my_shipments, name="my_shipments"),
    path("mypage/shipments/notices/", views.notices, name="notices"),
    path("mypage/orders/<str:number>/shipping/", views.order_page, name="order_shipping"),
    path(
        "mypage/orders/<str:number>/shipping/changes/<int:pk>/cancel/",
        views.change_cancel,
        name="change_cancel",
    ),
    path("shipping/consignee-change/<str:token>/", views.change_confirm, name="change_confirm"),
    path("backoffice/shipping/consignee-changes/", views.change_queue, name="change_queue"),
    path(
        "backoffice/shipping/consignee-changes/<int:pk>/",
        views.change_detail,
        name="change_detail",
    ),
]

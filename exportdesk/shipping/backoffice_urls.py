"""URLs for the logistics board, shipments, inspections and couriers (logistics staff)."""

from django.urls import path

from exportdesk.shipping import backoffice

app_name = "shipping_backoffice"

urlpatterns = [
    path("", backoffice.board, name="board"),
    path("shipments/new/", backoffice.shipment_new, name="shipment_new"),
    path("shipments/<str:reference>/", backoffice.shipment_detail, name="shipment"),
    path("shipments/<str:reference>/edit/", backoffice.shipment_edit, name="shipment_edit"),
    path(
        "shipments/<str:reference>/orders/",
        backoffice.shipment_order_add_view,
        name="shipment_order_add",
    ),
    path(
        "shipments/<str:reference>/orders/<str:number>/remove/",
        backoffice.shipment_order_remove_view,
        name="shipment_order_remove",
    ),
    path("shipments/<str:reference>/book/", backoffice.shipment_book_view, name="shipment_book"),
    path("shipments/<str:reference>/steps/", backoffice.shipment_step, name="shipment_step"),
    path("orders/<str:number>/", backoffice.order_detail, name="order"),
    path("orders/<str:number>/steps/", backoffice.order_step, name="order_step"),
    path("orders/<str:number>/inspections/new/", backoffice.inspection_new, name="inspection_new"),
    path("orders/<str:number>/couriers/new/", backoffice.courier_new, name="courier_new"),
    path("inspections/<int:pk>/result/", backoffice.inspection_result, name="inspection_result"),
    path(
        "inspections/<int:pk>/certificate/",
        backoffice.inspection_certificate,
        name="inspection_certificate",
    ),
    path("couriers/<int:pk>/delivered/", backoffice.courier_delivered, name="courier_delivered"),
]

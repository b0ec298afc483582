"""URLs for export documents: staff upload and rules, customer downloads."""

from django.urls import path

from exportdesk.shipping import document_views as views

app_name = "shipping_documents"

urlpatterns = [
    # Customers
    path("mypage/documents/", views.my_documents, name="my_documents"),
    path("mypage/documents/<uuid:public_id>/", views.download, name="download"),
    # Logistics
    path("backoffice/shipping/documents/", views.order_list, name="order_list"),
    path("backoffice/shipping/documents/rules/", views.rules, name="rules"),
    path("backoffice/shipping/documents/orders/<str:number>/", views.order_detail, name="order"),
    path(
        "backoffice/shipping/documents/orders/<str:number>/upload/",
        views.upload,
        name="upload",
    ),
    path(
        "backoffice/shipping/documents/<uuid:public_id>/download/",
        views.staff_download,
        name="staff_download",
    ),
    path("backoffice/shipping/documents/<uuid:public_id>/replace/", views.replace, name="replace"),
    path("backoffice/shipping/documents/<uuid:public_id>/delete/", views.delete, name="delete"),
]

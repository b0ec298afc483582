"""URLs for the recipient registry, records of provision and receipt (staff) and the customer's own records."""

from django.urls import path

from exportdesk.privacy import provision_views as views

app_name = "provision"

urlpatterns = [
    path("mypage/privacy/disclosures/", views.my_records, name="my_records"),
    path("backoffice/privacy/recipients/", views.recipient_list, name="recipient_list"),
    path("backoffice/privacy/recipients/new/", views.recipient_create, name="recipient_create"),
    path("backoffice/privacy/recipients/<int:pk>/", views.recipient_edit, name="recipient_edit"),
    path("backoffice/privacy/provisions/", views.provision_list, name="provision_list"),
    path("backoffice/privacy/provisions/new/", views.provision_create, name="provision_create"),
    path("backoffice/privacy/receipts/", views.receipt_list, name="receipt_list"),
    path("backoffice/privacy/receipts/new/", views.receipt_create, name="receipt_create"),
]

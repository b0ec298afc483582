from django.urls import path

from exportdesk.sales import views

app_name = "sales"

urlpatterns = [
    path("inquiry/", views.inquiry, name="inquiry"),
    path("stock/<str:stock_number>/inquiry/", views.inquiry, name="vehicle_inquiry"),
    path("backoffice/inquiries/", views.inquiry_queue, name="inquiry_queue"),
    path("backoffice/inquiries/<int:pk>/", views.inquiry_detail, name="inquiry_detail"),
]

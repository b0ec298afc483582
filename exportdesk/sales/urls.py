from django.urls import path

from exportdesk.sales import views

app_name = "sales"

urlpatterns = [
    path("inquiry/", views.inquiry, name="inquiry"),
    path("stock/<str:stock_number>/inquiry/", views.inquiry, name="vehicle_inquiry"),
    path("backoffice/inquiries/", views.inquiry_queue, name="inquiry_queue"),
    path("backoffice/inquiries/<int:pk>/", views.inquiry_detail, name="inquiry_detail"),
    path("mypage/invoices/", views.my_invoices, name="my_invoices"),
    path("mypage/proformas/<str:number>/", views.my_proforma, name="my_proforma"),
    path("mypage/proformas/<str:number>/pdf/", views.my_proforma_pdf, name="my_proforma_pdf"),
    path("mypage/invoices/<str:number>/", views.my_invoice, name="my_invoice"),
    path("mypage/invoices/<str:number>/pdf/", views.my_invoice_pdf, name="my_invoice_pdf"),
    path("verify/", views.verify, name="verify"),
    path("verify/<str:code>/", views.verify_code, name="verify_code"),
]

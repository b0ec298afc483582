from django.urls import path

from exportdesk.accounts import backoffice

app_name = "backoffice"

urlpatterns = [
    path("", backoffice.home, name="home"),
    path("second-factor/", backoffice.otp_verify, name="otp_verify"),
    path("customers/", backoffice.customers, name="customers"),
    path("customers/<int:pk>/", backoffice.customer_detail, name="customer_detail"),
    path("desk/<slug:slug>/", backoffice.desk, name="desk"),
]

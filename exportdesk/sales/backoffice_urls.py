from django.urls import path

from exportdesk.sales import backoffice

app_name = "sales_backoffice"

urlpatterns = [
    path("proformas/", backoffice.proforma_list, name="proforma_list"),
    path("proformas/new/", backoffice.proforma_create, name="proforma_create"),
    path("proformas/<str:number>/", backoffice.proforma_detail, name="proforma_detail"),
    path("proformas/<str:number>/cancel/", backoffice.proforma_cancel, name="proforma_cancel"),
    path("bank-accounts/", backoffice.bank_accounts, name="bank_accounts"),
    path("bank-accounts/new/", backoffice.bank_account_propose, name="bank_account_new"),
    path("bank-accounts/<int:pk>/", backoffice.bank_account_propose, name="bank_account_edit"),
    path(
        "bank-accounts/changes/<int:pk>/decide/",
        backoffice.bank_account_decide,
        name="bank_account_decide",
    ),
]

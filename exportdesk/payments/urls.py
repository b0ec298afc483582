from django.urls import path

from exportdesk.payments import views

app_name = "payments"

urlpatterns = [
    path("mypage/payments/", views.manager, name="manager"),
    path("mypage/payments/declare/", views.declare, name="declare"),
    path(
        "mypage/payments/declarations/<uuid:public_id>/",
        views.declaration_edit,
        name="declaration_edit",
    ),
    path(
        "mypage/payments/declarations/<uuid:public_id>/withdraw/",
        views.declaration_withdraw_view,
        name="declaration_withdraw",
    ),
    path("payments/slips/<uuid:public_id>/", views.declaration_slip, name="declaration_slip"),
    path("mypage/payments/allocate/", views.allocation_request_view, name="allocate"),
    path(
        "mypage/payments/allocations/<int:pk>/cancel/",
        views.allocation_cancel_view,
        name="allocation_cancel",
    ),
    path("mypage/payment-history/", views.history, name="history"),
]

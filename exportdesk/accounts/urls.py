from django.contrib.auth import views as auth_views
from django.urls import path

from exportdesk.accounts import views

app_name = "accounts"

urlpatterns = [
    path("accounts/register/", views.register, name="register"),
    path("accounts/register/done/", views.register_done, name="register_done"),
    path("accounts/verify/<str:token>/", views.verify_email, name="verify_email"),
    path("accounts/login/", views.login_view, name="login"),
    path("accounts/logout/", views.logout_view, name="logout"),
    path("accounts/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password/reset/sent/",
        views.password_reset_done,
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="accounts/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    path("accounts/email/", views.email_change, name="email_change"),
    path(
        "accounts/email/confirm/<str:token>/",
        views.email_change_confirm_view,
        name="email_change_confirm",
    ),
    path("accounts/close/", views.close_account, name="close"),
    path("mypage/", views.mypage, name="mypage"),
    path("mypage/profile/", views.profile, name="profile"),
    path("mypage/profile/edit/", views.profile_edit, name="profile_edit"),
    path("mypage/<slug:section>/", views.mypage_section, name="mypage_section"),
]

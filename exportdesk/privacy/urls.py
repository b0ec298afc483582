from django.urls import path

from exportdesk.privacy import views

app_name = "privacy"

urlpatterns = [
    path("privacy/cookies/", views.cookies, name="cookies"),
    path("privacy/cookies/choice/", views.cookie_choice, name="cookie_choice"),
    path("privacy/policy/", views.policy, name="policy"),
    path("privacy/policy/acknowledge/", views.policy_acknowledge_view, name="policy_acknowledge"),
    path("privacy/request/", views.public_request, name="public_request"),
    path("privacy/request/sent/", views.public_request_sent, name="public_request_sent"),
    path("privacy/request/verify/<str:token>/", views.request_verify_view, name="request_verify"),
    path("privacy/export/<str:token>/", views.export_download, name="export_download"),
    path("language/", views.set_language, name="set_language"),
    path("mypage/privacy/", views.mypage_privacy, name="mypage_privacy"),
    path("mypage/privacy/request/<slug:kind>/", views.mypage_request, name="mypage_request"),
    path("mypage/privacy/objection/", views.mypage_objection, name="mypage_objection"),
    path(
        "mypage/privacy/restrictions/<int:pk>/lift/",
        views.mypage_restriction_lift,
        name="mypage_restriction_lift",
    ),
]

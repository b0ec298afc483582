from django.urls import path

from exportdesk.privacy import views

app_name = "privacy"

urlpatterns = [
    path("privacy/cookies/", views.cookies, name="cookies"),
    path("privacy/cookies/choice/", views.cookie_choice, name="cookie_choice"),
    path("privacy/policy/", views.policy, name="policy"),
    path("privacy/policy/acknowledge/", views.policy_acknowledge_view, name="policy_acknowledge"),
    path("language/", views.set_language, name="set_language"),
    path("mypage/privacy/", views.mypage_privacy, name="mypage_privacy"),
]

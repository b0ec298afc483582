from django.urls import path

from exportdesk.messaging import views

app_name = "messaging"

urlpatterns = [
    path("mypage/contact-history/", views.contact_history, name="contact_history"),
]

from django.urls import path

from exportdesk.api.api import api

urlpatterns = [path("api/v1/", api.urls)]

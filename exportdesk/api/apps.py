from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "exportdesk.api"
    label = "api"
    verbose_name = "API"

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "exportdesk.core"
    label = "core"
    verbose_name = "Core"

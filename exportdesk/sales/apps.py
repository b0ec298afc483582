from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "exportdesk.sales"
    label = "sales"
    verbose_name = "Sales"

from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "exportdesk.payments"
    label = "payments"
    verbose_name = "Payments"

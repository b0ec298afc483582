from django.apps import AppConfig


class ShippingConfig(AppConfig):
    name = "exportdesk.shipping"
    label = "shipping"
    verbose_name = "Shipping"

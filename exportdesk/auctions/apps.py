from django.apps import AppConfig


class AuctionsConfig(AppConfig):
    name = "exportdesk.auctions"
    label = "auctions"
    verbose_name = "Auctions"

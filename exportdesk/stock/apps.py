from django.apps import AppConfig


class StockConfig(AppConfig):
    name = "exportdesk.stock"
    label = "stock"
    verbose_name = "Stock"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from exportdesk.stock.favourites import merge_on_login

        # accounts cannot import stock, so the visitor's favourites join the account here.
        user_logged_in.connect(merge_on_login, dispatch_uid="exportdesk.stock.merge_favourites")

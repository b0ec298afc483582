from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "exportdesk.accounts"
    label = "accounts"
    verbose_name = "Accounts"

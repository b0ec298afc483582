from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender: AppConfig, **kwargs: Any) -> None:
    # Permissions are created after each migrate; keep the role groups carrying them.
    from exportdesk.accounts.roles import roles_ensure

    roles_ensure()


class AccountsConfig(AppConfig):
    name = "exportdesk.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        post_migrate.connect(_sync_roles, dispatch_uid="exportdesk.accounts.sync_roles")

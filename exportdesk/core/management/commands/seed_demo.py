"""Demo data for every app, lower layers first: each app's `demo.seed_demo()` (idempotent)."""

from importlib import import_module
from importlib.util import find_spec
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create demo staff, customers, stock and reference data; prints new passwords once."

    def handle(self, *args: Any, **options: Any) -> None:
        # INSTALLED_APPS lists apps in layer order, so what an app's demo needs already exists.
        for config in apps.get_app_configs():
            if (
                not config.name.startswith("exportdesk.")
                or find_spec(f"{config.name}.demo") is None
            ):
                continue
            module = import_module(f"{config.name}.demo")
            seed = getattr(module, "seed_demo", None)
            if seed is None:
                continue
            for line in seed():
                self.stdout.write(line)

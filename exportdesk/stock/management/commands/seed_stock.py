from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from exportdesk.stock.demo import seed_stock


class Command(BaseCommand):
    help = "Add N realistic vehicles, generated deterministically from a seed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, required=True)
        parser.add_argument("--seed", type=int, default=20261121)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["count"] < 1:
            self.stderr.write("--count must be at least 1")
            raise SystemExit(2)
        created = seed_stock(count=options["count"], seed=options["seed"])
        self.stdout.write(f"added {created} vehicles")

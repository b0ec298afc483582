import csv
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from exportdesk.privacy.inventory import inventory_problems, inventory_rows
from exportdesk.privacy.retention import retention_problems


class Command(BaseCommand):
    help = "Print the personal-data inventory, or check that every model field is declared."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument(
            "--check", action="store_true", help="exit non-zero naming every undeclared field"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["check"]:
            # Every field declared, and every model with personal data given a retention rule.
            problems = inventory_problems() + retention_problems()
            if problems:
                for problem in problems:
                    self.stderr.write(problem)
                raise CommandError(f"{len(problems)} inventory problem(s)")
            self.stdout.write(
                "personal-data inventory: every model field is declared and has a retention rule"
            )
            return
        rows = inventory_rows()
        if options["format"] == "json":
            self.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        writer = csv.DictWriter(
            self.stdout, fieldnames=list(rows[0]) if rows else ["model"], lineterminator="\n"
        )
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "; ".join(v) if isinstance(v, list) else v for k, v in row.items()})

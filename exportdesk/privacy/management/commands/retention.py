"""`manage.py retention [--dry-run]`: apply the retention rules now, or show what they would do."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from exportdesk.privacy.retention import RetentionReport, retention_apply, retention_problems


class Command(BaseCommand):
    help = (
        "Apply every retention rule of the personal-data inventory, warn and close unused "
        "accounts and erase closed ones; the last line is a JSON summary."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would change, change nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        problems = retention_problems()
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(f"{len(problems)} retention rule problem(s)")
        report = retention_apply(dry_run=options["dry_run"])
        self._print(report)
        self.stdout.write(report.summary_json())

    def _print(self, report: RetentionReport) -> None:
        verb = "would change" if report.dry_run else "changed"
        now = timezone.localtime(report.now)
        self.stdout.write(f"Retention rules ({verb}), as of {now:%Y-%m-%d %H:%M %Z}:")
        width = max((len(o.model) for o in report.rules), default=10)
        for outcome in report.rules:
            rule = f"{outcome.rule} ({outcome.counted_from})"
            cutoff = timezone.localtime(outcome.cutoff)
            line = (
                f"  {outcome.model:<{width}}  {rule:<44}  {outcome.action:<9}  "
                f"before {cutoff:%Y-%m-%d}  {outcome.rows:>7} rows"
            )
            if outcome.referenced:
                line += f" ({outcome.referenced} still referenced, kept for now)"
            self.stdout.write(line)
        for title, people in (
            ("Inactive accounts warned", report.warned),
            ("Warnings answered by a sign-in", report.warnings_cancelled),
            ("Inactive accounts closed and erased", report.closed_inactive),
            ("Inactive accounts kept open: money or orders still open", report.kept_open),
            ("Closed accounts erased", report.erased_after_closure),
        ):
            self.stdout.write(
                f"{title}: {len(people)}" + (f" ({', '.join(people)})" if people else "")
            )

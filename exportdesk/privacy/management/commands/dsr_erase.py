"""`manage.py dsr_erase --email ADDRESS [--dry-run]`: the erasure plan, and its execution."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from exportdesk.privacy.erasure import ErasurePlan, erasure_execute, erasure_plan
from exportdesk.privacy.subjects import subject_for_email


class Command(BaseCommand):
    help = "Erase one person's data (by e-mail address), keeping what legal holds require."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument(
            "--dry-run", action="store_true", help="Print the plan and change nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        subject = subject_for_email(options["email"])
        plan = erasure_plan(subject)
        self._print_plan(plan)
        summary: dict[str, Any] = {
            "subject": subject.label,
            "dry_run": options["dry_run"],
            "delete": _rows(plan, "delete"),
            "anonymise": _rows(plan, "anonymise"),
            "kept": [
                {
                    "record": k.description,
                    "hold": k.hold_name,
                    "statute": k.statute,
                    "until": k.until.isoformat() if k.until else None,
                    "rows": k.rows,
                }
                for k in plan.kept
            ],
        }
        if not options["dry_run"]:
            record = erasure_execute(subject, actor=None, trigger="command")
            summary["erasure_record"] = record.pk
        self.stdout.write(json.dumps(summary))

    def _print_plan(self, plan: ErasurePlan) -> None:
        for item in plan.items:
            if not item.rows:
                continue
            why = f"  [{item.reason}]" if item.reason else ""
            self.stdout.write(f"{item.action:9} {item.rows:6}  {item.model}.{item.field}{why}")


def _rows(plan: ErasurePlan, action: str) -> int:
    """Rows touched by an action: the largest count among a model's fields, summed over models."""
    per_model: dict[str, int] = {}
    for item in plan.items:
        if item.action == action:
            per_model[item.model] = max(per_model.get(item.model, 0), item.rows)
    return sum(per_model.values())

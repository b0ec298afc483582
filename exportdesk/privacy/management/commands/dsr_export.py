"""`manage.py dsr_export --email ADDRESS --out FILE.zip`: the access package, from the shell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from exportdesk.core.audit import audit_event_record
from exportdesk.privacy.access import access_package_write
from exportdesk.privacy.subjects import subject_for_email


class Command(BaseCommand):
    help = "Write everything held about one person (by e-mail address) to a ZIP package."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--out", required=True, type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        subject = subject_for_email(options["email"])
        out: Path = options["out"]
        with out.open("wb") as handle:
            access_package_write(subject, handle)
        audit_event_record(
            action="privacy.export_written",
            subject_id=subject.user.pk if subject.user is not None else None,
            details={"channel": "command line"},
        )
        summary = {"subject": subject.label, "out": str(out), "bytes": out.stat().st_size}
        self.stdout.write(json.dumps(summary))

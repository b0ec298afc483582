from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from exportdesk.privacy.ropa import RENDERERS


class Command(BaseCommand):
    help = (
        "Print the record of processing activities (GDPR Art. 30) from the personal-data "
        "inventory and the recipient registry."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=sorted(RENDERERS), default="json")
        parser.add_argument("--out", help="write to this file instead of standard output")
        parser.add_argument(
            "--language",
            choices=[code for code, _name in settings.LANGUAGES],
            default=settings.LANGUAGE_CODE,
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override(options["language"]):
            text = RENDERERS[options["format"]]()
        if not options["out"]:
            self.stdout.write(text, ending="")
            return
        try:
            Path(options["out"]).write_text(text, encoding="utf-8")
        except OSError as error:
            raise CommandError(f"cannot write {options['out']}: {error.strerror}") from error
        self.stderr.write(f"record of processing activities written to {options['out']}")

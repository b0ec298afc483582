import json
from pathlib import Path
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandParser

from exportdesk.payments.imports import StatementRefused, statement_import
from exportdesk.payments.statements import MAX_STATEMENT_BYTES, StatementFormatError
from exportdesk.sales.models import BankAccount


class Command(BaseCommand):
    help = (
        "Import a bank statement (MT940, camt.053 or CSV) into one of our bank accounts. "
        "The last line printed is a JSON summary; the exit status is 1 when the file is refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--account", help="Code of the bank account (required unless --dry-run)"
        )
        parser.add_argument("--format", choices=["mt940", "camt053", "csv"], dest="fmt")
        parser.add_argument(
            "--dry-run", action="store_true", help="Read and check only; write nothing"
        )
        parser.add_argument(
            "--accept-unbalanced",
            action="store_true",
            help="Import statements whose balances do not add up, flagged for review",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        account = self._account(options["account"], required=not options["dry_run"])
        if not path.is_file():
            self._fail(f"no such file: {path}", {})
        if path.stat().st_size > MAX_STATEMENT_BYTES:
            self._fail(f"{path} is larger than {MAX_STATEMENT_BYTES} bytes", {})
        try:
            result = statement_import(
                data=path.read_bytes(),
                file_name=path.name,
                bank_account=account,
                actor=None,
                fmt=options["fmt"],
                accept_unbalanced=options["accept_unbalanced"],
                dry_run=options["dry_run"],
            )
        except StatementFormatError as error:
            self._fail(str(error), {"file": path.name})
        except StatementRefused as error:
            self._fail(str(error), error.summary)
        self.stdout.write(json.dumps(result.summary, ensure_ascii=False))

    def _account(self, code: str | None, *, required: bool) -> BankAccount | None:
        if not code:
            if required:
                self._fail("--account CODE is required (or use --dry-run)", {})
            return None
        account = BankAccount.objects.filter(code=code).first()
        if account is None:
            codes = ", ".join(BankAccount.objects.values_list("code", flat=True)) or "none yet"
            self._fail(f"no bank account with code {code!r} (known: {codes})", {})
        return account

    def _fail(self, message: str, summary: dict[str, Any]) -> NoReturn:
        self.stderr.write(message)
        self.stdout.write(json.dumps({**summary, "error": message}, ensure_ascii=False))
        raise SystemExit(1)

"""Print the records of provision and receipt about one person; the last line is a JSON summary."""

import json
from typing import Any, NoReturn

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandParser
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from exportdesk.accounts.models import User, normalise_email
from exportdesk.core.audit import audit_event_record
from exportdesk.privacy.models import ProvisionRecord, ReceiptRecord
from exportdesk.privacy.provision import provisions_about, receipts_about


class Command(BaseCommand):
    help = (
        "Print the records of provision (who received the person's data) and of receipt (who "
        "gave it to us) about one person, one per line; the last line is a JSON summary."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True, help="The person's e-mail address")

    def handle(self, *args: Any, **options: Any) -> None:
        email = normalise_email(options["email"])
        try:
            validate_email(email)
        except ValidationError:
            self._fail(f"not an e-mail address: {options['email']!r}")
        account = User.objects.filter(email=email).first()
        provisions = list(provisions_about(user=account, email=email).order_by("provided_at", "pk"))
        receipts = list(receipts_about(user=account, email=email).order_by("received_at", "pk"))
        for record in provisions:
            self.stdout.write(_provision_line(record))
        for receipt in receipts:
            self.stdout.write(_receipt_line(receipt))
        with transaction.atomic():
            # Reading a person's records from the command line is staff access like any other.
            audit_event_record(
                action="privacy.provision_report",
                subject_id=account.pk if account is not None else None,
                details={"provisions": len(provisions), "receipts": len(receipts)},
            )
        summary = {
            "email": email,
            "customer": account.customer_number if account is not None else None,
            "provisions": len(provisions),
            "receipts": len(receipts),
            "recipients": sorted({r.recipient.name for r in provisions}),
            "providers": sorted({r.provider_name for r in receipts}),
        }
        self.stdout.write(json.dumps(summary, ensure_ascii=False))

    def _fail(self, message: str) -> NoReturn:
        self.stderr.write(message)
        self.stdout.write(json.dumps({"error": message}, ensure_ascii=False))
        raise SystemExit(1)


def _provision_line(record: ProvisionRecord) -> str:
    recipient = record.recipient
    parts = [
        "provision",
        timezone.localdate(record.provided_at).isoformat(),
        f"to {recipient.name} ({recipient.country}, {recipient.relationship})",
        f"items: {', '.join(record.data_items)}",
        f"basis: {record.legal_basis}",
    ]
    if record.consent_reference:
        parts.append(f"consent: {record.consent_reference}")
    if record.purpose:
        parts.append(f"purpose: {record.purpose}")
    if recipient.transfer_safeguard:
        parts.append(f"safeguard: {' '.join(recipient.transfer_safeguard.split())}")
    return " | ".join(parts)


def _receipt_line(record: ReceiptRecord) -> str:
    return " | ".join(
        [
            "receipt",
            timezone.localdate(record.received_at).isoformat(),
            f"from {record.provider_name}",
            f"obtained: {' '.join(record.how_obtained.split())}",
            f"items: {', '.join(record.data_items)}",
        ]
    )

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from exportdesk.core.audit import audit_chain_verify
from exportdesk.core.models import AuditEvent


class Command(BaseCommand):
    help = "Recompute the audit log's hash chain; exit non-zero naming the first broken link."

    def handle(self, *args: Any, **options: Any) -> None:
        broken = audit_chain_verify()
        if broken is not None:
            raise CommandError(f"audit chain broken at row #{broken.seq}: {broken.reason}")
        self.stdout.write(f"audit chain intact: {AuditEvent.objects.count()} events")

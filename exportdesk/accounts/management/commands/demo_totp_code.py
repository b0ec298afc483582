from typing import Any

import pyotp
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from exportdesk.accounts.models import StaffTOTPDevice, normalise_email


class Command(BaseCommand):
    help = "Development only: print the current TOTP code of a staff user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("demo_totp_code works only with DEBUG on")
        device = StaffTOTPDevice.objects.filter(
            user__email=normalise_email(options["email"])
        ).first()
        if device is None:
            raise CommandError(f"no TOTP device for {options['email']}")
        self.stdout.write(pyotp.TOTP(device.secret).now())

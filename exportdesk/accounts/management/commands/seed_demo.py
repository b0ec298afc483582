"""Demo data: one staff user per role, a few customers, the first privacy policy. Idempotent."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

import pyotp
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from exportdesk.accounts.models import CustomerProfile, StaffTOTPDevice, User
from exportdesk.accounts.roles import ROLES, roles_ensure

DEMO_DOMAIN = "demo.exportdesk.example"

DEMO_CUSTOMERS = [
    ("Wanjiku Kamau", "wanjiku", "KE", "Kamau Motors Ltd", "+254 712 345678", "en"),
    ("Andre Campbell", "andre", "JM", "", "+1 876 555 0142", "en"),
    ("Camila Rojas", "camila", "CL", "Importadora Rojas SpA", "+56 9 5555 1234", "es"),
]


class Command(BaseCommand):
    help = "Create demo staff (one per role) and customers; prints their passwords once."

    def handle(self, *args: Any, **options: Any) -> None:
        groups = roles_ensure()
        created: list[tuple[str, str, str]] = []
        with transaction.atomic():
            for role in ROLES:
                email = f"{role.replace('_', '-')}@{DEMO_DOMAIN}"
                if User.objects.filter(email=email).exists():
                    continue
                password = secrets.token_urlsafe(12)
                user = User.objects.create_user(
                    email=email,
                    password=password,
                    name=f"Demo {role.replace('_', ' ')}",
                    is_staff=True,
                    email_verified_at=timezone.now(),
                )
                user.groups.add(groups[role])
                device = StaffTOTPDevice.objects.create(
                    user=user, secret=pyotp.random_base32(), confirmed_at=timezone.now()
                )
                created.append((f"staff ({role})", email, f"{password}   TOTP key {device.secret}"))
            for name, local, country, company, phone, language in DEMO_CUSTOMERS:
                email = f"{local}@{DEMO_DOMAIN}"
                if User.objects.filter(email=email).exists():
                    continue
                password = secrets.token_urlsafe(12)
                user = User.objects.create_user(
                    email=email,
                    password=password,
                    name=name,
                    language=language,
                    email_verified_at=timezone.now(),
                )
                CustomerProfile.objects.create(
                    user=user,
                    country=country,
                    company=company,
                    phone=phone,
                    adult_attested_at=timezone.now(),
                )
                created.append((f"customer ({country})", email, password))
            self._policy()
        if not created:
            self.stdout.write(
                "Demo data already present; passwords were printed when it was created."
            )
            return
        self.stdout.write("Demo accounts (shown once; keep them):")
        for kind, email, secret in created:
            self.stdout.write(f"  {kind:<26} {email:<42} {secret}")
        self.stdout.write(
            "Staff need the TOTP key in an authenticator app; in development, "
            "`manage.py demo_totp_code EMAIL` prints the current code."
        )

    def _policy(self) -> None:
        from exportdesk.privacy.models import PolicyVersion

        PolicyVersion.objects.get_or_create(
            version="1.0",
            defaults={
                "effective_date": date(2026, 1, 1),
                "published_at": timezone.now(),
                "body": DEMO_POLICY_BODY,
            },
        )


DEMO_POLICY_BODY = """\
This demo exporter collects the personal data needed to sell and ship vehicles to you: your name, \
e-mail address, country, and the contact details you choose to give. The table below lists every \
kind of record the system keeps, why, on which legal basis, and for how long.

You may ask to see, correct, restrict, download or delete your data at any time, at no cost. We \
answer within 30 days. Some records must be kept by law (for example accounting records for 7 \
years); those are kept only for that purpose.

Cookies other than strictly necessary ones are used only with your consent, which you can \
withdraw from "Cookie settings" at the bottom of every page."""

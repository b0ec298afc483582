"""Demo staff (one per role), customers and the first privacy policy. Idempotent."""

from __future__ import annotations

import secrets

import pyotp
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


def seed_demo() -> list[str]:
    """Create what is missing; returns the lines to print (passwords appear only once)."""
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
    if not created:
        return ["Demo accounts already present; their passwords were printed when they were made."]
    lines = ["Demo accounts (shown once; keep them):"]
    lines += [f"  {kind:<26} {email:<42} {secret}" for kind, email, secret in created]
    lines.append(
        "Staff need the TOTP key in an authenticator app; in development "
        "`manage.py demo_totp_code EMAIL` prints the current code."
    )
    return lines

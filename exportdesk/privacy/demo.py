"""Demo privacy policy (the first published version) and recipients of data. Idempotent."""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from exportdesk.privacy.models import PolicyVersion
from exportdesk.privacy.provision_demo import seed_demo_recipients

DEMO_POLICY_BODY = """\
This demo exporter collects the personal data needed to sell and ship vehicles to you: your name, \
e-mail address, country, and the contact details you choose to give. The table below lists every \
kind of record the system keeps, why, on which legal basis, and for how long.

You may ask to see, correct, restrict, download or delete your data at any time, at no cost. We \
answer within 30 days. Some records must be kept by law (for example accounting records for 7 \
years); those are kept only for that purpose.

Cookies other than strictly necessary ones are used only with your consent, which you can \
withdraw from "Cookie settings" at the bottom of every page."""


def seed_demo() -> list[str]:
    _, created = PolicyVersion.objects.get_or_create(
        version="1.0",
        defaults={
            "effective_date": date(2026, 1, 1),
            "published_at": timezone.now(),
            "body": DEMO_POLICY_BODY,
        },
    )
    lines = ["Published privacy policy 1.0."] if created else []
    return lines + seed_demo_recipients()

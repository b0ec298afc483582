from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from exportdesk.core.models import AuditEvent
from exportdesk.privacy.models import PolicyAcknowledgement, PolicyVersion

pytestmark = pytest.mark.django_db


def _publish(version: str, effective: date) -> PolicyVersion:
    return PolicyVersion.objects.create(
        version=version,
        effective_date=effective,
        body=f"Policy text {version}.\n\nSecond paragraph.",
        summary_of_changes=f"Changes in {version}",
        published_at=timezone.now(),
    )


def test_the_policy_page_shows_the_version_in_force_and_its_date(client):
    _publish("1.0", date(2026, 1, 1))
    _publish("2.0", timezone.localdate() + timedelta(days=10))  # not yet in force
    body = client.get("/privacy/policy/").content.decode()
    assert "Version 1.0" in body and "Last updated" in body
    assert "Policy text 1.0." in body
    assert "Policy text 2.0." not in body


def test_the_policy_page_lists_what_the_inventory_holds(client):
    body = client.get("/privacy/policy/").content.decode()
    assert "A customer&#x27;s contact details and country of residence" in body
    assert "Proving which choices you made about your data" in body


def test_a_signed_in_user_is_told_of_a_new_version_until_they_acknowledge_it(alice_client, alice):
    old = _publish("1.0", date(2026, 1, 1))
    PolicyAcknowledgement.objects.create(
        user=alice, policy_version=old, acknowledged_at=timezone.now()
    )
    assert "Our privacy policy has changed" not in alice_client.get("/").content.decode()

    _publish("1.1", timezone.localdate())
    body = alice_client.get("/mypage/").content.decode()
    assert "Our privacy policy has changed: version 1.1" in body

    response = alice_client.post("/privacy/policy/acknowledge/", {"next": "/mypage/"})
    assert response.status_code == 302 and response.url == "/mypage/"
    assert PolicyAcknowledgement.objects.filter(user=alice, policy_version__version="1.1").exists()
    assert AuditEvent.objects.filter(action="policy.acknowledged", subject_id=alice.pk).exists()
    assert "Our privacy policy has changed" not in alice_client.get("/mypage/").content.decode()
    # A second acknowledgement changes nothing.
    alice_client.post("/privacy/policy/acknowledge/")
    assert PolicyAcknowledgement.objects.filter(user=alice).count() == 2


def test_visitors_are_not_asked_to_acknowledge(client):
    _publish("1.0", date(2026, 1, 1))
    assert "Our privacy policy has changed" not in client.get("/").content.decode()
    assert client.post("/privacy/policy/acknowledge/").status_code == 302
    assert PolicyAcknowledgement.objects.count() == 0

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from exportdesk.accounts.models import CustomerProfile, SecurityEvent, User
from exportdesk.core.models import AuditEvent
from exportdesk.privacy.models import ErasureRecord
from exportdesk.privacy.retention import closed_accounts_erase
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _close(client: Client, committed):
    with committed():
        return client.post("/accounts/close/", {"password": PASSWORD, "confirm": "on"})


def test_closing_disables_sign_in_at_once_everywhere(alice, committed):
    phone = Client()
    phone.force_login(alice)
    laptop = Client()
    laptop.post("/accounts/login/", {"email": alice.email, "password": PASSWORD})

    response = _close(laptop, committed)
    assert response.status_code == 200
    assert "Your account is closed" in response.content.decode()

    alice.refresh_from_db()
    assert not alice.is_active and alice.closed_at is not None
    # The other session stops working on its next request.
    assert phone.get("/mypage/").status_code == 302
    assert laptop.get("/mypage/").status_code == 302
    refused = laptop.post("/accounts/login/", {"email": alice.email, "password": PASSWORD})
    assert refused.status_code == 400

    event = AuditEvent.objects.get(action="account.closed")
    assert event.subject_id == alice.pk
    due = (timezone.now() + timedelta(days=30)).date().isoformat()
    assert event.details == {"erasure_due": due}
    assert mail.outbox[-1].to == ["alice@example.com"]
    assert "is closed" in mail.outbox[-1].subject


def test_closing_needs_the_password_and_the_confirmation(alice_client, alice):
    response = alice_client.post("/accounts/close/", {"password": "wrong"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "That is not your current password." in body
    assert "This field is required." in body
    alice.refresh_from_db()
    assert alice.is_active


def test_a_closed_account_is_erased_after_the_delay_and_only_once(alice, bob, committed):
    client = Client()
    client.force_login(alice)
    _close(client, committed)

    # The erasure itself is the privacy centre's engine (tests/privacy/test_erasure.py); this
    # checks the closure starts it once, after the delay.
    assert closed_accounts_erase().erased_after_closure == []  # not yet due
    later = timezone.now() + timedelta(days=31)
    assert closed_accounts_erase(now=later).erased_after_closure == [alice.customer_number]
    assert closed_accounts_erase(now=later).erased_after_closure == []

    alice.refresh_from_db()
    assert alice.erased_at is not None
    assert alice.email.endswith("@erased.invalid")
    assert alice.name != "Alice Wanjiru"
    assert not alice.has_usable_password()
    assert not CustomerProfile.objects.filter(user=alice).exists()
    assert not SecurityEvent.objects.filter(user=alice).exists()
    record = ErasureRecord.objects.get(subject_id=alice.pk)
    assert record.trigger == "closure"
    assert AuditEvent.objects.filter(action="privacy.erased", subject_id=alice.pk).exists()
    # Bob is untouched.
    assert User.objects.get(pk=bob.pk).email == "bob@example.com"
    assert CustomerProfile.objects.filter(user=bob).exists()


def test_the_closure_page_states_the_erasure_delay(alice_client):
    body = alice_client.get("/accounts/close/").content.decode()
    assert "erased 30 days later" in body

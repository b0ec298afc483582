from __future__ import annotations

import re

import pytest
from django.core import mail

from exportdesk.accounts.models import CustomerProfile, SecurityEvent, User
from exportdesk.core.models import AuditEvent
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

PROFILE = {
    "name": "Alice W. Wanjiru",
    "country": "TZ",
    "company": "Wanjiru Imports",
    "address": "Uhuru Street 5, Dar es Salaam",
    "phone": "+255 754 000111",
    "whatsapp": "+255 754 000111",
    "fax": "",
}


def test_edit_profile_saves_and_audits_which_fields_changed(alice_client, alice):
    page = alice_client.get("/mypage/profile/")
    assert "Edit Profile" in page.content.decode()
    response = alice_client.post("/mypage/profile/edit/", PROFILE)
    assert response.status_code == 302
    profile = CustomerProfile.objects.get(user=alice)
    assert (profile.country.code, profile.company) == ("TZ", "Wanjiru Imports")
    alice.refresh_from_db()
    assert alice.name == "Alice W. Wanjiru"
    event = AuditEvent.objects.get(action="profile.updated")
    assert event.subject_id == alice.pk
    assert set(event.details["fields"]) == {
        "name",
        "country",
        "company",
        "address",
        "phone",
        "whatsapp",
    }
    # The audit log names the fields, never the values.
    assert "Wanjiru Imports" not in str(event.details)
    assert "Wanjiru Imports" in alice_client.get("/mypage/profile/").content.decode()


def test_edit_profile_with_bad_input_changes_nothing(alice_client, alice):
    response = alice_client.post("/mypage/profile/edit/", {**PROFILE, "phone": "abc", "name": ""})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Enter a phone number with country code" in body
    assert "This field is required." in body
    profile = CustomerProfile.objects.get(user=alice)
    assert profile.phone == "+254 712 345678"
    assert not AuditEvent.objects.filter(action="profile.updated").exists()


def test_a_profile_edit_only_ever_touches_the_signed_in_customer(alice_client, alice, bob):
    alice_client.post("/mypage/profile/edit/", {**PROFILE, "user": bob.pk})
    assert CustomerProfile.objects.get(user=bob).country.code == "JM"


def test_change_password_needs_the_old_one_and_notifies(alice_client, alice, committed):
    response = alice_client.post(
        "/accounts/password/",
        {
            "old_password": "wrong",
            "new_password1": "a-new-long-pass-22",
            "new_password2": "a-new-long-pass-22",
        },
    )
    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()
    with committed():
        response = alice_client.post(
            "/accounts/password/",
            {
                "old_password": PASSWORD,
                "new_password1": "a-new-long-pass-22",
                "new_password2": "a-new-long-pass-22",
            },
        )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("a-new-long-pass-22")
    assert SecurityEvent.objects.filter(kind="password_changed", user=alice).exists()
    assert mail.outbox[-1].subject.endswith("password was changed")


def _reset_link(client, committed, email="alice@example.com") -> str:
    with committed():
        client.post("/accounts/password/reset/", {"email": email})
    match = re.search(r"http://testserver(/accounts/password/reset/\S+/)", mail.outbox[-1].body)
    assert match
    return match.group(1)


def test_reset_a_forgotten_password(client, alice, committed):
    link = _reset_link(client, committed)
    form = client.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    response = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "brand-new-pass-99", "new_password2": "brand-new-pass-99"},
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("brand-new-pass-99")
    assert SecurityEvent.objects.filter(kind="password_reset", user=alice).exists()
    # The link works once.
    again = client.get(link, follow=True)
    assert "This link cannot be used" in again.content.decode()


def test_a_reset_request_for_an_unknown_address_looks_the_same(client, db, committed):
    with committed():
        response = client.post("/accounts/password/reset/", {"email": "ghost@example.com"})
    assert response.status_code == 302
    assert response.url == "/accounts/password/reset/sent/"
    assert mail.outbox == []


def test_a_tampered_reset_link_is_refused(client, alice, committed):
    link = _reset_link(client, committed)
    tampered = link[:-3] + "xx/"
    response = client.get(tampered, follow=True)
    assert "This link cannot be used" in response.content.decode()


def test_an_expired_reset_link_is_refused(client, alice, committed, settings):
    link = _reset_link(client, committed)
    settings.PASSWORD_RESET_TIMEOUT = -1
    response = client.get(link, follow=True)
    assert "This link cannot be used" in response.content.decode()


def test_change_email_takes_effect_only_from_the_new_address(alice_client, alice, committed):
    with committed():
        response = alice_client.post(
            "/accounts/email/", {"new_email": "alice.new@example.com", "password": PASSWORD}
        )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"
    (message,) = mail.outbox
    assert message.to == ["alice.new@example.com"]
    link = re.search(r"http://testserver(/\S+)", message.body).group(1)
    with committed():
        alice_client.get(link)
    alice.refresh_from_db()
    assert alice.email == "alice.new@example.com"
    assert SecurityEvent.objects.filter(kind="email_changed", user=alice).exists()
    assert mail.outbox[-1].to == ["alice@example.com"]  # the old address is told
    # The same link cannot be replayed.
    assert alice_client.get(link).status_code == 400


def test_change_email_refuses_a_wrong_password(alice_client, alice):
    response = alice_client.post(
        "/accounts/email/", {"new_email": "alice.new@example.com", "password": "nope"}
    )
    assert response.status_code == 400
    assert "That is not your current password." in response.content.decode()
    assert mail.outbox == []


def test_change_email_to_a_taken_address_reveals_nothing(alice_client, alice, bob, committed):
    with committed():
        response = alice_client.post(
            "/accounts/email/", {"new_email": "bob@example.com", "password": PASSWORD}
        )
    assert response.status_code == 302
    assert mail.outbox == []
    assert User.objects.get(pk=alice.pk).email == "alice@example.com"

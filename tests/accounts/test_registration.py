from __future__ import annotations

import re

import pytest
from django.core import mail, signing

from exportdesk.accounts.models import CustomerProfile, User
from exportdesk.core.models import AuditEvent

pytestmark = pytest.mark.django_db

VALID = {
    "name": "Grace Achieng",
    "email": "Grace@Example.com",
    "country": "KE",
    "password": "kibera-sunrise-2026",
    "company": "Achieng Autos",
    "address": "Moi Avenue 12, Nairobi",
    "phone": "+254 700 111222",
    "whatsapp": "+254 700 111222",
    "fax": "",
    "adult": "on",
}


def _link(message: mail.EmailMessage) -> str:
    match = re.search(r"http://testserver(/\S+)", message.body)
    assert match, message.body
    return match.group(1)


def test_it_registers_a_customer_and_sends_a_verification_link(client, committed):
    with committed():
        response = client.post("/accounts/register/", VALID)
    assert response.status_code == 302
    assert response.url == "/accounts/register/done/"

    user = User.objects.get(email="grace@example.com")
    assert user.name == "Grace Achieng"
    assert user.email_verified_at is None
    assert user.password.startswith("md5$") or user.password.startswith("argon2")
    profile = CustomerProfile.objects.get(user=user)
    assert (profile.country.code, profile.company, profile.phone) == (
        "KE",
        "Achieng Autos",
        "+254 700 111222",
    )
    assert AuditEvent.objects.filter(action="account.registered", subject_id=user.pk).exists()

    (message,) = mail.outbox
    assert message.to == ["grace@example.com"]
    assert "Verify your e-mail address" in message.subject
    response = client.get(_link(message))
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email_verified_at is not None


def test_it_hashes_passwords_with_argon2(client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    client.post("/accounts/register/", VALID)
    assert User.objects.get(email="grace@example.com").password.startswith("argon2$argon2id$")


def test_it_refuses_a_person_who_does_not_attest_to_being_an_adult_and_stores_nothing(client):
    data = {**VALID}
    del data["adult"]
    response = client.post("/accounts/register/", data)
    assert response.status_code == 400
    assert "Only adults can open an account" in response.content.decode()
    assert User.objects.count() == 0
    assert CustomerProfile.objects.count() == 0
    assert AuditEvent.objects.count() == 0
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "This field is required."),
        ("email", "", "This field is required."),
        ("email", "not-an-address", "Enter a valid email address."),
        ("country", "", "This field is required."),
        ("country", "XX", "Select a valid choice."),
        ("password", "short", "too short"),
        ("password", "1234567890123", "entirely numeric"),
        ("phone", "call me maybe", "Enter a phone number with country code"),
    ],
)
def test_it_re_renders_bad_registration_fields_with_a_message(client, field, value, message):
    response = client.post("/accounts/register/", {**VALID, field: value})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert User.objects.count() == 0


def test_a_duplicate_email_gets_the_same_response_and_the_owner_gets_an_email(
    client, alice, committed
):
    with committed():
        response = client.post("/accounts/register/", {**VALID, "email": "ALICE@example.com"})
    assert response.status_code == 302
    assert response.url == "/accounts/register/done/"
    assert User.objects.filter(email="alice@example.com").count() == 1
    (message,) = mail.outbox
    assert message.to == ["alice@example.com"]
    assert "tried to register" in message.subject
    assert "already have one" in message.body
    # Alice's data is untouched.
    alice.refresh_from_db()
    assert alice.name == "Alice Wanjiru"


def test_an_expired_verification_link_is_refused(client, settings, committed):
    with committed():
        client.post("/accounts/register/", VALID)
    link = _link(mail.outbox[0])
    settings.EMAIL_VERIFICATION_MAX_AGE = -1
    response = client.get(link)
    assert response.status_code == 400
    assert "The link has expired" in response.content.decode()
    assert User.objects.get(email="grace@example.com").email_verified_at is None


@pytest.mark.parametrize(
    "mangle",
    [
        lambda link: link[:-6] + "AAAAA/",
        lambda link: (
            "/accounts/verify/"
            + signing.dumps({"u": 1, "e": "grace@example.com"}, key="not-the-secret-key", salt="x")
            + "/"
        ),
        lambda link: "/accounts/verify/garbage/",
    ],
)
def test_a_tampered_verification_link_is_refused(client, mangle, committed):
    with committed():
        client.post("/accounts/register/", VALID)
    response = client.get(mangle(_link(mail.outbox[0])))
    assert response.status_code == 400
    assert "The link is not valid" in response.content.decode()
    assert User.objects.get(email="grace@example.com").email_verified_at is None


def test_an_unverified_customer_cannot_sign_in_and_gets_a_new_link(client, committed):
    with committed():
        client.post("/accounts/register/", VALID)
    mail.outbox.clear()
    with committed():
        response = client.post(
            "/accounts/login/", {"email": "grace@example.com", "password": VALID["password"]}
        )
    assert response.status_code == 400
    assert "Please verify your e-mail address first" in response.content.decode()
    assert len(mail.outbox) == 1
    assert "_auth_user_id" not in client.session

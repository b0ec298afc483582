from __future__ import annotations

import pytest

from exportdesk.accounts.models import SecurityEvent
from tests.factories import PASSWORD, customer

pytestmark = pytest.mark.django_db

UA = "Mozilla/5.0 (Linux; Android 14) ExportDeskTest"


def _login(client, email, password, ip="203.0.113.7"):
    return client.post(
        "/accounts/login/",
        {"email": email, "password": password},
        REMOTE_ADDR=ip,
        HTTP_USER_AGENT=UA,
    )


def test_it_signs_a_customer_in_and_records_ip_and_user_agent(client, alice):
    response = _login(client, "Alice@Example.com", PASSWORD)
    assert response.status_code == 302
    assert response.url == "/mypage/"
    event = SecurityEvent.objects.get(kind="login")
    assert (event.user, event.ip_address, event.user_agent) == (alice, "203.0.113.7", UA)
    assert client.get("/mypage/").status_code == 200


def test_a_wrong_password_is_refused_with_a_clear_message_and_recorded(client, alice):
    response = _login(client, "alice@example.com", "wrong password")
    assert response.status_code == 400
    assert "The e-mail address or password is not correct." in response.content.decode()
    event = SecurityEvent.objects.get(kind="login_failed")
    assert (event.email_tried, event.ip_address) == ("alice@example.com", "203.0.113.7")
    assert "_auth_user_id" not in client.session


def test_an_unknown_address_gets_the_same_message_as_a_wrong_password(client, db):
    response = _login(client, "nobody@example.com", "whatever")
    assert "The e-mail address or password is not correct." in response.content.decode()


def test_it_throttles_an_account_after_repeated_failures_even_with_the_right_password(
    client, alice, settings
):
    settings.LOGIN_THROTTLE_PER_ACCOUNT = 5
    for i in range(5):
        _login(client, "alice@example.com", f"guess {i}", ip=f"198.51.100.{i}")
    response = _login(client, "alice@example.com", PASSWORD, ip="198.51.100.99")
    assert response.status_code == 400
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert SecurityEvent.objects.filter(kind="login_throttled").count() == 1


def test_it_throttles_an_ip_that_tries_many_accounts(client, bob, settings):
    settings.LOGIN_THROTTLE_PER_IP = 20
    for i in range(20):
        _login(client, f"victim{i}@example.com", "password123", ip="192.0.2.50")
    response = _login(client, "bob@example.com", PASSWORD, ip="192.0.2.50")
    assert "Too many failed sign-in attempts" in response.content.decode()
    # Bob from his own address is not affected.
    assert _login(client, "bob@example.com", PASSWORD, ip="192.0.2.51").status_code == 302


def test_failures_older_than_the_window_no_longer_count(client, alice, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.LOGIN_THROTTLE_PER_ACCOUNT = 3
    for _ in range(3):
        _login(client, "alice@example.com", "nope")
    SecurityEvent.objects.update(created_at=timezone.now() - timedelta(hours=1))
    assert _login(client, "alice@example.com", PASSWORD).status_code == 302


def test_sign_out_is_a_post_and_is_recorded(client, alice):
    _login(client, "alice@example.com", PASSWORD)
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert SecurityEvent.objects.filter(kind="logout", user=alice).exists()
    assert client.get("/mypage/").status_code == 302


def test_it_only_redirects_to_local_pages_after_sign_in(client, alice):
    response = client.post(
        "/accounts/login/",
        {"email": "alice@example.com", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response.url == "/mypage/"
    client.post("/accounts/logout/")
    response = client.post(
        "/accounts/login/",
        {"email": "alice@example.com", "password": PASSWORD, "next": "/mypage/profile/"},
    )
    assert response.url == "/mypage/profile/"


def test_a_customer_signed_in_gets_my_page_sections_that_do_not_404(alice_client):
    for path in [
        "/mypage/",
        "/mypage/profile/",
        "/mypage/favourites/",
        "/mypage/bids/",
        "/mypage/payments/",
        "/mypage/payment-history/",
        "/mypage/contact-history/",
        "/mypage/privacy/",
        "/stock/",
    ]:
        assert alice_client.get(path).status_code == 200, path
    assert alice_client.get("/mypage/no-such-section/").status_code == 404


def test_my_page_needs_sign_in(client, db):
    response = client.get("/mypage/profile/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=")


def test_bad_form_input_on_sign_in_re_renders(client, db):
    response = client.post("/accounts/login/", {"email": "not an email", "password": ""})
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()


def test_staff_land_in_the_back_office_after_sign_in(client, sales):
    response = _login(client, sales.email, PASSWORD)
    assert response.url == "/backoffice/"


def test_customer_factory_helper_is_verified(db):
    assert customer("x@example.com").email_verified_at is not None

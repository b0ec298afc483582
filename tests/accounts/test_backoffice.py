from __future__ import annotations

import pyotp
import pytest
from django.test import Client

from exportdesk.accounts.models import SecurityEvent
from exportdesk.core.models import AuditEvent
from tests.conftest import staff_login
from tests.factories import PASSWORD, UserFactory, totp_now

pytestmark = pytest.mark.django_db


def test_a_customer_gets_nothing_from_the_back_office(alice_client, bob):
    for path in ["/backoffice/", "/backoffice/customers/", f"/backoffice/customers/{bob.pk}/"]:
        response = alice_client.get(path)
        assert response.status_code == 403, path
        assert "Bob" not in response.content.decode()
    assert alice_client.get("/backoffice/admin/").status_code in (302, 403)


def test_a_customer_opening_another_customers_profile_gets_nothing(alice_client, bob):
    response = alice_client.get(f"/backoffice/customers/{bob.pk}/")
    assert response.status_code == 403
    assert "bob@example.com" not in response.content.decode()
    assert not AuditEvent.objects.filter(action="customer.viewed").exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get("/backoffice/customers/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_staff_without_the_second_factor_cannot_reach_the_back_office(client, sales, alice):
    client.post("/accounts/login/", {"email": sales.email, "password": PASSWORD})
    for path in ["/backoffice/", "/backoffice/customers/", f"/backoffice/customers/{alice.pk}/"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.url.startswith("/backoffice/second-factor/")


def test_a_wrong_code_is_refused_and_a_used_code_cannot_be_replayed(client, sales):
    client.post("/accounts/login/", {"email": sales.email, "password": PASSWORD})
    response = client.post("/backoffice/second-factor/", {"code": "000000"})
    assert response.status_code == 400
    assert "That code is not valid" in response.content.decode()
    assert SecurityEvent.objects.filter(kind="otp_failed", user=sales).exists()

    code = totp_now(sales)
    assert client.post("/backoffice/second-factor/", {"code": code}).status_code == 302
    other = Client()
    other.post("/accounts/login/", {"email": sales.email, "password": PASSWORD})
    assert other.post("/backoffice/second-factor/", {"code": code}).status_code == 400


def test_new_staff_enrol_an_authenticator_on_first_sign_in(client):
    newcomer = UserFactory(email="new.staff@exporter.example", is_staff=True)
    from exportdesk.accounts.roles import roles_ensure

    newcomer.groups.add(roles_ensure()["logistics"])
    client.post("/accounts/login/", {"email": newcomer.email, "password": PASSWORD})
    page = client.get("/backoffice/second-factor/")
    body = page.content.decode()
    assert "Scan this code" in body and "<svg" in body
    newcomer.refresh_from_db()
    code = pyotp.TOTP(newcomer.totp_device.secret).now()
    assert client.post("/backoffice/second-factor/", {"code": code}).status_code == 302
    newcomer.totp_device.refresh_from_db()
    assert newcomer.totp_device.confirmed_at is not None
    assert client.get("/backoffice/").status_code == 200


def test_customers_cannot_use_the_second_factor_page(alice_client):
    assert alice_client.get("/backoffice/second-factor/").status_code == 403


def test_each_role_sees_only_its_desks(client, sales):
    staff_login(client, sales)
    home = client.get("/backoffice/").content.decode()
    assert "Sales" in home and "Accounting" not in home
    assert client.get("/backoffice/desk/sales/").status_code == 200
    assert client.get("/backoffice/desk/privacy/").status_code == 403
    assert client.get("/backoffice/desk/nothing/").status_code == 404
    assert client.get("/backoffice/admin/").status_code in (302, 403)


def test_staff_viewing_a_customer_is_audited(client, privacy_officer, alice):
    staff_login(client, privacy_officer)
    listing = client.get("/backoffice/customers/?q=alice")
    assert "alice@example.com" in listing.content.decode()
    response = client.get(f"/backoffice/customers/{alice.pk}/")
    assert response.status_code == 200
    assert "+254 712 345678" in response.content.decode()
    event = AuditEvent.objects.get(action="customer.viewed")
    assert (event.actor_id, event.subject_id) == (privacy_officer.pk, alice.pk)


def test_staff_pages_are_not_customer_pages(client, sales):
    staff_login(client, sales)
    assert client.get(f"/backoffice/customers/{sales.pk}/").status_code == 404


def test_the_admin_role_reaches_the_django_admin_after_the_second_factor(client, admin_user):
    client.post("/accounts/login/", {"email": admin_user.email, "password": PASSWORD})
    assert client.get("/backoffice/admin/").status_code == 302
    client.post("/backoffice/second-factor/", {"code": totp_now(admin_user)})
    response = client.get("/backoffice/admin/")
    assert response.status_code == 200
    assert "Export Desk administration" in response.content.decode()
    assert client.get("/backoffice/admin/accounts/user/").status_code == 200


def test_list_of_customers_uses_a_fixed_number_of_queries(
    client, privacy_officer, django_assert_max_num_queries
):
    from tests.factories import customer

    for i in range(30):
        customer(f"c{i}@example.com")
    staff_login(client, privacy_officer)
    with django_assert_max_num_queries(12):
        response = client.get("/backoffice/customers/")
    assert response.status_code == 200

"""The privacy centre on My Page, the public request form and its e-mail link, as people use them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import formats, timezone

from exportdesk.privacy.models import DataRequest, ProcessingRestriction
from exportdesk.privacy.restrictions import processing_allowed
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

State = DataRequest.State


def _verify_path(body: str) -> str:
    match = re.search(r"https?://[^/\s]+(/privacy/request/verify/[\w-]+/)", body)
    assert match, body
    return match.group(1)


def _public_post(client: Client, email: str, **extra: str):
    return client.post(
        "/privacy/request/",
        {"name": "Grace Otieno", "email": email, "kind": "access", "details": "", **extra},
    )


# --- My Page ----------------------------------------------------------------------------------


def test_the_privacy_page_needs_a_sign_in(client):
    response = client.get("/mypage/privacy/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_the_privacy_centre_offers_every_right_in_one_place(alice_client):
    body = alice_client.get("/mypage/privacy/").content.decode()
    for text in (
        "Download a copy of your data",
        "Correct your data",
        "/mypage/profile/edit/",
        "Object to marketing",
        "Object to analytics",
        "Restrict all processing",
        "Withdraw every optional consent",
        "/privacy/cookies/",
        "Who received your data",
        "Delete your account and data",
        "accounting records for 7 years",
        "Your requests",
    ):
        assert text in body, text


def test_a_wrong_password_creates_nothing(alice_client, mailoutbox, committed):
    with committed():
        response = alice_client.post(
            "/mypage/privacy/request/erasure/", {"details": "", "password": "a wrong guess"}
        )
    assert response.status_code == 400
    assert "That is not your current password." in response.content.decode()
    assert DataRequest.objects.count() == 0
    assert mailoutbox == []


def test_an_erasure_request_shows_in_the_list_with_its_due_date(alice_client, alice, committed):
    page = alice_client.get("/mypage/privacy/request/erasure/").content.decode()
    assert "What we must keep, and why" in page
    with committed():
        response = alice_client.post(
            "/mypage/privacy/request/erasure/", {"details": "", "password": PASSWORD}
        )
    assert response.status_code == 302 and response.url == "/mypage/privacy/"
    data_request = DataRequest.objects.get(user=alice)
    assert data_request.kind == "erasure" and data_request.state == State.RECEIVED
    body = alice_client.get("/mypage/privacy/").content.decode()
    assert "Delete my account and data" in body
    assert "Received" in body
    assert formats.date_format(timezone.localtime(data_request.due_at), "DATE_FORMAT") in body


def test_a_second_open_request_of_the_same_kind_is_refused(alice_client, alice):
    alice_client.post("/mypage/privacy/request/erasure/", {"password": PASSWORD})
    response = alice_client.post("/mypage/privacy/request/erasure/", {"password": PASSWORD})
    assert response.status_code == 409
    assert "You already have an open request of this kind" in response.content.decode()
    assert DataRequest.objects.filter(user=alice).count() == 1


def test_a_rectification_needs_the_details(alice_client):
    response = alice_client.post("/mypage/privacy/request/rectification/", {"password": PASSWORD})
    assert response.status_code == 400
    assert DataRequest.objects.count() == 0


def test_an_unknown_kind_is_not_found(alice_client):
    assert alice_client.get("/mypage/privacy/request/objection/").status_code == 404
    assert alice_client.get("/mypage/privacy/request/everything/").status_code == 404


def test_objecting_to_marketing_from_my_page_works_at_once(alice_client, alice):
    response = alice_client.post("/mypage/privacy/objection/", {"effect": "marketing"})
    assert response.status_code == 302
    assert not processing_allowed(alice, "marketing")
    body = alice_client.get("/mypage/privacy/").content.decode()
    assert "Object to the use of my data for marketing" in body  # listed among the requests
    assert "Lift: Marketing" in body
    assert 'value="marketing"' not in body  # the objection button is gone while it is in force


def test_a_bad_objection_changes_nothing(alice_client, alice):
    response = alice_client.post("/mypage/privacy/objection/", {"effect": "everything"})
    assert response.status_code == 302
    assert DataRequest.objects.count() == 0
    assert ProcessingRestriction.objects.count() == 0


def test_an_objection_without_the_csrf_token_is_refused(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post("/mypage/privacy/objection/", {"effect": "all"})
    assert response.status_code == 403
    assert processing_allowed(alice, "disclosure")


def test_another_customer_cannot_lift_alices_restriction(alice_client, alice, bob):
    alice_client.post("/mypage/privacy/objection/", {"effect": "all"})
    restriction = ProcessingRestriction.objects.get(user=alice)
    bob_client = Client()
    bob_client.force_login(bob)
    response = bob_client.post(f"/mypage/privacy/restrictions/{restriction.pk}/lift/")
    assert response.status_code == 404
    assert not processing_allowed(alice, "marketing")
    response = alice_client.post(f"/mypage/privacy/restrictions/{restriction.pk}/lift/")
    assert response.status_code == 302
    assert processing_allowed(alice, "marketing")


def test_another_customers_requests_are_not_listed(alice_client, alice, bob):
    bob_client = Client()
    bob_client.force_login(bob)
    bob_client.post(
        "/mypage/privacy/request/rectification/",
        {"details": "Bob's secret correction", "password": PASSWORD},
    )
    assert DataRequest.objects.filter(user=bob).count() == 1
    body = alice_client.get("/mypage/privacy/").content.decode()
    assert "Bob&#x27;s secret correction" not in body and "secret correction" not in body
    assert "You have not made any privacy request yet." in body


# --- the public form ------------------------------------------------------------------------


def test_the_policy_page_links_to_the_public_form(client):
    assert 'href="/privacy/request/"' in client.get("/privacy/policy/").content.decode()


def test_known_and_unknown_addresses_get_the_same_page(client, alice, mailoutbox, committed):
    with committed():
        known = _public_post(client, "alice@example.com")
        unknown = _public_post(client, "nobody@example.net")
    assert known.status_code == unknown.status_code == 302
    assert known.url == unknown.url == "/privacy/request/sent/"
    page = client.get("/privacy/request/sent/").content.decode()
    assert "If we hold data about this address, you will get an e-mail" in page
    assert [m.to for m in mailoutbox] == [["alice@example.com"], ["nobody@example.net"]]


def test_bad_public_input_re_renders_with_errors_and_creates_nothing(client, mailoutbox):
    response = client.post(
        "/privacy/request/", {"name": "", "email": "not-an-address", "kind": "everything"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Enter a valid email address." in body
    assert "Select a valid choice." in body
    assert DataRequest.objects.count() == 0 and mailoutbox == []


def test_someone_typing_alices_address_gets_nothing(client, alice, mailoutbox, committed):
    with committed():
        _public_post(client, "alice@example.com", name="Mallory")
    data_request = DataRequest.objects.get()
    assert data_request.state == State.UNVERIFIED and data_request.user is None
    assert data_request.exports.count() == 0
    # The only e-mail went to Alice; the sender's browser got nothing about her.
    assert [m.to for m in mailoutbox] == [["alice@example.com"]]
    assert "Alice" not in client.get("/privacy/request/sent/").content.decode()


def test_following_the_link_confirms_once(client, mailoutbox, committed):
    with committed():
        _public_post(client, "visitor@example.net", kind="rectification", details="Wrong port")
    path = _verify_path(mailoutbox[0].body)
    # Opening the link shows what would be confirmed; a mail scanner's GET changes nothing.
    page = client.get(path)
    assert page.status_code == 200 and "Confirm my request" in page.content.decode()
    assert DataRequest.objects.get().state == State.UNVERIFIED
    with committed():
        confirmed = client.post(path)
    assert confirmed.status_code == 200
    assert "Your request is confirmed" in confirmed.content.decode()
    data_request = DataRequest.objects.get()
    assert data_request.state == State.RECEIVED
    assert data_request.due_at is not None
    assert "We will answer by" in mailoutbox[1].body

    replay = client.post(path)
    assert replay.status_code == 400
    assert "This link does not work" in replay.content.decode()
    assert client.get(path).status_code == 400
    assert DataRequest.objects.get().verified_at == data_request.verified_at


def test_an_expired_link_shows_a_clear_page_and_changes_nothing(client, mailoutbox, committed):
    with committed():
        _public_post(client, "visitor@example.net", kind="erasure")
    path = _verify_path(mailoutbox[0].body)
    DataRequest.objects.update(token_expires_at=timezone.now() - timedelta(minutes=1))
    response = client.post(path)
    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()
    assert DataRequest.objects.get().state == State.UNVERIFIED


def test_many_requests_from_one_network_are_refused_without_naming_anyone(client, settings):
    from exportdesk.privacy import requests as privacy_requests

    for n in range(privacy_requests.PUBLIC_PER_IP_PER_HOUR):
        assert _public_post(client, f"person{n}@example.net").status_code == 302
    response = _public_post(client, "one.more@example.net")
    assert response.status_code == 429
    assert "Please try again later." in response.content.decode()
    assert not DataRequest.objects.filter(email="one.more@example.net").exists()


def test_the_privacy_page_costs_the_same_queries_with_many_requests(
    alice_client, alice, committed, django_assert_num_queries
):
    # Session, user, requests, their exports, restrictions, consent rows, policy.
    queries = 12
    with committed():
        alice_client.post("/mypage/privacy/request/access/", {"password": PASSWORD})
    with django_assert_num_queries(queries):
        assert alice_client.get("/mypage/privacy/").status_code == 200
    for effect in ("marketing", "analytics", "all", "consent"):
        alice_client.post("/mypage/privacy/objection/", {"effect": effect})
    with committed():
        alice_client.post("/mypage/privacy/request/portability/", {"password": PASSWORD})
    alice_client.post("/mypage/privacy/request/erasure/", {"password": PASSWORD})
    assert DataRequest.objects.filter(user=alice).count() == 7
    with django_assert_num_queries(queries):
        assert alice_client.get("/mypage/privacy/").status_code == 200

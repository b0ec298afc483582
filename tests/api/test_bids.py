"""The bids API: the same services as the pages, so the same refusals; 404 for another
customer's request, 409 once staff have locked it, 4xx with a reason for bad input, never 500,
and the session's CSRF token required on every write."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from exportdesk.auctions.models import BidRequest
from exportdesk.auctions.services import bid_request_mark_processed, bid_request_place
from exportdesk.payments.models import DepositHold
from exportdesk.payments.selectors import deposit_available, ledger_check
from tests.auctions.factories import lot
from tests.factories import staff
from tests.payments.factories import bank_account, confirmed_deposit
from tests.stock.factories import mombasa, usd_rate

pytestmark = pytest.mark.django_db

URL = "/api/v1/bids/"


@pytest.fixture
def accountant(db):
    return staff("anna.accounts@exporter.example", "accounting")


@pytest.fixture
def deposit(alice, accountant):
    """Alice's confirmed USD 5,000, at 152.30 yen a dollar."""
    usd_rate()
    bank_account("USD")
    return confirmed_deposit(alice, Decimal(5000), staff=accountant)


@pytest.fixture
def api(client: Client, alice) -> Client:
    client.force_login(alice)
    return client


def post(client: Client, path: str, body: object | None = None, **kwargs):
    data = json.dumps(body) if body is not None else ""
    return client.post(path, data=data, content_type="application/json", **kwargs)


def patch(client: Client, path: str, body: object):
    return client.patch(path, data=json.dumps(body), content_type="application/json")


def place(customer, max_bid=1_500_000):
    return bid_request_place(
        customer=customer, lot=lot(), max_bid_jpy=max_bid, note="", port=None, deposit=None
    )


def test_a_customer_creates_lists_changes_and_withdraws_a_request(
    api, alice, bob, deposit, accountant
):
    the_lot = lot(lot_number="11111")
    created = post(
        api,
        URL,
        {
            "lot": the_lot.pk,
            "max_bid_jpy": 1_500_000,
            "note": "Grade 4 or better",
            "port": mombasa().pk,
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["lot_number"] == "11111" and body["status"] == "pending" and body["editable"]
    assert (body["hold_amount"], body["hold_currency"]) == ("984.900", "USD")
    assert body["port"] == mombasa().pk and body["note"] == "Grade 4 or better"

    confirmed_deposit(bob, Decimal(5000), staff=accountant)
    place(bob)  # someone else's request never shows
    listed = api.get(URL).json()
    assert [b["id"] for b in listed] == [body["id"]]

    changed = patch(api, f"{URL}{body['id']}", {"max_bid_jpy": 3_000_000})
    assert changed.status_code == 200
    assert changed.json()["max_bid_jpy"] == 3_000_000
    assert changed.json()["note"] == "Grade 4 or better"
    assert changed.json()["hold_amount"] == "1969.800"

    withdrawn = post(api, f"{URL}{body['id']}/withdraw")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert deposit_available(deposit) == Decimal(5000)
    assert ledger_check() == []


def test_a_bid_above_the_deposits_limit_is_400_with_the_reason(api, deposit):
    response = post(api, URL, {"lot": lot().pk, "max_bid_jpy": 100_000_000})
    assert response.status_code == 400
    assert response.json()["detail"].startswith(
        "A maximum bid of JPY 100,000,000 needs USD 65,659.90 of your deposit held, but only "
        "USD 5,000.00 of it is free."
    )
    assert not BidRequest.objects.exists() and not DepositHold.objects.exists()


def test_a_bid_on_a_past_auction_is_400(api, deposit):
    past = lot(auction_at=timezone.now() - timezone.timedelta(hours=1))
    response = post(api, URL, {"lot": past.pk, "max_bid_jpy": 1_500_000})
    assert response.status_code == 400
    assert response.json() == {"detail": "This auction has already taken place."}


def test_a_processed_request_answers_409_with_the_reason(api, alice, deposit):
    sam = staff("sam.sales@exporter.example", "sales")
    bid = bid_request_mark_processed(bid=place(alice), staff=sam)

    changed = patch(api, f"{URL}{bid.pk}", {"max_bid_jpy": 2_000_000})
    assert changed.status_code == 409
    assert "can no longer be changed" in changed.json()["detail"]
    withdrawn = post(api, f"{URL}{bid.pk}/withdraw")
    assert withdrawn.status_code == 409

    bid.refresh_from_db()
    assert bid.status == BidRequest.Status.PROCESSED and bid.max_bid_jpy == 1_500_000
    assert bid.hold.status == DepositHold.Status.HELD
    assert api.get(URL).json()[0]["editable"] is False


def test_another_customers_request_is_404(client, alice, bob, deposit):
    bid = place(alice)
    client.force_login(bob)
    assert patch(client, f"{URL}{bid.pk}", {"max_bid_jpy": 2_000_000}).status_code == 404
    assert post(client, f"{URL}{bid.pk}/withdraw").status_code == 404
    assert patch(client, f"{URL}999999", {"note": "x"}).status_code == 404
    assert client.get(URL).json() == []
    bid.refresh_from_db()
    assert bid.status == BidRequest.Status.PENDING and bid.max_bid_jpy == 1_500_000


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"lot": 1, "max_bid_jpy": 0}, 422),
        ({"lot": 1, "max_bid_jpy": 10**12}, 422),
        ({"lot": 1, "max_bid_jpy": "lots"}, 422),
        ({"max_bid_jpy": 1_500_000}, 422),
        ({"lot": 1, "max_bid_jpy": 1_500_000, "note": "x" * 1001}, 422),
        ({"lot": 999999, "max_bid_jpy": 1_500_000}, 422),
        ({"lot": "LOT", "max_bid_jpy": 1_500_000, "port": 999999}, 422),
        ([1, 2, 3], 422),
    ],
)
def test_bad_input_is_refused_with_a_reason_and_never_500(api, deposit, body, status):
    the_lot = lot()
    if isinstance(body, dict) and body.get("lot") == 1:
        body["lot"] = the_lot.pk
    response = post(api, URL, body)
    assert response.status_code == status, response.content
    assert response.json()["detail"]
    assert not BidRequest.objects.exists()


def test_unknown_port_or_deposit_and_broken_json_are_refused(api, bob, deposit, accountant):
    the_lot = lot()
    response = post(api, URL, {"lot": the_lot.pk, "max_bid_jpy": 1_500_000, "port": 999999})
    assert response.status_code == 422 and response.json() == {"detail": "There is no such port."}
    bobs = confirmed_deposit(bob, Decimal(9000), staff=accountant)
    response = post(api, URL, {"lot": the_lot.pk, "max_bid_jpy": 1_500_000, "deposit": bobs.pk})
    assert response.status_code == 422
    assert response.json() == {"detail": "You have no such deposit."}
    broken = api.post(URL, data="{not json", content_type="application/json")
    assert 400 <= broken.status_code < 500
    edit = api.patch(f"{URL}1", data="{", content_type="application/json")
    assert 400 <= edit.status_code < 500
    assert not BidRequest.objects.exists()


def test_the_api_needs_a_signed_in_session(client, deposit):
    assert client.get(URL).status_code == 401
    assert post(client, URL, {"lot": lot().pk, "max_bid_jpy": 1_500_000}).status_code == 401
    assert not BidRequest.objects.exists()


def test_a_write_without_the_csrf_token_is_refused(alice, deposit):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    the_lot = lot()
    body = {"lot": the_lot.pk, "max_bid_jpy": 1_500_000}

    refused = post(browser, URL, body)
    assert refused.status_code == 403
    assert not BidRequest.objects.exists()

    # A page of ours gives the token (cookie) that the API expects back in the header.
    browser.get("/mypage/bids/")
    token = browser.cookies["ed_csrftoken"].value
    accepted = post(browser, URL, body, HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201
    assert browser.get(URL).status_code == 200  # reads need no token

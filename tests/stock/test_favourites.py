"""Favourites: in the account for members; for visitors a signed 5-day cookie with functional
consent, otherwise only the session; merged into the account at sign-in."""

from __future__ import annotations

import pytest
from django.core import signing
from django.test import Client

from exportdesk.privacy.cookies import cookie_declarations
from exportdesk.stock.favourites import FAVOURITES_COOKIE
from exportdesk.stock.models import Favourite
from tests.factories import PASSWORD
from tests.stock.factories import vehicle

pytestmark = pytest.mark.django_db

FIVE_DAYS = 5 * 24 * 60 * 60


@pytest.fixture
def prius(db):
    return vehicle(stock_number="KA1001", fob_price_jpy=1_200_000)


@pytest.fixture
def hiace(db):
    return vehicle(model="hiace-van", stock_number="KA1002", fob_price_jpy=2_200_000)


def toggle(client: Client, stock_number: str, next_url: str = ""):
    data = {"next": next_url} if next_url else {}
    return client.post(f"/stock/{stock_number}/favourite/", data)


def accept_cookies(client: Client) -> None:
    client.post("/privacy/cookies/choice/", {"choice": "accept_all"})


# --- members ----------------------------------------------------------------------------------


def test_a_member_adds_and_removes_a_favourite(alice_client, alice, prius):
    response = toggle(alice_client, "KA1001")
    assert response.status_code == 302
    assert response.url == "/stock/KA1001/"
    favourite = Favourite.objects.get(user=alice)
    assert favourite.vehicle == prius
    assert favourite.price_when_added_jpy == 1_200_000
    assert FAVOURITES_COOKIE not in response.cookies
    page = alice_client.get("/stock/KA1001/").content.decode()
    assert "Added to your favourites." in page
    assert "★ In favourites" in page

    toggle(alice_client, "KA1001")
    assert not Favourite.objects.filter(user=alice).exists()
    assert "Removed from your favourites." in alice_client.get("/stock/KA1001/").content.decode()


def test_a_member_sees_price_and_status_changes_on_my_page(alice_client, alice, prius, hiace):
    toggle(alice_client, "KA1001")
    toggle(alice_client, "KA1002")
    page = alice_client.get("/mypage/favourites/").content.decode()
    assert prius.title in page and hiace.title in page
    assert "Price dropped" not in page

    prius.fob_price_jpy = 990_000
    prius.save()
    hiace.fob_price_jpy = 2_300_000
    hiace.status = "reserved"
    hiace.save()
    page = alice_client.get("/mypage/favourites/").content.decode()
    assert "JPY 990,000" in page
    assert "Price dropped (was JPY 1,200,000)" in page
    assert "Price rose (was JPY 2,200,000)" in page
    assert "Reserved" in page
    assert "changed since you saved it" in page


def test_a_sold_favourite_stays_on_my_page_without_a_link(alice_client, alice, prius):
    toggle(alice_client, "KA1001")
    prius.status = "sold"
    prius.save()
    page = alice_client.get("/mypage/favourites/").content.decode()
    assert prius.title in page
    assert "Sold" in page
    assert 'href="/stock/KA1001/"' not in page


def test_my_favourites_are_mine_alone(alice_client, alice, bob, prius):
    toggle(alice_client, "KA1001")
    other = Client()
    other.force_login(bob)
    page = other.get("/mypage/favourites/").content.decode()
    assert prius.title not in page
    assert "No favourites yet." in page


def test_my_page_favourites_need_sign_in(client, db):
    response = client.get("/mypage/favourites/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_a_member_is_sent_from_the_visitor_list_to_my_page(alice_client):
    response = alice_client.get("/stock/favourites/")
    assert response.status_code == 302
    assert response.url == "/mypage/favourites/"


def test_favouriting_needs_a_post_and_a_car_on_sale(client, db):
    vehicle(stock_number="SOLD01", status="sold")
    assert client.get("/stock/SOLD01/favourite/").status_code == 405
    assert client.post("/stock/SOLD01/favourite/").status_code == 404
    assert client.post("/stock/NOPE/favourite/").status_code == 404


def test_the_return_address_must_be_on_this_site(alice_client, prius):
    response = toggle(alice_client, "KA1001", "https://evil.example/phish")
    assert response.url == "/stock/KA1001/"
    response = toggle(alice_client, "KA1001", "/stock/?fuel=hybrid")
    assert response.url == "/stock/?fuel=hybrid"


# --- visitors ---------------------------------------------------------------------------------


def test_a_visitor_without_consent_keeps_favourites_for_the_session_only(client, prius):
    response = toggle(client, "KA1001")
    assert response.status_code == 302
    assert FAVOURITES_COOKIE not in response.cookies
    assert client.session["favourites"] == [prius.pk]
    page = client.get("/stock/favourites/").content.decode()
    assert prius.title in page
    assert "You have not allowed functional cookies" in page
    assert "last only until you close the browser" in page
    assert not Favourite.objects.exists()


def test_a_visitor_who_refused_cookies_is_told_why_favourites_do_not_last(client, prius):
    client.post("/privacy/cookies/choice/", {"choice": "reject_all"})
    response = toggle(client, "KA1001")
    assert FAVOURITES_COOKIE not in response.cookies
    assert (
        "You have not allowed functional cookies"
        in client.get("/stock/favourites/").content.decode()
    )


def test_a_visitor_with_consent_gets_a_signed_five_day_cookie(client, prius, hiace):
    accept_cookies(client)
    response = toggle(client, "KA1001")
    cookie = response.cookies[FAVOURITES_COOKIE]
    assert cookie["max-age"] == FIVE_DAYS
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert cookie.value != f"[{prius.pk}]"  # signed, not a bare list anyone could edit
    assert signing.loads(cookie.value, salt="exportdesk.stock.favourites") == [prius.pk]
    assert "favourites" not in client.session

    toggle(client, "KA1002")
    page = client.get("/stock/favourites/").content.decode()
    assert prius.title in page and hiace.title in page
    assert "kept in a cookie on this device for 5 days" in page

    # Another visit on the same device: a new session, the cookie still holds the list.
    client.cookies.pop("ed_session", None)
    page = client.get("/stock/favourites/").content.decode()
    assert prius.title in page and hiace.title in page

    response = toggle(client, "KA1002")
    assert signing.loads(
        response.cookies[FAVOURITES_COOKIE].value, salt="exportdesk.stock.favourites"
    ) == [prius.pk]


@pytest.mark.parametrize(
    "tampered",
    [
        "[1,2,3]",
        "garbage",
        "WzEsMiwzXQ:1tAbCd:forgedsignature",
        signing.dumps([1, 2, 3], salt="another.salt"),
        "",
    ],
)
def test_a_tampered_favourites_cookie_is_ignored_without_error(client, prius, tampered):
    accept_cookies(client)
    client.cookies[FAVOURITES_COOKIE] = tampered
    response = client.get("/stock/favourites/")
    assert response.status_code == 200
    assert "No favourites yet." in response.content.decode()
    assert client.get("/stock/").status_code == 200
    assert client.get("/stock/KA1001/").status_code == 200
    # Adding a favourite starts a clean list.
    response = toggle(client, "KA1001")
    assert signing.loads(
        response.cookies[FAVOURITES_COOKIE].value, salt="exportdesk.stock.favourites"
    ) == [prius.pk]


def test_a_signed_cookie_with_the_wrong_shape_is_ignored(client, prius):
    accept_cookies(client)
    for payload in ({"ids": [prius.pk]}, ["1", None, prius.pk], "KA1001"):
        client.cookies[FAVOURITES_COOKIE] = signing.dumps(
            payload, salt="exportdesk.stock.favourites"
        )
        response = client.get("/stock/favourites/")
        assert response.status_code == 200


def test_a_visitor_list_never_shows_cars_no_longer_on_sale(client, prius, hiace):
    toggle(client, "KA1001")
    toggle(client, "KA1002")
    hiace.status = "withdrawn"
    hiace.save()
    page = client.get("/stock/favourites/").content.decode()
    assert prius.title in page
    assert hiace.title not in page


def test_favourites_are_declared_as_a_functional_cookie_for_five_days():
    declared = cookie_declarations()[FAVOURITES_COOKIE]
    assert declared.category == "functional"
    assert str(declared.duration) == "5 days"


# --- sign-in merges the visitor's list into the account ---------------------------------------


def _sign_in(client: Client, email: str):
    response = client.post("/accounts/login/", {"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return response


def test_session_favourites_merge_into_the_account_at_sign_in(client, alice, prius, hiace):
    toggle(client, "KA1001")
    toggle(client, "KA1002")
    _sign_in(client, alice.email)
    assert set(
        Favourite.objects.filter(user=alice).values_list("vehicle__stock_number", flat=True)
    ) == {
        "KA1001",
        "KA1002",
    }
    page = client.get("/mypage/favourites/").content.decode()
    assert prius.title in page and hiace.title in page


def test_cookie_favourites_merge_into_the_account_at_sign_in(client, alice, prius, hiace):
    accept_cookies(client)
    toggle(client, "KA1002")
    _sign_in(client, alice.email)
    assert list(Favourite.objects.filter(user=alice).values_list("vehicle", flat=True)) == [
        hiace.pk
    ]


def test_merging_keeps_what_the_account_already_had(client, alice, prius, hiace):
    Favourite.objects.create(
        user=alice, vehicle=prius, price_when_added_jpy=1_500_000, status_when_added="available"
    )
    toggle(client, "KA1001")
    toggle(client, "KA1002")
    _sign_in(client, alice.email)
    assert Favourite.objects.filter(user=alice).count() == 2
    # The price alice saw when she first saved it is kept.
    assert Favourite.objects.get(user=alice, vehicle=prius).price_when_added_jpy == 1_500_000


def test_a_visitors_favourites_do_not_go_to_the_next_person_signing_in(client, alice, bob, prius):
    toggle(client, "KA1001")
    _sign_in(client, alice.email)
    client.post("/accounts/logout/")
    _sign_in(client, bob.email)
    assert not Favourite.objects.filter(user=bob).exists()


def test_a_merged_cookie_list_does_not_go_to_the_next_person_signing_in(client, alice, bob, prius):
    # A shared computer (an internet café): the visitor's list joins alice's account once;
    # bob signing in later on the same browser must not receive alice's cars.
    accept_cookies(client)
    toggle(client, "KA1001")
    _sign_in(client, alice.email)
    assert Favourite.objects.filter(user=alice).count() == 1
    client.post("/accounts/logout/")
    _sign_in(client, bob.email)
    assert not Favourite.objects.filter(user=bob).exists()


def test_withdrawing_functional_consent_deletes_the_stock_cookies(client, prius):
    from tests.stock.factories import mombasa

    accept_cookies(client)
    toggle(client, "KA1001")
    client.get("/stock/KA1001/", {"port": mombasa().pk})
    assert FAVOURITES_COOKIE in client.cookies and "ed_destination" in client.cookies
    response = client.post("/privacy/cookies/choice/", {"choice": "reject_all"})
    assert response.cookies[FAVOURITES_COOKIE]["max-age"] == 0
    assert response.cookies["ed_destination"]["max-age"] == 0

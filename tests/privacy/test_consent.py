from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory

from exportdesk.core.models import AppendOnlyError, AuditEvent
from exportdesk.privacy.cookies import VISITOR_COOKIE, cookie_declarations
from exportdesk.privacy.middleware import CookieViolation, cookie_guard
from exportdesk.privacy.models import ConsentRecord

pytestmark = pytest.mark.django_db

OPTIONAL = {"functional", "statistics", "marketing"}


def _choose(client: Client, choice: str, **categories: str):
    return client.post(
        "/privacy/cookies/choice/", {"choice": choice, "next": "/stock/", **categories}
    )


def _current(client: Client) -> dict[str, bool]:
    visitor = client.cookies[VISITOR_COOKIE].value
    rows = ConsentRecord.objects.filter(visitor_id=visitor).order_by("-created_at", "-pk")
    current: dict[str, bool] = {}
    for row in rows:
        current.setdefault(row.purpose, row.granted)
    return current


def test_a_new_visitor_sees_the_banner_with_accept_and_reject_side_by_side(client):
    body = client.get("/").content.decode()
    assert 'id="cookie-banner"' in body
    assert body.index('value="accept_all"') < body.index('value="reject_all"')
    assert "Choose categories" in body
    assert "Cookie settings" in body  # the footer link to change the choice later


def test_reject_all_records_a_refusal_per_category_and_sets_only_necessary_cookies(client):
    response = _choose(client, "reject_all")
    assert response.status_code == 302 and response.url == "/stock/"
    assert _current(client) == {c: False for c in OPTIONAL}
    declared = cookie_declarations()
    for name in response.cookies:
        assert declared[name].category == "necessary", name
    body = client.get("/").content.decode()
    assert 'id="cookie-banner"' not in body


def test_accept_all_then_change_the_choice_later(client):
    _choose(client, "accept_all")
    assert _current(client) == {c: True for c in OPTIONAL}
    page = client.get("/privacy/cookies/").content.decode()
    assert 'name="functional" id="settings-functional" checked' in page
    client.post(
        "/privacy/cookies/choice/", {"choice": "save", "functional": "on", "source": "settings"}
    )
    assert _current(client) == {"functional": True, "statistics": False, "marketing": False}
    assert ConsentRecord.objects.filter(source="settings").count() == 3
    assert ConsentRecord.objects.count() == 6  # the ledger keeps the earlier choice too


def test_choose_categories(client):
    _choose(client, "save", statistics="on")
    assert _current(client) == {"functional": False, "statistics": True, "marketing": False}


def test_a_forged_consent_post_without_the_csrf_token_is_refused_and_records_nothing(db):
    attacker = Client(enforce_csrf_checks=True)
    response = _choose(attacker, "accept_all")
    assert response.status_code == 403
    assert ConsentRecord.objects.count() == 0


def test_a_malformed_consent_post_records_nothing(client):
    response = client.post("/privacy/cookies/choice/", {"choice": "everything"})
    assert response.status_code == 302
    assert response.url == "/privacy/cookies/"
    assert ConsentRecord.objects.count() == 0


def test_the_ledger_is_append_only(client):
    _choose(client, "accept_all")
    record = ConsentRecord.objects.first()
    record.granted = False
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        ConsentRecord.objects.all().delete()


def test_a_signed_in_users_choice_is_recorded_against_them_and_audited(alice_client, alice):
    _choose(alice_client, "reject_all")
    assert ConsentRecord.objects.filter(user=alice, granted=False).count() == 3
    assert AuditEvent.objects.filter(action="consent.recorded", subject_id=alice.pk).exists()
    # On another device, signed in, the banner does not ask again.
    other = Client()
    other.force_login(alice)
    assert 'id="cookie-banner"' not in other.get("/").content.decode()
    history = alice_client.get("/mypage/privacy/").content.decode()
    assert "Refused" in history


def test_global_privacy_control_refuses_statistics_and_marketing(client):
    _choose(client, "accept_all")
    page = client.get("/privacy/cookies/", HTTP_SEC_GPC="1").content.decode()
    assert "Global Privacy Control" in page
    assert 'id="settings-functional" checked' in page
    assert 'id="settings-statistics" checked' not in page
    assert 'id="settings-marketing" checked' not in page


def test_the_language_cookie_is_set_only_with_functional_consent(client):
    _choose(client, "reject_all")
    response = client.post("/language/", {"language": "ja", "next": "/"})
    assert "ed_language" not in response.cookies
    assert '<html lang="ja">' in client.get("/").content.decode()  # kept in the session

    _choose(client, "accept_all")
    response = client.post("/language/", {"language": "es", "next": "/"})
    assert response.cookies["ed_language"].value == "es"

    # Withdrawing functional consent deletes the cookie.
    response = _choose(client, "reject_all")
    assert response.cookies["ed_language"]["max-age"] == 0


def test_the_cookie_policy_lists_every_declared_cookie(client):
    body = client.get("/privacy/cookies/").content.decode()
    for name, declaration in cookie_declarations().items():
        assert f"<code>{name}</code>" in body
        assert str(declaration.duration) in body


def _guarded(request, set_cookie):
    def view(_request):
        response = HttpResponse("ok")
        set_cookie(response)
        return response

    return cookie_guard(view)(request)


def test_the_cookie_guard_raises_on_an_undeclared_cookie(settings):
    settings.COOKIE_GUARD_STRICT = True
    request = RequestFactory().get("/")
    with pytest.raises(CookieViolation, match="'tracker' is not declared"):
        _guarded(request, lambda r: r.set_cookie("tracker", "1"))


def test_the_cookie_guard_raises_on_a_functional_cookie_without_consent(settings):
    settings.COOKIE_GUARD_STRICT = True
    request = RequestFactory().get("/")
    with pytest.raises(CookieViolation, match="without the visitor's consent"):
        _guarded(request, lambda r: r.set_cookie("ed_language", "ja"))


def test_in_production_the_cookie_guard_drops_the_cookie_instead(settings, caplog):
    settings.COOKIE_GUARD_STRICT = False
    request = RequestFactory().get("/")
    response = _guarded(request, lambda r: r.set_cookie("tracker", "1"))
    assert "tracker" not in response.cookies
    assert "cookie guard dropped" in caplog.text

"""The breach register: recording, deadlines, who is affected, reports and notices."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from exportdesk.accounts.models import User
from exportdesk.core.models import AuditEvent
from exportdesk.privacy.breaches import (
    BreachFacts,
    BreachRefused,
    affected_users,
    breach_deadlines,
    breach_notices_send_now,
    breach_record,
    breach_report_record,
    deadline_due,
)
from exportdesk.privacy.models import (
    Breach,
    BreachNotice,
    BreachReport,
    DataRequest,
    ProcessingRestriction,
)
from tests.conftest import staff_login
from tests.factories import customer

pytestmark = pytest.mark.django_db

Kind = BreachReport.Kind


def _at(text: str) -> datetime:
    """A time in the exporter's zone (Asia/Tokyo), as the officer types it."""
    return timezone.make_aware(datetime.fromisoformat(text))


def _joined(user: User, when: datetime) -> User:
    User.objects.filter(pk=user.pk).update(date_joined=when)
    user.refresh_from_db()
    return user


def _facts(**overrides: object) -> BreachFacts:
    values: dict[str, object] = {
        "detected_at": _at("2026-03-10T09:00"),
        "description": "A misdirected e-mail export of the customer list.",
        "categories": ["contact"],
        "systems": "Back-office customer export",
        "occurred_from": _at("2026-03-01T00:00"),
        "occurred_until": _at("2026-03-09T23:59"),
        "malicious": False,
        "high_risk": True,
    }
    values.update(overrides)
    return BreachFacts(**values)  # type: ignore[arg-type]


def _breach(officer: User, **overrides: object) -> Breach:
    return breach_record(facts=_facts(**overrides), actor=officer)


def _request(user: User, received_at: datetime) -> DataRequest:
    return DataRequest.objects.create(
        kind=DataRequest.Kind.ACCESS,
        state=DataRequest.State.RECEIVED,
        channel=DataRequest.Channel.MYPAGE,
        user=user,
        email=user.email,
        identity_proof_note="Passport checked",
        received_at=received_at,
    )


@pytest.fixture
def officer_client(client: Client, privacy_officer: User) -> Client:
    return staff_login(client, privacy_officer)


# --- permissions ----------------------------------------------------------------------------------


def _paths(breach: Breach) -> list[tuple[str, str]]:
    ref = breach.reference
    base = "/backoffice/privacy/breaches/"
    return [
        ("get", base),
        ("get", f"{base}new/"),
        ("post", f"{base}new/"),
        ("get", f"{base}{ref}/"),
        ("get", f"{base}{ref}/edit/"),
        ("post", f"{base}{ref}/edit/"),
        ("post", f"{base}{ref}/reports/"),
        ("post", f"{base}{ref}/notices/"),
    ]


def test_it_refuses_customers_and_staff_without_the_permission(
    client, alice, sales, privacy_officer
):
    breach = _breach(privacy_officer)
    client.force_login(alice)
    for method, path in _paths(breach):
        response = getattr(client, method)(path)
        assert response.status_code == 403, (method, path)
        assert breach.description not in response.content.decode()
    client.logout()
    staff_login(client, sales)
    for method, path in _paths(breach):
        assert getattr(client, method)(path).status_code == 403, (method, path)
    assert Breach.objects.count() == 1
    assert not BreachReport.objects.exists() and not BreachNotice.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, privacy_officer):
    breach = _breach(privacy_officer)
    for method, path in _paths(breach):
        response = getattr(client, method)(path)
        assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_the_privacy_officer_reaches_every_page(officer_client, privacy_officer):
    breach = _breach(privacy_officer)
    for path in ["", "new/", f"{breach.reference}/", f"{breach.reference}/edit/"]:
        assert officer_client.get(f"/backoffice/privacy/breaches/{path}").status_code == 200


# --- recording ------------------------------------------------------------------------------------


def _form(**overrides: str) -> dict[str, object]:
    data: dict[str, object] = {
        "detected_at": "2026-03-10T09:00",
        "description": "Laptop with an unencrypted export stolen from a car.",
        "categories": ["contact", "identity"],
        "systems": "Staff laptop",
        "occurred_from": "2026-03-08T18:00",
        "occurred_until": "2026-03-09T08:00",
        "malicious": "on",
        "high_risk": "on",
    }
    data.update(overrides)
    return data


def test_recording_a_breach_numbers_it_by_year_and_audits_it(officer_client, privacy_officer):
    response = officer_client.post("/backoffice/privacy/breaches/new/", _form())
    assert response.status_code == 302
    breach = Breach.objects.get()
    assert breach.reference == "BR-2026-001"
    assert response.url == "/backoffice/privacy/breaches/BR-2026-001/"
    assert breach.categories == ["contact", "identity"]
    assert breach.malicious and breach.high_risk
    assert breach.detected_at == _at("2026-03-10T09:00")
    assert breach.recorded_by == privacy_officer
    event = AuditEvent.objects.get(action="privacy.breach_recorded")
    assert event.actor_id == privacy_officer.pk and event.details["reference"] == "BR-2026-001"

    officer_client.post("/backoffice/privacy/breaches/new/", _form())
    officer_client.post(
        "/backoffice/privacy/breaches/new/",
        _form(detected_at="2025-12-01T10:00", occurred_from="2025-11-30T10:00"),
    )
    assert sorted(Breach.objects.values_list("reference", flat=True)) == [
        "BR-2025-001",
        "BR-2026-001",
        "BR-2026-002",
    ]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"occurred_until": "2026-03-07T08:00"}, "The window cannot end before it starts."),
        ({"categories": []}, "Choose at least one kind of data."),
        ({"categories": ["gossip"]}, "Select a valid choice."),
        ({"detected_at": "2099-01-01T00:00"}, "The detection time cannot be in the future."),
        (
            {"occurred_from": "2026-03-11T00:00", "occurred_until": "2026-03-12T00:00"},
            "The incident cannot start after it was detected.",
        ),
        ({"detected_at": "yesterday"}, "Enter a valid date/time."),
        ({"description": ""}, "This field is required."),
    ],
)
def test_bad_input_re_renders_with_the_reason_and_changes_nothing(
    officer_client, overrides, message
):
    response = officer_client.post("/backoffice/privacy/breaches/new/", _form(**overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Breach.objects.exists()
    assert not AuditEvent.objects.filter(action="privacy.breach_recorded").exists()


def test_editing_moves_the_deadlines_with_the_facts(officer_client, privacy_officer):
    breach = _breach(privacy_officer)
    response = officer_client.post(
        f"/backoffice/privacy/breaches/{breach.reference}/edit/",
        _form(detected_at="2026-03-10T09:00", status="open"),
    )
    assert response.status_code == 302
    breach.refresh_from_db()
    assert breach.malicious  # now known to be an attack: the final report gets 60 days
    final = next(d for d in breach_deadlines(breach) if d.kind == Kind.PPC_FINAL)
    assert final.due_at == _at("2026-05-09T09:00")
    event = AuditEvent.objects.get(action="privacy.breach_updated")
    assert event.details["changed"]["malicious"] == [False, True]

    response = officer_client.post(
        f"/backoffice/privacy/breaches/{breach.reference}/edit/",
        _form(occurred_until="2026-03-01T00:00", status="closed"),
    )
    assert response.status_code == 400
    assert "The window cannot end before it starts." in response.content.decode()
    breach.refresh_from_db()
    assert breach.status == Breach.Status.OPEN


# --- deadlines ------------------------------------------------------------------------------------


def test_deadline_arithmetic():
    detected = _at("2026-03-10T09:00")
    due = {kind: deadline_due(kind=kind, detected_at=detected, malicious=False) for kind in Kind}
    assert due[Kind.GDPR_AUTHORITY] == _at("2026-03-13T09:00")  # 72 hours
    assert due[Kind.PPC_PRELIMINARY] == _at("2026-03-15T09:00")  # 5 days, the outer limit
    assert due[Kind.PPC_FINAL] == _at("2026-04-09T09:00")  # 30 days
    assert deadline_due(kind=Kind.PPC_FINAL, detected_at=detected, malicious=True) == _at(
        "2026-05-09T09:00"
    )  # 60 days for an attack


def test_deadlines_show_time_left_overdue_and_reports_sent(officer_client, privacy_officer):
    now = timezone.now()
    breach = _breach(
        privacy_officer,
        detected_at=now - timedelta(hours=80),
        occurred_from=now - timedelta(days=4),
        occurred_until=now - timedelta(hours=81),
    )
    by_kind = {d.kind: d for d in breach_deadlines(breach, now=now)}
    assert by_kind[Kind.GDPR_AUTHORITY].overdue  # 72 hours have passed
    assert not by_kind[Kind.PPC_PRELIMINARY].overdue
    assert by_kind[Kind.PPC_PRELIMINARY].time_left == timedelta(days=5) - timedelta(hours=80)

    body = officer_client.get(f"/backoffice/privacy/breaches/{breach.reference}/").content.decode()
    assert "Overdue by 8\xa0hours" in body
    assert '<strong class="overdue verdict banned">' in body
    assert "1\xa0day, 15\xa0hours left" in body

    breach_report_record(
        breach=breach,
        kind=Kind.GDPR_AUTHORITY,
        sent_at=now - timedelta(hours=1),
        reference="EDPB-123",
        notes="",
        actor=privacy_officer,
    )
    body = officer_client.get(f"/backoffice/privacy/breaches/{breach.reference}/").content.decode()
    assert "EDPB-123" in body and "after the deadline" in body
    assert "Overdue by" not in body


# --- reports --------------------------------------------------------------------------------------


def test_recording_a_report_once_per_kind(officer_client, privacy_officer):
    breach = _breach(privacy_officer)
    url = f"/backoffice/privacy/breaches/{breach.reference}/reports/"
    data = {"kind": Kind.PPC_PRELIMINARY, "sent_at": "2026-03-12T10:00", "reference": "PPC-77"}
    assert officer_client.post(url, data).status_code == 302
    report = BreachReport.objects.get()
    assert (report.kind, report.reference, report.sent_by) == (
        Kind.PPC_PRELIMINARY,
        "PPC-77",
        privacy_officer,
    )
    event = AuditEvent.objects.get(action="privacy.breach_report_recorded")
    assert event.details["on_time"] is True

    response = officer_client.post(url, {**data, "reference": "PPC-78"})
    assert response.status_code == 400
    assert "A report of this kind is already recorded for this breach." in response.content.decode()
    assert BreachReport.objects.get().reference == "PPC-77"
    with pytest.raises(BreachRefused):
        breach_report_record(
            breach=breach,
            kind=Kind.PPC_PRELIMINARY,
            sent_at=_at("2026-03-12T11:00"),
            reference="",
            notes="",
            actor=privacy_officer,
        )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "ppc_final", "sent_at": "2099-01-01T00:00"}, "cannot be in the future"),
        ({"kind": "ppc_final", "sent_at": "2026-03-01T00:00"}, "before the breach was detected"),
        ({"kind": "newspaper", "sent_at": "2026-03-12T10:00"}, "Select a valid choice."),
        ({"kind": "ppc_final"}, "This field is required."),
    ],
)
def test_a_bad_report_is_refused_with_the_reason(officer_client, privacy_officer, data, message):
    breach = _breach(privacy_officer)
    response = officer_client.post(
        f"/backoffice/privacy/breaches/{breach.reference}/reports/", data
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not BreachReport.objects.exists()


# --- affected people ------------------------------------------------------------------------------


def test_everyone_with_an_account_by_the_end_of_the_window_is_affected_for_contact_data(
    privacy_officer,
):
    breach = _breach(privacy_officer, categories=["contact"])
    alice = _joined(customer("alice@example.com"), _at("2025-06-01T00:00"))
    during = _joined(customer("dora@example.com"), _at("2026-03-05T00:00"))
    later = _joined(customer("lena@example.com"), _at("2026-03-10T00:00"))  # joined after

    affected = set(affected_users(categories=breach.categories, until=breach.occurred_until))

    assert {alice, during} <= affected
    assert later not in affected


def test_only_people_with_data_of_the_chosen_kinds_in_the_window_are_affected(privacy_officer):
    # Identity documents are only in the notes of privacy requests that needed proof.
    breach = _breach(privacy_officer, categories=["identification_document"])
    alice = _joined(customer("alice@example.com"), _at("2025-06-01T00:00"))
    bob = _joined(customer("bob@example.com"), _at("2025-06-01T00:00"))
    carol = _joined(customer("carol@example.com"), _at("2025-06-01T00:00"))
    _request(alice, _at("2026-02-01T10:00"))  # before the window: the data was there
    _request(bob, _at("2026-03-10T10:00"))  # after the window's end

    affected = list(affected_users(categories=breach.categories, until=breach.occurred_until))

    assert affected == [alice]
    assert carol not in affected


def test_the_page_shows_the_count_and_customer_numbers_only(officer_client, privacy_officer):
    breach = _breach(privacy_officer, categories=["contact"])
    alice = _joined(customer("alice@example.com", name="Alice Wanjiru"), _at("2025-06-01T00:00"))
    _joined(customer("bob@example.com"), _at("2025-07-01T00:00"))
    later = _joined(customer("lena@example.com"), _at("2026-03-10T00:00"))
    expected = affected_users(categories=["contact"], until=breach.occurred_until).count()

    body = officer_client.get(f"/backoffice/privacy/breaches/{breach.reference}/").content.decode()

    assert f"{expected} people affected" in body
    assert alice.customer_number in body and later.customer_number not in body
    assert "alice@example.com" not in body and "Alice Wanjiru" not in body


def test_the_affected_list_is_paginated(officer_client, privacy_officer):
    breach = _breach(privacy_officer, categories=["contact"])
    people = [_joined(customer(f"p{n}@example.com"), _at("2025-06-01T00:00")) for n in range(55)]
    first = officer_client.get(f"/backoffice/privacy/breaches/{breach.reference}/").content.decode()
    second = officer_client.get(
        f"/backoffice/privacy/breaches/{breach.reference}/?page=2"
    ).content.decode()
    assert "Page 1 of 2" in first and "Page 2 of 2" in second
    assert people[-1].customer_number in second and people[-1].customer_number not in first


def test_the_detail_page_does_not_query_per_person(
    officer_client, privacy_officer, django_assert_max_num_queries
):
    breach = _breach(privacy_officer, categories=["contact", "identification_document"])
    for n in range(3):
        _request(customer(f"few{n}@example.com"), _at("2026-02-01T10:00"))
    with django_assert_max_num_queries(40) as few:
        officer_client.get(f"/backoffice/privacy/breaches/{breach.reference}/")
    for n in range(40):
        _request(customer(f"many{n}@example.com"), _at("2026-02-01T10:00"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        officer_client.get(f"/backoffice/privacy/breaches/{breach.reference}/")


# --- notices --------------------------------------------------------------------------------------


def _erase(user: User) -> None:
    User.objects.filter(pk=user.pk).update(
        erased_at=timezone.now(), is_active=False, email=f"erased-{user.pk}@erased.invalid"
    )


def test_notices_reach_everyone_affected_once_in_their_language(
    officer_client, privacy_officer, committed
):
    breach = _breach(privacy_officer, categories=["contact"])
    alice = _joined(customer("alice@example.com", name="Alice Wanjiru"), _at("2025-06-01T00:00"))
    rosa = _joined(customer("rosa@example.com", name="Rosa Méndez"), _at("2025-06-01T00:00"))
    User.objects.filter(pk=rosa.pk).update(language="es")
    # A restricted account is still told: a breach notice is a legal duty, not marketing.
    ProcessingRestriction.objects.create(
        user=alice, scope=ProcessingRestriction.Scope.ALL, created_at=timezone.now()
    )
    gone = _joined(customer("gone@example.com"), _at("2025-06-01T00:00"))
    _erase(gone)
    later = _joined(customer("lena@example.com"), _at("2026-03-10T00:00"))
    affected = affected_users(categories=["contact"], until=breach.occurred_until)
    reachable = set(affected.filter(erased_at__isnull=True).values_list("email", flat=True))
    mail.outbox.clear()

    with committed():
        response = officer_client.post(f"/backoffice/privacy/breaches/{breach.reference}/notices/")

    assert response.status_code == 302
    sent_to = [m.to[0] for m in mail.outbox]
    assert sorted(sent_to) == sorted(reachable)
    assert {"alice@example.com", "rosa@example.com"} <= set(sent_to)
    assert later.email not in sent_to and gone.email not in sent_to
    assert BreachNotice.objects.filter(breach=breach).count() == len(reachable)
    to_alice = next(m for m in mail.outbox if m.to == ["alice@example.com"])
    assert "BR-2026-" in to_alice.subject
    assert "Hello Alice Wanjiru," in to_alice.body
    assert "A misdirected e-mail export" in to_alice.body
    assert "contact details" in to_alice.body
    assert "March 1, 2026" in to_alice.body
    to_rosa = next(m for m in mail.outbox if m.to == ["rosa@example.com"])
    assert "1 de marzo de 2026" in to_rosa.body  # dates in Spanish: rendered in her language

    body = officer_client.get(f"/backoffice/privacy/breaches/{breach.reference}/").content.decode()
    assert f"{len(reachable)} told" in body
    assert "1 cannot be reached (account erased)" in body
    assert "0 still to tell" in body

    # A second run tells nobody twice.
    mail.outbox.clear()
    with committed():
        officer_client.post(f"/backoffice/privacy/breaches/{breach.reference}/notices/")
    assert mail.outbox == []
    assert BreachNotice.objects.filter(breach=breach).count() == len(reachable)
    assert AuditEvent.objects.filter(action="privacy.breach_notices_sent").count() == 1


def test_notices_go_out_in_batches_and_resume_where_they_stopped(privacy_officer, committed):
    breach = _breach(privacy_officer, categories=["identification_document"])
    people = [customer(f"p{n}@example.com") for n in range(7)]
    for person in people:
        _request(person, _at("2026-02-01T10:00"))
    BreachNotice.objects.create(
        breach=breach, user=people[0], email=people[0].email, sent_at=timezone.now()
    )
    mail.outbox.clear()

    with committed():
        told = breach_notices_send_now(breach_id=breach.pk, actor_id=privacy_officer.pk, batch=2)

    assert told == 6
    assert sorted(m.to[0] for m in mail.outbox) == sorted(p.email for p in people[1:])
    assert AuditEvent.objects.filter(action="privacy.breach_notices_sent").count() == 3
    assert breach_notices_send_now(breach_id=breach.pk, actor_id=None, batch=2) == 0

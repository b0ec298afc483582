"""Data-subject requests: intake from My Page and the public form, verification, objections."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone

from exportdesk.accounts.models import User
from exportdesk.core.models import AuditEvent
from exportdesk.privacy.models import ConsentRecord, DataRequest, ProcessingRestriction
from exportdesk.privacy.requests import (
    PUBLIC_PER_EMAIL_PER_DAY,
    InvalidLink,
    RequestRefused,
    objection_apply,
    request_due_at,
    request_submit_mypage,
    request_submit_public,
    request_verify,
    requests_unverified_expire,
    restriction_lift_own,
    token_hash,
)
from exportdesk.privacy.restrictions import processing_allowed
from exportdesk.privacy.tasks import expire_privacy_links

pytestmark = pytest.mark.django_db

State = DataRequest.State


def _http(user: User | None = None, ip: str = "203.0.113.7"):
    request = RequestFactory().post("/", REMOTE_ADDR=ip)
    request.LANGUAGE_CODE = "en"
    request.session = {}
    if user is not None:
        request.user = user
    else:
        from django.contrib.auth.models import AnonymousUser

        request.user = AnonymousUser()
    return request


def _link_token(body: str) -> str:
    match = re.search(r"/privacy/request/verify/([\w-]+)/", body)
    assert match, body
    return match.group(1)


def _submit_public(email: str, **kwargs: str) -> None:
    request_submit_public(
        email=email,
        name=kwargs.get("name", "Grace"),
        kind=kwargs.get("kind", DataRequest.Kind.ACCESS),
        details=kwargs.get("details", ""),
        request=_http(),
    )


def test_due_date_is_thirty_days_after_receipt(settings):
    received = timezone.now()
    assert request_due_at(received) == received + timedelta(days=30)
    settings.PRIVACY_REQUEST_DAYS = 10
    assert request_due_at(received) == received + timedelta(days=10)


def test_a_mypage_request_is_received_with_its_due_date_and_acknowledged(
    alice, mailoutbox, committed
):
    with committed():
        data_request = request_submit_mypage(
            user=alice,
            kind=DataRequest.Kind.RECTIFICATION,
            details="My company name is Wanjiru Motors, not Kamau Motors.",
            request=_http(alice),
        )
    assert data_request.state == State.RECEIVED
    assert data_request.user == alice and data_request.email == alice.email
    assert data_request.due_at == data_request.received_at + timedelta(days=30)
    [mail] = mailoutbox
    assert mail.to == [alice.email]
    assert "Correct my data" in mail.body
    assert "Wanjiru Motors" in mail.body
    assert (
        data_request.due_at.astimezone(timezone.get_current_timezone()).strftime("%Y") in mail.body
    )
    assert "There is no fee." in mail.body
    event = AuditEvent.objects.get(action="privacy.request_submitted")
    assert event.subject_id == alice.pk


def test_a_mypage_request_of_another_kind_is_refused(alice):
    with pytest.raises(RequestRefused):
        request_submit_mypage(
            user=alice, kind=DataRequest.Kind.OBJECTION, details="", request=_http(alice)
        )
    assert DataRequest.objects.count() == 0


def test_typing_someone_elses_address_gives_no_data_and_mails_only_its_owner(
    alice, mailoutbox, committed
):
    with committed():
        _submit_public("Alice@Example.com ", name="Mallory", kind=DataRequest.Kind.ACCESS)
    data_request = DataRequest.objects.get()
    # Nothing is linked, built or sent anywhere else until the address owner follows the link.
    assert data_request.state == State.UNVERIFIED
    assert data_request.user is None
    assert data_request.exports.count() == 0
    assert data_request.due_at is None
    [mail] = mailoutbox
    assert mail.to == ["alice@example.com"]
    token = _link_token(mail.body)
    # Only a hash of the link is kept.
    assert data_request.token_hash == token_hash(token)
    assert token not in str(DataRequest.objects.values().get())


def test_an_unknown_address_gets_the_same_e_mail_as_a_known_one(alice, mailoutbox, committed):
    with committed():
        _submit_public("alice@example.com", name="Someone")
        _submit_public("nobody@example.net", name="Someone")
    known, unknown = mailoutbox
    assert known.subject == unknown.subject
    pattern = re.compile(r"/privacy/request/verify/[\w-]+/")
    assert pattern.sub("LINK", known.body) == pattern.sub("LINK", unknown.body)


def test_the_link_makes_the_request_received_once_and_links_the_account(
    alice, mailoutbox, committed
):
    with committed():
        _submit_public("alice@example.com", kind=DataRequest.Kind.RECTIFICATION, details="x")
    token = _link_token(mailoutbox[0].body)
    later = timezone.now()
    with committed():
        data_request = request_verify(token=token)
    assert data_request.state == State.RECEIVED
    assert data_request.user == alice
    assert data_request.received_at >= later  # the 30 days run from the confirmation
    assert data_request.due_at == data_request.received_at + timedelta(days=30)
    assert data_request.token_hash == ""
    assert "We will answer by" in mailoutbox[1].body
    with pytest.raises(InvalidLink) as replay:
        request_verify(token=token)
    assert not replay.value.expired
    assert DataRequest.objects.get().verified_at == data_request.verified_at


def test_an_expired_link_changes_nothing_and_the_request_expires(mailoutbox, committed):
    with committed():
        _submit_public("visitor@example.net", kind=DataRequest.Kind.ERASURE)
    token = _link_token(mailoutbox[0].body)
    DataRequest.objects.update(token_expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(InvalidLink) as expired:
        request_verify(token=token)
    assert expired.value.expired
    assert DataRequest.objects.get().state == State.UNVERIFIED
    assert expire_privacy_links.call_local() == {"requests_expired": 1, "exports_expired": 0}
    assert DataRequest.objects.get().state == State.EXPIRED
    assert requests_unverified_expire() == 0  # idempotent
    with pytest.raises(InvalidLink):
        request_verify(token=token)
    assert AuditEvent.objects.filter(action="privacy.request_expired").count() == 1


def test_a_forged_token_is_refused():
    with pytest.raises(InvalidLink):
        request_verify(token="not-a-token-we-sent")


def test_one_address_gets_at_most_five_links_a_day_without_anything_shown(mailoutbox, committed):
    with committed():
        for _ in range(PUBLIC_PER_EMAIL_PER_DAY + 2):
            _submit_public("target@example.net")
    assert len(mailoutbox) == PUBLIC_PER_EMAIL_PER_DAY
    assert DataRequest.objects.count() == PUBLIC_PER_EMAIL_PER_DAY


def test_objecting_to_marketing_takes_effect_at_once(alice):
    assert processing_allowed(alice, "marketing")
    data_request = objection_apply(user=alice, effect="marketing", request=_http(alice))
    assert not processing_allowed(alice, "marketing")
    assert processing_allowed(alice, "analytics")
    assert data_request.state == State.COMPLETED
    assert data_request.kind == DataRequest.Kind.OBJECTION
    latest = ConsentRecord.objects.filter(user=alice, purpose="marketing").first()
    assert latest is not None and latest.granted is False
    assert latest.source == ConsentRecord.Source.PRIVACY_CENTRE


def test_objecting_to_analytics_withdraws_statistics_consent(alice):
    objection_apply(user=alice, effect="analytics", request=_http(alice))
    assert not processing_allowed(alice, "analytics")
    latest = ConsentRecord.objects.filter(user=alice, purpose="statistics").first()
    assert latest is not None and latest.granted is False


def test_the_person_lifts_their_own_restriction_but_not_the_officers(alice, bob):
    objection_apply(user=alice, effect="all", request=_http(alice))
    assert not processing_allowed(alice, "disclosure")
    own = ProcessingRestriction.objects.get(user=alice)
    with pytest.raises(RequestRefused):
        restriction_lift_own(user=bob, restriction_id=own.pk)
    restriction_lift_own(user=alice, restriction_id=own.pk)
    assert processing_allowed(alice, "disclosure")

    officers = ProcessingRestriction.objects.create(
        user=alice, scope="disclosure", created_at=timezone.now()
    )
    with pytest.raises(RequestRefused):
        restriction_lift_own(user=alice, restriction_id=officers.pk)
    assert not processing_allowed(alice, "disclosure")


def test_withdrawing_every_consent_refuses_every_optional_purpose(alice):
    objection_apply(user=alice, effect="consent", request=_http(alice))
    current: dict[str, bool] = {}
    for row in ConsentRecord.objects.filter(user=alice):
        current.setdefault(row.purpose, row.granted)
    assert current == {"functional": False, "statistics": False, "marketing": False}

"""The public privacy notice's sections come from the inventory and cannot drift from it."""

from __future__ import annotations

import html

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory

from exportdesk.core.personal_data import PURPOSE_LABELS, declarations
from exportdesk.privacy.models import Recipient
from exportdesk.privacy.notice import notice_sections
from tests.privacy.test_ropa import DECLARED_RECIPIENT, with_declared_recipient

pytestmark = pytest.mark.django_db


def _rendered(user=None) -> str:
    request = RequestFactory().get("/privacy/policy/")
    context = {"notice_sections": notice_sections()}
    if user is not None:
        context["user"] = user
    return html.unescape(
        render_to_string("privacy/_notice_sections.html", context, request=request)
    )


def test_the_sections_come_in_reading_order():
    titles = [str(section["title"]) for section in notice_sections()]
    assert titles == [
        "What we collect",
        "Why we use it",
        "Our legal basis",
        "Who receives it",
        "How long we keep it",
        "Your rights",
    ]


def test_every_declared_purpose_retention_and_record_appears():
    page = _rendered()
    specs = [s for d in declarations().values() for s in d.personal.values()]
    for purpose in {p for s in specs for p in s.purposes}:
        assert str(PURPOSE_LABELS[purpose]) in page, purpose
    for retention in {str(s.retention) for s in specs}:
        assert retention in page, retention
    for declaration in declarations().values():
        if declaration.personal:
            assert str(declaration.description) in page, declaration.label
    for hold in {s.hold for s in specs if s.hold is not None}:
        assert str(hold.statute) in page, hold.name


def test_every_recipient_appears_declared_or_registered(monkeypatch):
    with_declared_recipient(monkeypatch)
    Recipient.objects.create(
        name="Blue Anchor Shipping",
        kind=Recipient.Kind.SHIPPING_LINE,
        country="KE",
        relationship=Recipient.Relationship.THIRD_PARTY,
        transfer_safeguard="Consent of the customer for each shipment",
    )
    page = _rendered()
    declared = {
        r for d in declarations().values() for s in d.personal.values() for r in s.recipients
    }
    assert DECLARED_RECIPIENT in declared
    for name in declared | {"Blue Anchor Shipping"}:
        assert name in page, name
    assert "Transfer outside Japan: Consent of the customer for each shipment" in page
    assert "At present no one outside our company receives your data." not in page


def test_recipients_named_in_declarations_are_listed_without_a_registry():
    """Shipping declares who receives consignee data (shipping lines, forwarders...), so the
    notice never claims that no one outside the company receives anything."""
    page = _rendered()
    assert "shipping lines" in page and "customs brokers" in page
    assert "At present no one outside our company receives your data." not in page


def test_the_rights_are_all_there_at_no_cost_within_30_days():
    page = _rendered()
    for right in [
        "Access",
        "Correction",
        "Deletion",
        "Restriction",
        "Objection",
        "Portability",
        "Withdrawal of consent",
        "Complaint",
    ]:
        assert f"<dt>{right}</dt>" in page
    assert "at no cost" in page
    assert "within 30 days" in page
    assert "Personal Information Protection Commission (PPC)" in page
    assert "data protection authority of the EU country" in page


def test_the_answer_time_follows_the_setting(settings):
    settings.PRIVACY_REQUEST_DAYS = 21
    assert "within 21 days" in _rendered()


def test_signed_in_people_get_a_link_to_their_privacy_page(alice):
    assert 'href="/mypage/privacy/"' in _rendered(alice)

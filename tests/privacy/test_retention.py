"""The retention sweep (issue 5, part 6): rules from the inventory, holds, inactive accounts."""

from __future__ import annotations

import io
import json
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from exportdesk.accounts.models import SecurityEvent, User
from exportdesk.core import personal_data
from exportdesk.core.models import AuditEvent
from exportdesk.core.personal_data import Expiry, ExpiryAction
from exportdesk.messaging.models import ContactEvent
from exportdesk.payments.imports import statement_import
from exportdesk.payments.models import (
    BankTransaction,
    Deposit,
    JournalEntry,
    MatchSuggestion,
    PaymentDeclaration,
    Refund,
)
from exportdesk.payments.services import Confirmation, credits_confirm
from exportdesk.privacy.models import (
    Breach,
    BreachNotice,
    DataExport,
    DataRequest,
    DisputeHold,
    ErasureRecord,
    InactivityNotice,
    ProvisionRecord,
    ReceiptRecord,
    Recipient,
    RecipientNotification,
)
from exportdesk.privacy.periods import before
from exportdesk.privacy.retention import (
    retention_apply,
    retention_problems,
    rule_cutoff,
)
from exportdesk.privacy.retention_tasks import apply_retention
from exportdesk.sales.models import Inquiry
from tests.factories import customer, staff
from tests.payments.factories import bank_account, mt940, order_for
from tests.privacy.people import person_everywhere

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def _ago(**kwargs: int) -> datetime:
    return timezone.now() - timedelta(**kwargs)


def _security_event(user: User | None, created_at: datetime) -> SecurityEvent:
    event = SecurityEvent.objects.create(user=user, kind="login", ip_address="203.0.113.7")
    SecurityEvent.objects.filter(pk=event.pk).update(created_at=created_at)
    return event


def _rows(report: Any, model: str, rule: str) -> int:
    return sum(o.rows for o in report.rules if o.model == model and o.rule == rule)


# --- the rules are declared for every model -------------------------------------------------


def test_every_model_with_personal_data_has_a_rule_or_says_what_it_is_kept_with():
    assert retention_problems() == []
    out = io.StringIO()
    call_command("retention", "--dry-run", stdout=out)  # refuses to run with a problem


@pytest.fixture
def undeclared_retention(monkeypatch):
    """A developer adds a model with personal data but forgets its retention, and mistypes
    another rule."""
    registry = dict(personal_data._registry)
    events = registry["accounts.SecurityEvent"]
    registry["accounts.SecurityEvent"] = personal_data.ModelDeclaration(
        model=events.model,
        description=events.description,
        subject=events.subject,
        personal=events.personal,
        not_personal=events.not_personal,
    )
    notices = registry["privacy.BreachNotice"]
    registry["privacy.BreachNotice"] = personal_data.ModelDeclaration(
        model=notices.model,
        description=notices.description,
        subject=notices.subject,
        personal=notices.personal,
        not_personal=notices.not_personal,
        expiry=(
            Expiry("breach_notice", "sent_at", ExpiryAction.DELETE),
            Expiry("breach_notices", "email", ExpiryAction.DELETE),
        ),
    )
    monkeypatch.setattr(personal_data, "_registry", registry)


def test_a_model_without_retention_or_a_broken_rule_fails_the_check(undeclared_retention):
    problems = retention_problems()
    assert "accounts.SecurityEvent: personal data without a retention rule or KeptWhile" in problems
    assert "privacy.BreachNotice (breach_notice): no such period in PRIVACY_RETENTION" in problems
    assert "privacy.BreachNotice (breach_notices): email is not a date" in problems
    with pytest.raises(CommandError, match="3 retention rule problem"):
        call_command("retention", stdout=io.StringIO(), stderr=io.StringIO())


def test_periods_count_calendar_months_and_years():
    moment = timezone.make_aware(datetime(2028, 2, 29, 10, 0))
    assert before(moment, "90d") == moment - timedelta(days=90)
    assert before(moment, "24m") == moment.replace(year=2026, day=28)
    assert before(moment, "3y") == moment.replace(year=2025, day=28)
    assert before(moment, "1m") == moment.replace(month=1)
    with pytest.raises(ValueError, match="not a retention period"):
        before(moment, "3 years")


def test_accounting_periods_count_from_the_end_of_the_fiscal_year(settings):
    """7 years after the end of the fiscal year (April to March): on 10 May 2033 the books of
    the year that ended on 31 March 2026 may go, those of the year after may not."""
    settings.FISCAL_YEAR_START_MONTH = 4
    rule = personal_data.declarations()["payments.BankTransaction"].expiry_rules[0]
    now = timezone.make_aware(datetime(2033, 5, 10, 12, 0))
    cutoff = timezone.localtime(rule_cutoff(rule, now))
    assert (cutoff.year, cutoff.month, cutoff.day, cutoff.hour) == (2026, 4, 1, 0)
    before_april = timezone.make_aware(datetime(2033, 3, 10, 12, 0))
    assert timezone.localtime(rule_cutoff(rule, before_april)).year == 2025


def test_periods_come_from_settings(alice, settings):
    _security_event(alice, _ago(days=40))
    assert retention_apply().total(ExpiryAction.DELETE) == 0
    settings.PRIVACY_RETENTION = {**settings.PRIVACY_RETENTION, "security_events": "30d"}
    assert _rows(retention_apply(), "accounts.SecurityEvent", "security_events") == 1


# --- each rule: exactly the rows past their period ------------------------------------------


def test_security_events_go_after_their_period_and_the_run_is_audited(alice, bob):
    old = [_security_event(alice, _ago(days=91)), _security_event(None, _ago(days=200))]
    recent = _security_event(bob, _ago(days=89))

    report = retention_apply()

    assert _rows(report, "accounts.SecurityEvent", "security_events") == 2
    assert not SecurityEvent.objects.filter(pk__in=[e.pk for e in old]).exists()
    assert SecurityEvent.objects.filter(pk=recent.pk).exists()
    event = AuditEvent.objects.get(action="privacy.retention_applied")
    assert event.object_type == "accounts.securityevent"
    assert event.details["rule"] == "security_events"
    assert event.details["rows"] == 2
    assert event.details["action"] == "delete"


def _contact(email: str, created_at: datetime, customer: User | None = None) -> ContactEvent:
    return ContactEvent.objects.create(
        email=email,
        customer=customer,
        kind="inquiry",
        direction="in",
        subject="Toyota Hiace price to Mombasa?",
        created_at=created_at,
    )


def _inquiry(email: str, created_at: datetime, user: User | None = None) -> Inquiry:
    return Inquiry.objects.create(
        user=user,
        name="Visitor",
        email=email,
        country="TZ",
        message="Price to Dar es Salaam?",
        created_at=created_at,
    )


def test_visitors_contacts_go_three_years_after_their_last_contact(alice):
    gone = [
        _contact("quiet@example.com", _ago(days=4 * 365)),
        _inquiry("quiet@example.com", _ago(days=3 * 366)),
    ]
    # The same address wrote again last year: the whole conversation stays.
    kept = [
        _contact("again@example.com", _ago(days=5 * 365)),
        _contact("again@example.com", _ago(days=365)),
        _inquiry("again@example.com", _ago(days=5 * 365)),
        _inquiry("again@example.com", _ago(days=100)),
        # Someone with an account keeps their history for the life of the account.
        _contact(alice.email, _ago(days=6 * 365), customer=alice),
        _inquiry(alice.email, _ago(days=6 * 365), user=alice),
    ]

    report = retention_apply()

    assert _rows(report, "messaging.ContactEvent", "visitor_contacts") == 1
    assert _rows(report, "sales.Inquiry", "visitor_contacts") == 1
    assert not ContactEvent.objects.filter(pk=gone[0].pk).exists()
    assert not Inquiry.objects.filter(pk=gone[1].pk).exists()
    for row in kept:
        assert type(row).objects.filter(pk=row.pk).exists()


def _declaration(user: User, status: str, closed_at: datetime | None) -> PaymentDeclaration:
    order = order_for(user)
    now = timezone.now()
    declaration = PaymentDeclaration.objects.create(
        customer=user,
        amount=order.total,
        currency="USD",
        paid_on=now.date(),
        payer_name="KAMAU MOTORS",
        payer_bank="Equity Bank",
        status=status,
        created_at=now,
        updated_at=now,
        closed_at=closed_at,
        slip_content_type="application/pdf",
    )
    declaration.orders.add(order)
    declaration.slip.save("slip.pdf", ContentFile(b"%PDF-1.4\n%%EOF\n"))
    return declaration


def test_withdrawn_and_expired_declarations_go_after_their_period(alice, settings):
    settings.PRIVACY_RETENTION = {**settings.PRIVACY_RETENTION, "closed_declarations": "30d"}
    _declaration(alice, "withdrawn", _ago(days=31))
    _declaration(alice, "expired", _ago(days=40))
    recent = _declaration(alice, "withdrawn", _ago(days=29))
    pending = _declaration(alice, "pending", None)

    report = retention_apply()

    assert _rows(report, "payments.PaymentDeclaration", "closed_declarations") == 2
    remaining = set(PaymentDeclaration.objects.values_list("pk", flat=True))
    assert remaining == {recent.pk, pending.pk}


def test_withdrawn_declarations_go_at_once_with_their_slips(
    alice, django_capture_on_commit_callbacks
):
    """The customer was told the declaration is removed: by default nothing of it stays."""
    withdrawn = _declaration(alice, "withdrawn", _ago(minutes=5))
    kept = _declaration(alice, "pending", None)
    assert default_storage.exists(withdrawn.slip.name)

    with django_capture_on_commit_callbacks(execute=True):
        retention_apply()

    assert not default_storage.exists(withdrawn.slip.name)
    assert default_storage.exists(kept.slip.name)


def test_match_suggestions_go_once_their_credit_is_settled(alice, bob):
    accountant = staff("acc@exporter.example", "accounting")
    alices, bobs = order_for(alice), order_for(bob)
    statement = mt940(
        [
            (alices.total, "ALICE WANJIRU", alices.proforma.number),
            (bobs.total, "BOB CAMPBELL", bobs.proforma.number),
        ],
        day=(timezone.localdate() - 2 * DAY),
    )
    statement_import(data=statement, file_name="s.sta", bank_account=bank_account(), actor=None)
    settled = BankTransaction.objects.get(counterparty_name="ALICE WANJIRU")
    waiting = BankTransaction.objects.get(counterparty_name="BOB CAMPBELL")
    assert settled.suggestions.exists() and waiting.suggestions.exists()
    credits_confirm(confirmations=[Confirmation(settled, alice, None)], actor=accountant)
    waiting_suggestions = set(waiting.suggestions.values_list("pk", flat=True))

    report = retention_apply()

    assert _rows(report, "payments.MatchSuggestion", "match_suggestions") >= 1
    assert not MatchSuggestion.objects.filter(transaction=settled).exists()
    assert set(waiting.suggestions.values_list("pk", flat=True)) == waiting_suggestions


def _request(
    user: User | None, state: str, completed_at: datetime | None, **kw: Any
) -> DataRequest:
    return DataRequest.objects.create(
        kind="access",
        state=state,
        channel="mypage",
        user=user,
        email=user.email if user else "visitor@example.com",
        received_at=kw.pop("received_at", completed_at or timezone.now()),
        completed_at=completed_at,
        **kw,
    )


def test_expired_exports_lose_their_file_and_are_marked_expired(
    alice, django_capture_on_commit_callbacks
):
    request = _request(alice, "completed", _ago(days=10))
    files = {}
    for name, expires in (("old", _ago(days=1)), ("fresh", _ago(days=-3))):
        export = DataExport.objects.create(
            request=request, state="ready", created_at=_ago(days=8), expires_at=expires
        )
        export.file.save(f"{name}.zip", ContentFile(b"PK"))
        files[name] = export

    with django_capture_on_commit_callbacks(execute=True):
        report = retention_apply()

    assert _rows(report, "privacy.DataExport", "data_exports") == 1
    old, fresh = (DataExport.objects.get(pk=files[n].pk) for n in ("old", "fresh"))
    assert (old.state, old.file.name) == ("expired", "")
    assert not default_storage.exists(files["old"].file.name)
    assert fresh.state == "ready" and default_storage.exists(fresh.file.name)


def test_privacy_requests_go_three_years_after_completion_with_their_exports(alice, bob):
    done_long_ago = _request(alice, "completed", _ago(days=3 * 366))
    DataExport.objects.create(request=done_long_ago, state="expired", created_at=_ago(days=1200))
    rejected = _request(bob, "rejected", _ago(days=3 * 366))
    unconfirmed = _request(None, "expired", None, received_at=_ago(days=3 * 366))
    recent = _request(alice, "completed", _ago(days=3 * 365 - 2))
    open_request = _request(alice, "in_progress", None, received_at=_ago(days=4 * 365))
    # A request whose erasure is proven by a younger record stays until that record goes.
    proven = _request(bob, "completed", _ago(days=3 * 366))
    ErasureRecord.objects.create(
        request=proven, subject_id=bob.pk, pseudonym="x", executed_at=_ago(days=30), trigger="r"
    )

    report = retention_apply()

    remaining = set(DataRequest.objects.values_list("pk", flat=True))
    assert remaining == {recent.pk, open_request.pk, proven.pk}
    assert not DataExport.objects.filter(request=done_long_ago).exists()
    assert {done_long_ago.pk, rejected.pk, unconfirmed.pk}.isdisjoint(remaining)
    assert _rows(report, "privacy.DataRequest", "privacy_requests") == 3
    referenced = sum(o.referenced for o in report.rules if o.model == "privacy.DataRequest")
    assert referenced == 1


def test_proof_and_notice_records_go_after_their_periods(alice):
    recipient = Recipient.objects.create(
        name="Blue Ocean RoRo", kind="shipping_line", country="JP", relationship="third_party"
    )
    breach = Breach.objects.create(
        reference="BR-1",
        detected_at=_ago(days=1200),
        occurred_from=_ago(days=1200),
        occurred_until=_ago(days=1200),
        description="lost laptop",
        created_at=_ago(days=1200),
    )
    old, new = _ago(days=3 * 366), _ago(days=3 * 365 - 2)
    rows = {
        "erasure": [
            ErasureRecord.objects.create(subject_id=1, pseudonym="p", executed_at=t, trigger="r")
            for t in (old, new)
        ],
        "notification": [
            RecipientNotification.objects.create(
                recipient=recipient, kind="erasure", subject_id=alice.pk, provisions=1, sent_at=t
            )
            for t in (old, new)
        ],
        "receipt": [
            ReceiptRecord.objects.create(
                provider_name="CarPortal", how_obtained="form", user=alice, received_at=t
            )
            for t in (old, new)
        ],
        "provision": [
            ProvisionRecord.objects.create(
                user=alice,
                recipient=recipient,
                legal_basis="contract",
                provided_at=t,
                source="system",
            )
            for t in (old, new)
        ],
    }
    notices = [
        BreachNotice.objects.create(breach=breach, user=alice, email=alice.email, sent_at=old),
    ]
    disputes = [
        DisputeHold.objects.create(user=alice, reason="fee", opened_at=_ago(days=2200), closed_at=t)
        for t in (_ago(days=5 * 366), _ago(days=5 * 365 - 2))
    ]

    retention_apply()

    for old_row, new_row in rows.values():
        assert not type(old_row).objects.filter(pk=old_row.pk).exists()
        assert type(new_row).objects.filter(pk=new_row.pk).exists()
    assert not BreachNotice.objects.filter(pk=notices[0].pk).exists()
    assert list(DisputeHold.objects.values_list("pk", flat=True)) == [disputes[1].pk]


def test_expired_sessions_go(alice):
    old, live = SessionStore(), SessionStore()
    old["k"], live["k"] = "v", "v"
    old.create()
    live.create()
    Session.objects.filter(session_key=old.session_key).update(expire_date=_ago(days=1))

    retention_apply()

    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]


@pytest.fixture
def everywhere(db):
    """A customer with records in every model, made through the real services, today."""
    accountant = staff("acc@exporter.example", "accounting")
    return person_everywhere("retain", accountant=accountant, n=41)


def _books_of(user: User) -> dict[str, Any]:
    # The payment that was declared, confirmed, allocated and partly refunded.
    deposit = Deposit.objects.get(customer=user, refunds__isnull=False)
    txn = deposit.transaction
    return {
        "payer": deposit.payer_name,
        "amount": deposit.amount,
        "counterparty": txn.counterparty_name,
        "txn_amount": txn.amount,
        "refund_to": Refund.objects.get(deposit=deposit).to_name,
        "declaration_payer": deposit.declaration.payer_name if deposit.declaration else None,
        "memos": sorted(JournalEntry.objects.values_list("memo", flat=True)),
    }


def test_the_books_lose_names_but_keep_amounts_after_seven_years_from_the_fiscal_year_end(
    everywhere, settings
):
    settings.FISCAL_YEAR_START_MONTH = 4
    user = everywhere.user
    DisputeHold.objects.filter(user=user).delete()
    before_run = _books_of(user)
    payer = before_run["payer"]
    assert payer and payer in before_run["counterparty"]

    # Six years on, the books are still held.
    retention_apply(now=timezone.now() + timedelta(days=6 * 366))
    assert _books_of(user) == before_run

    report = retention_apply(now=timezone.now() + timedelta(days=8 * 366 + 366))

    after = _books_of(user)
    assert after["amount"] == before_run["amount"]
    assert after["txn_amount"] == before_run["txn_amount"]
    assert after["payer"] == after["counterparty"] == after["refund_to"] == "erased"
    assert after["declaration_payer"] == ""
    assert not any(payer in memo for memo in after["memos"])
    assert len(after["memos"]) == len(before_run["memos"])  # the journal keeps every entry
    deposits = Deposit.objects.filter(customer=user).count()
    assert _rows(report, "payments.Deposit", "accounting_records") == deposits
    # The customer still owns the records: the account is open and the link stays.
    assert Deposit.objects.filter(customer=user).exists()

    again = retention_apply(now=timezone.now() + timedelta(days=8 * 366 + 366))
    assert again.total(ExpiryAction.ANONYMISE) == 0


def test_a_legal_hold_beats_a_shorter_period(everywhere, settings):
    settings.PRIVACY_RETENTION = {**settings.PRIVACY_RETENTION, "accounting_records": "1y"}
    DisputeHold.objects.filter(user=everywhere.user).delete()
    before_run = _books_of(everywhere.user)

    report = retention_apply(now=timezone.now() + timedelta(days=3 * 366))

    assert report.total(ExpiryAction.ANONYMISE) == 0
    assert _books_of(everywhere.user) == before_run


def test_an_open_dispute_keeps_everything_about_the_person(alice, bob):
    DisputeHold.objects.create(user=alice, reason="claims a refund", opened_at=_ago(days=400))
    alices = _security_event(alice, _ago(days=200))
    bobs = _security_event(bob, _ago(days=200))
    mine = _contact(alice.email, _ago(days=5 * 365))  # her address, even without the link

    retention_apply()

    assert SecurityEvent.objects.filter(pk=alices.pk).exists()
    assert ContactEvent.objects.filter(pk=mine.pk).exists()
    assert not SecurityEvent.objects.filter(pk=bobs.pk).exists()


# --- idempotence and the dry run ------------------------------------------------------------


def _snapshot() -> dict[str, Any]:
    """Every row of every declared model, as values."""
    found: dict[str, Any] = {}
    for label, declaration in personal_data.declarations().items():
        manager = declaration.model._default_manager
        found[label] = sorted(map(repr, manager.values_list()))
    return found


def test_a_dry_run_changes_nothing_and_says_what_a_run_would_do(everywhere, alice):
    _security_event(alice, _ago(days=100))
    _contact("quiet@example.com", _ago(days=4 * 365))
    later = timezone.now() + timedelta(days=9 * 366)
    before_run = _snapshot()
    sent = len(mail.outbox)

    dry = retention_apply(now=later, dry_run=True)

    assert _snapshot() == before_run
    assert len(mail.outbox) == sent
    assert dry.total(ExpiryAction.DELETE) > 0 and dry.total(ExpiryAction.ANONYMISE) > 0
    real = retention_apply(now=later)
    assert [(o.model, o.rule, o.rows) for o in real.rules if o.rows] == [
        (o.model, o.rule, o.rows) for o in dry.rules if o.rows
    ]
    assert sorted(real.warned) == sorted(dry.warned)


def test_a_second_run_changes_nothing(everywhere, alice):
    # Its warning is from today; nine years on it would close the account, and the erasure
    # record, written at the real time, would look nine years old to the second run.
    InactivityNotice.objects.filter(user=everywhere.user).delete()
    _security_event(alice, _ago(days=100))
    later = timezone.now() + timedelta(days=9 * 366)
    first = retention_apply(now=later)
    assert first.total(ExpiryAction.DELETE) and first.total(ExpiryAction.ANONYMISE)
    after_first = _snapshot()
    events = AuditEvent.objects.count()

    second = retention_apply(now=later)

    assert second.total(ExpiryAction.DELETE) == second.total(ExpiryAction.ANONYMISE) == 0
    assert first.warned and not second.warned and not second.closed_inactive
    assert _snapshot() == after_first
    assert AuditEvent.objects.count() == events


# --- inactive accounts ----------------------------------------------------------------------


def _last_login(user: User, when: datetime) -> None:
    User.objects.filter(pk=user.pk).update(last_login=when)
    user.refresh_from_db()


def _warnings_to(user: User) -> list[Any]:
    """The inactivity warnings sent to the person (the only mail here with a sign-in link)."""
    return [m for m in mail.outbox if m.to == [user.email] and "/accounts/login/" in m.body]


def test_an_unused_account_is_warned_then_closed_and_erased(alice, bob, committed):
    _last_login(alice, _ago(days=25 * 31))
    _last_login(bob, _ago(days=20 * 31))

    with committed():
        report = retention_apply()

    assert report.warned == [alice.customer_number]
    notice = InactivityNotice.objects.get(user=alice)
    assert notice.closed_at is None and notice.last_login_seen == alice.last_login
    [warning] = _warnings_to(alice)
    assert "sign in before" in warning.body
    assert "/accounts/login/" in warning.body
    assert not _warnings_to(bob)
    assert AuditEvent.objects.filter(action="privacy.inactivity_warned", subject_id=alice.pk)

    # The next day: no second warning, nothing closed yet.
    with committed():
        report = retention_apply(now=timezone.now() + DAY)
    assert not report.warned and not report.closed_inactive
    assert len(_warnings_to(alice)) == 1

    with committed():
        report = retention_apply(now=timezone.now() + timedelta(days=31))

    assert report.closed_inactive == [alice.customer_number]
    alice.refresh_from_db()
    assert not alice.is_active and alice.closed_at is not None and alice.erased_at is not None
    assert alice.email.endswith("@erased.invalid")
    assert ErasureRecord.objects.get(subject_id=alice.pk).trigger == "inactivity"
    assert User.objects.get(pk=bob.pk).is_active

    again = retention_apply(now=timezone.now() + timedelta(days=32))
    assert not again.closed_inactive and not again.warned
    assert ErasureRecord.objects.filter(subject_id=alice.pk).count() == 1


def test_an_unused_account_with_money_or_an_order_open_stays_open(alice, committed):
    """Not signing in is no reason to forget an order awaiting payment or money we owe."""
    order_for(alice)
    _last_login(alice, _ago(days=25 * 31))
    with committed():
        retention_apply()

    with committed():
        report = retention_apply(now=timezone.now() + timedelta(days=31))

    assert report.kept_open == [alice.customer_number] and not report.closed_inactive
    assert report.summary()["kept_open"] == 1
    alice.refresh_from_db()
    assert alice.is_active and alice.erased_at is None


def test_a_sign_in_after_the_warning_cancels_it(alice, committed):
    _last_login(alice, _ago(days=25 * 31))
    with committed():
        retention_apply()
    _last_login(alice, timezone.now() + timedelta(seconds=5))

    with committed():
        report = retention_apply(now=timezone.now() + timedelta(days=31))

    assert report.warnings_cancelled == [alice.customer_number]
    assert not report.closed_inactive
    assert not InactivityNotice.objects.filter(user=alice).exists()
    alice.refresh_from_db()
    assert alice.is_active and alice.erased_at is None
    assert AuditEvent.objects.filter(action="privacy.inactivity_cancelled", subject_id=alice.pk)


def test_an_account_never_used_since_registration_is_warned(db, committed):
    quiet = customer("quiet@example.com", date_joined=_ago(days=25 * 31))
    with committed():
        report = retention_apply()
    assert report.warned == [quiet.customer_number]


def test_staff_accounts_are_never_warned_or_closed(db, committed):
    officer = staff("pat.privacy@exporter.example", "privacy_officer")
    _last_login(officer, _ago(days=40 * 31))
    InactivityNotice.objects.create(user=officer, warned_at=_ago(days=60))

    with committed():
        report = retention_apply()

    assert not report.warned and not report.closed_inactive
    officer.refresh_from_db()
    assert officer.is_active and officer.erased_at is None
    assert not _warnings_to(officer)


def test_the_warning_is_written_in_the_persons_language(alice, bob, committed):
    User.objects.filter(pk=alice.pk).update(language="ja")
    for person in (alice, bob):
        _last_login(person, timezone.make_aware(datetime(2024, 3, 5, 12, 0)))

    with committed():
        retention_apply()

    [japanese] = _warnings_to(alice)
    [english] = _warnings_to(bob)
    assert "2024年3月5日" in japanese.body
    assert "March 5, 2024" in english.body


def test_closed_accounts_are_erased_after_the_delay(alice, bob):
    User.objects.filter(pk=alice.pk).update(is_active=False, closed_at=_ago(days=31))
    User.objects.filter(pk=bob.pk).update(is_active=False, closed_at=_ago(days=29))

    report = retention_apply()

    assert report.erased_after_closure == [alice.customer_number]
    assert User.objects.get(pk=alice.pk).erased_at is not None
    assert User.objects.get(pk=bob.pk).erased_at is None
    assert ErasureRecord.objects.get(subject_id=alice.pk).trigger == "closure"
    assert not retention_apply().erased_after_closure


# --- the command and the daily task ---------------------------------------------------------


def test_the_command_prints_each_rule_and_a_json_summary(alice, committed):
    _security_event(alice, _ago(days=100))
    _last_login(alice, _ago(days=25 * 31))

    out = io.StringIO()
    call_command("retention", "--dry-run", stdout=out)
    lines = out.getvalue().splitlines()
    assert any(
        "accounts.SecurityEvent" in line
        and "security_events (created_at)" in line
        and " 1 rows" in line
        for line in lines
    )
    assert f"Inactive accounts warned: 1 ({alice.customer_number})" in lines
    summary = json.loads(lines[-1])
    assert summary["dry_run"] is True and summary["deleted"] == 1 and summary["warned"] == 1
    assert SecurityEvent.objects.filter(user=alice).exists()

    out = io.StringIO()
    with committed():
        call_command("retention", stdout=out)
    summary = json.loads(out.getvalue().splitlines()[-1])
    assert summary["dry_run"] is False and summary["deleted"] == 1 and summary["warned"] == 1
    assert summary["rules"] == [
        {
            "model": "accounts.SecurityEvent",
            "rule": "security_events",
            "from": "created_at",
            "rows": 1,
        }
    ]
    assert not SecurityEvent.objects.filter(user=alice).exists()


def test_the_daily_task_applies_the_rules(alice):
    _security_event(alice, _ago(days=100))
    apply_retention()  # tests run tasks at once, as a worker would
    assert not SecurityEvent.objects.filter(user=alice).exists()
    assert AuditEvent.objects.filter(action="privacy.retention_applied").exists()


# --- two runs at once (PostgreSQL) ----------------------------------------------------------


def _race(runs: int) -> tuple[list[Any], list[BaseException]]:
    """`runs` sweeps started together, each on its own thread and database connection."""
    reports: list[Any] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(runs, timeout=30)

    def run() -> None:
        try:
            barrier.wait()
            reports.append(retention_apply())
        except BaseException as error:  # reported by the test, not lost in the thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, daemon=True) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "a run is stuck"
    return reports, errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_neither_fail_nor_count_twice():
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: row locks and several connections (scripts/with-postgres.sh)"
        )
    expired = 1234  # several batches
    SecurityEvent.objects.bulk_create(
        SecurityEvent(kind="login_failed", email_tried=f"guess{n}@example.com")
        for n in range(expired)
    )
    SecurityEvent.objects.update(created_at=_ago(days=120))
    fresh = _security_event(None, _ago(days=1))
    sleepers = [customer(f"sleeper{n}@example.com") for n in range(4)]
    User.objects.filter(pk__in=[u.pk for u in sleepers]).update(last_login=_ago(days=26 * 31))
    closed = customer("closed@example.com")
    User.objects.filter(pk=closed.pk).update(is_active=False, closed_at=_ago(days=40))

    reports, errors = _race(3)

    assert errors == []
    deleted = sum(_rows(r, "accounts.SecurityEvent", "security_events") for r in reports)
    assert deleted == expired
    assert list(SecurityEvent.objects.values_list("pk", flat=True)) == [fresh.pk]
    audited = AuditEvent.objects.filter(action="privacy.retention_applied")
    assert sum(e.details["rows"] for e in audited) == expired
    warned = [number for r in reports for number in r.warned]
    assert sorted(warned) == sorted(u.customer_number for u in sleepers)
    assert InactivityNotice.objects.count() == len(sleepers)
    assert sum(len(_warnings_to(u)) for u in sleepers) == len(sleepers)
    assert [n for r in reports for n in r.erased_after_closure] == [closed.customer_number]
    assert ErasureRecord.objects.filter(subject_id=closed.pk).count() == 1
    call_command("verify_audit", stdout=io.StringIO())  # the chain is whole

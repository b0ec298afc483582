"""The privacy officer's desk: the queue, each request's actions, erasure with legal holds,
dispute holds, requests recorded by staff, and the deadline reminders."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from exportdesk.accounts.models import User
from exportdesk.core.models import AuditEvent
from exportdesk.messaging.services import contact_event_record
from exportdesk.privacy.models import (
    DataExport,
    DataRequest,
    DisputeHold,
    ErasureRecord,
    ProvisionRecord,
    Recipient,
    RecipientNotification,
)
from exportdesk.privacy.request_actions import privacy_reminders_send
from exportdesk.sales.models import Order
from tests.conftest import staff_login
from tests.factories import customer, staff
from tests.payments.factories import order_for

pytestmark = pytest.mark.django_db

Kind = DataRequest.Kind
State = DataRequest.State
BASE = "/backoffice/privacy/"


def data_request(
    *,
    kind: str = Kind.ACCESS,
    state: str = State.RECEIVED,
    user: User | None = None,
    email: str = "alice@example.com",
    due_in: timedelta = timedelta(days=20),
    **fields: object,
) -> DataRequest:
    """A verified request due `due_in` from now (received 30 days before it is due)."""
    due = timezone.now() + due_in
    received = due - timedelta(days=30)
    values: dict[str, object] = {
        "kind": kind,
        "state": state,
        "channel": DataRequest.Channel.MYPAGE,
        "user": user,
        "email": email,
        "name": user.name if user is not None else "Grace Njeri",
        "details": "Please act on my data.",
        "language": "en",
        "received_at": received,
        "verified_at": received,
        "due_at": due,
    }
    values.update(fields)
    return DataRequest.objects.create(**values)


@pytest.fixture
def officer_client(client: Client, privacy_officer: User) -> Client:
    return staff_login(client, privacy_officer)


def action(client: Client, req: DataRequest, name: str, **data: object):
    return client.post(f"{BASE}requests/{req.pk}/{name}/", data)


def page(response) -> str:
    return response.content.decode()


# --- who may open the desk ---------------------------------------------------------------------


def _urls(req: DataRequest, hold: DisputeHold, alice: User) -> list[tuple[str, str]]:
    return [
        ("get", BASE),
        ("get", f"{BASE}?tab=finished"),
        ("get", f"{BASE}requests/{req.pk}/"),
        ("get", f"{BASE}requests/record/"),
        ("get", f"{BASE}customers/{alice.pk}/"),
        ("post", f"{BASE}requests/{req.pk}/start/"),
        ("post", f"{BASE}requests/{req.pk}/reject/"),
        ("post", f"{BASE}requests/{req.pk}/erase/"),
        ("post", f"{BASE}requests/record/"),
        ("post", f"{BASE}customers/{alice.pk}/"),
        ("post", f"{BASE}holds/{hold.pk}/close/"),
    ]


def _refused_everywhere(client: Client, alice: User, expected: int) -> None:
    req = data_request(user=alice, kind=Kind.ERASURE)
    hold = DisputeHold.objects.create(user=alice, reason="Chargeback", opened_at=timezone.now())
    for method, url in _urls(req, hold, alice):
        data = {"reason": "no", "confirm": "on", "kind": "access", "email": "x@example.com"}
        response = client.get(url) if method == "get" else client.post(url, data)
        assert response.status_code == expected, (method, url, response.status_code)
        if expected == 302:
            assert response["Location"].startswith("/accounts/login/"), url
    req.refresh_from_db()
    hold.refresh_from_db()
    assert req.state == State.RECEIVED
    assert hold.closed_at is None
    assert DisputeHold.objects.count() == 1
    assert DataRequest.objects.count() == 1
    assert not ErasureRecord.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, alice):
    _refused_everywhere(client, alice, 302)


def test_a_customer_gets_nothing(alice_client, alice):
    _refused_everywhere(alice_client, alice, 403)


def test_staff_without_the_privacy_desk_get_nothing(client, sales, alice):
    staff_login(client, sales)
    _refused_everywhere(client, alice, 403)


def test_the_privacy_officer_without_the_second_factor_is_sent_to_it(client, privacy_officer):
    from tests.factories import PASSWORD

    client.post("/accounts/login/", {"email": privacy_officer.email, "password": PASSWORD})
    response = client.get(BASE)
    assert response.status_code == 302
    assert response["Location"].startswith("/backoffice/second-factor/")


def test_an_unknown_request_or_action_is_not_found(officer_client, alice):
    req = data_request(user=alice)
    assert officer_client.get(f"{BASE}requests/{req.pk + 100}/").status_code == 404
    assert action(officer_client, req, "delete-everything").status_code == 404
    assert officer_client.get(f"{BASE}requests/{req.pk}/start/").status_code == 405


def test_a_staff_account_has_no_customer_privacy_page(officer_client, sales):
    assert officer_client.get(f"{BASE}customers/{sales.pk}/").status_code == 404


# --- the queue -----------------------------------------------------------------------------------


def test_the_queue_lists_open_requests_by_due_date_with_overdue_ones_highlighted(
    officer_client, alice, bob
):
    later = data_request(user=alice, due_in=timedelta(days=25), name="Later Person")
    soon = data_request(user=bob, email=bob.email, due_in=timedelta(days=3), name="Soon Person")
    late = data_request(email="grace@example.com", due_in=-timedelta(days=2), name="Late Person")
    data_request(user=alice, state=State.COMPLETED, name="Done Person", completed_at=timezone.now())
    data_request(email="x@example.com", state=State.UNVERIFIED, name="Unverified Person")

    body = page(officer_client.get(BASE))

    assert "3 open requests" in body
    assert '<strong class="verdict banned" id="overdue-count">1 overdue</strong>' in body
    assert "1 due within 7 days" in body
    assert body.index("Late Person") < body.index("Soon Person") < body.index("Later Person")
    assert "Done Person" not in body and "Unverified Person" not in body
    rows = re.findall(r"<tr( class=\"[\w-]+\")?>\s*<td>", body)
    assert rows == [' class="overdue"', ' class="due-soon"', ""]
    assert f'href="/backoffice/privacy/requests/{late.pk}/"' in body
    assert f'href="/backoffice/privacy/requests/{soon.pk}/"' in body
    assert f'href="/backoffice/privacy/requests/{later.pk}/"' in body
    assert bob.customer_number in body


def test_the_queue_filters_by_state_and_kind(officer_client, alice):
    data_request(user=alice, kind=Kind.ERASURE, name="Erase Me")
    data_request(user=alice, kind=Kind.ACCESS, state=State.IN_PROGRESS, name="Show Me")
    data_request(user=alice, kind=Kind.ACCESS, name="Received Access")

    by_kind = page(officer_client.get(BASE, {"kind": "erasure"}))
    assert "Erase Me" in by_kind and "Show Me" not in by_kind

    by_state = page(officer_client.get(BASE, {"state": "in_progress", "kind": "access"}))
    assert "Show Me" in by_state
    assert "Received Access" not in by_state and "Erase Me" not in by_state

    # A filter value that is not a choice is ignored rather than an error.
    assert officer_client.get(BASE, {"state": "bogus", "kind": "<x>"}).status_code == 200


def test_finished_requests_are_in_their_own_tab(officer_client, alice):
    data_request(user=alice, name="Open Person")
    data_request(
        user=alice, state=State.REJECTED, name="Rejected Person", completed_at=timezone.now()
    )
    body = page(officer_client.get(BASE, {"tab": "finished"}))
    assert "Rejected Person" in body and "Open Person" not in body


def test_the_queue_costs_the_same_queries_for_many_rows(
    officer_client, alice, django_assert_max_num_queries
):
    for n in range(3):
        data_request(user=alice, due_in=timedelta(days=n - 1))
    with django_assert_max_num_queries(12) as few:
        officer_client.get(BASE)
    for n in range(40):
        other = customer(f"c{n}@example.com")
        data_request(user=other, email=other.email, due_in=timedelta(days=n - 5))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = officer_client.get(BASE)
    assert response.status_code == 200


# --- transitions -------------------------------------------------------------------------------


def test_starting_work_moves_a_received_request_in_progress_and_is_audited(
    officer_client, privacy_officer, alice
):
    req = data_request(user=alice)
    response = action(officer_client, req, "start")
    assert response.status_code == 302
    req.refresh_from_db()
    assert (req.state, req.handled_by) == (State.IN_PROGRESS, privacy_officer)
    event = AuditEvent.objects.get(action="privacy.request_started")
    assert (event.actor_id, event.subject_id, event.object_id) == (
        privacy_officer.pk,
        alice.pk,
        str(req.pk),
    )
    body = page(officer_client.get(f"{BASE}requests/{req.pk}/"))
    assert "In progress" in body and "privacy.request_started" in body


def test_a_transition_the_state_does_not_allow_is_refused_and_changes_nothing(
    officer_client, alice
):
    req = data_request(user=alice, state=State.COMPLETED, completed_at=timezone.now())
    for name, data in [
        ("start", {}),
        ("identity_confirm", {}),
        ("reject", {"reason": "Too late"}),
        ("complete", {"outcome": "Done again"}),
        ("extend", {"days": 10, "reason": "More time"}),
        ("identity_require", {"note": "Passport"}),
    ]:
        response = action(officer_client, req, name, **data)
        assert response.status_code == 400, name
        assert "(The request is now: Completed.)" in page(response), name
    # A form from a page opened before the request was finished, filled in badly.
    stale = action(officer_client, req, "extend", days=0, reason="")
    assert stale.status_code == 400
    assert "This action is not available now: the request is Completed." in page(stale)
    req.refresh_from_db()
    assert req.state == State.COMPLETED
    assert (req.outcome, req.rejection_reason, req.extended_at) == ("", "", None)
    assert (
        not AuditEvent.objects.filter(action__startswith="privacy.request_")
        .exclude(action="privacy.request_viewed")
        .exists()
    )
    assert mail.outbox == []


def test_a_request_cannot_be_completed_before_work_starts(officer_client, alice):
    req = data_request(user=alice, kind=Kind.RECTIFICATION)
    response = action(officer_client, req, "complete", outcome="Corrected the company name.")
    assert response.status_code == 400
    assert "Start the request (and confirm identity) first." in page(response)
    req.refresh_from_db()
    assert req.state == State.RECEIVED and req.outcome == ""


def test_proof_of_identity_is_asked_for_free_and_then_confirmed(officer_client, alice, committed):
    req = data_request(user=alice, kind=Kind.ERASURE)

    response = action(officer_client, req, "identity_require", note="   ")
    assert response.status_code == 400
    assert "This field is required." in page(response)
    req.refresh_from_db()
    assert req.state == State.RECEIVED and not req.identity_proof_required

    with committed():
        response = action(
            officer_client,
            req,
            "identity_require",
            note="A photo of the passport page with your name, and the order number.",
        )
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.state == State.VERIFYING
    assert req.identity_proof_required
    assert req.identity_proof_note.startswith("A photo of the passport page")
    (sent,) = mail.outbox
    assert sent.to == ["alice@example.com"]
    assert sent.subject == "Please confirm your identity for your privacy request"
    assert "A photo of the passport page with your name, and the order number." in sent.body
    assert "There is no fee." in sent.body

    # While we wait for the proof, the work cannot be finished.
    assert action(officer_client, req, "erase", confirm="on").status_code == 400
    assert action(officer_client, req, "extend", days=10, reason="x").status_code == 400

    assert action(officer_client, req, "identity_confirm").status_code == 302
    req.refresh_from_db()
    assert req.state == State.IN_PROGRESS and req.identity_verified_at is not None


def test_one_extension_of_up_to_sixty_days_with_a_notice(officer_client, alice, committed):
    req = data_request(user=alice, kind=Kind.ACCESS, state=State.IN_PROGRESS)
    due = req.due_at
    assert due is not None

    too_long = action(officer_client, req, "extend", days=61, reason="Very complex")
    assert too_long.status_code == 400
    assert "Ensure this value is less than or equal to 60." in page(too_long)
    no_reason = action(officer_client, req, "extend", days=30, reason="")
    assert no_reason.status_code == 400
    req.refresh_from_db()
    assert (req.state, req.due_at, req.extended_at) == (State.IN_PROGRESS, due, None)

    with committed():
        response = action(
            officer_client,
            req,
            "extend",
            days=45,
            reason="Your records span three systems; we need to collect them all.",
        )
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.state == State.EXTENDED
    assert req.due_at == due + timedelta(days=45)
    assert req.extension_reason == "Your records span three systems; we need to collect them all."
    (notice,) = mail.outbox
    assert notice.to == ["alice@example.com"]
    assert notice.subject == "We need more time for your privacy request"
    assert "Your records span three systems; we need to collect them all." in notice.body
    event = AuditEvent.objects.get(action="privacy.request_extended")
    assert event.details["days"] == 45

    again = action(officer_client, req, "extend", days=10, reason="Still more")
    assert again.status_code == 400
    assert "already extended once" in page(again)
    req.refresh_from_db()
    assert req.due_at == due + timedelta(days=45)
    assert len(mail.outbox) == 1


def test_a_rejection_tells_the_person_why(officer_client, alice, committed):
    req = data_request(user=alice, kind=Kind.ACCESS, state=State.VERIFYING)
    with committed():
        response = action(
            officer_client,
            req,
            "reject",
            reason="We could not confirm that the request came from the account holder.",
        )
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.state == State.REJECTED and req.completed_at is not None
    (sent,) = mail.outbox
    assert sent.subject == "Our answer to your privacy request"
    assert "We could not confirm that the request came from the account holder." in sent.body
    assert "Personal Information Protection Commission" in sent.body


def test_completion_tells_the_person_the_outcome(officer_client, alice, committed):
    req = data_request(user=alice, kind=Kind.PROVISION_RECORDS, state=State.IN_PROGRESS)
    with committed():
        response = action(
            officer_client, req, "complete", outcome="We gave your name to O'Neill Shipping."
        )
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.state == State.COMPLETED
    assert req.outcome == "We gave your name to O'Neill Shipping."
    (sent,) = mail.outbox
    assert sent.subject == "Your privacy request is complete: Tell me who received my data"
    assert "We gave your name to O'Neill Shipping." in sent.body  # not HTML-escaped


def test_a_correction_is_passed_on_to_everyone_who_received_the_data(
    officer_client, alice, committed
):
    line = Recipient.objects.create(
        name="Mombasa Forwarders Ltd",
        kind=Recipient.Kind.FORWARDER,
        country="KE",
        relationship=Recipient.Relationship.THIRD_PARTY,
        contact="privacy@forwarder.example",
    )
    ProvisionRecord.objects.create(
        user=alice,
        recipient=line,
        data_items=["name", "address"],
        legal_basis="contract",
        provided_at=timezone.now() - timedelta(days=10),
        source=ProvisionRecord.Source.SYSTEM,
    )
    req = data_request(user=alice, kind=Kind.RECTIFICATION, state=State.IN_PROGRESS)
    with committed():
        response = action(
            officer_client, req, "complete", outcome="Company name corrected to Wanjiru Motors."
        )
    assert response.status_code == 302
    notice = RecipientNotification.objects.get()
    assert (notice.recipient, notice.kind, notice.request) == (line, "rectification", req)
    assert "privacy@forwarder.example" in {to for m in mail.outbox for to in m.to}
    assert (
        AuditEvent.objects.get(action="privacy.request_completed").details["recipients_notified"]
        == 1
    )


def test_the_detail_page_shows_an_access_requests_package_and_its_progress(officer_client, alice):
    req = data_request(user=alice, kind=Kind.ACCESS, state=State.IN_PROGRESS)
    DataExport.objects.create(
        request=req, state=DataExport.State.BUILDING, progress=40, created_at=timezone.now()
    )
    body = page(officer_client.get(f"{BASE}requests/{req.pk}/"))
    assert "Being prepared" in body
    assert '<progress max="100" value="40">' in body
    assert "Prepare the data package" not in body  # one build at a time


def test_a_request_recorded_by_staff_starts_its_package_from_the_desk(
    officer_client, alice, committed
):
    req = data_request(user=alice, kind=Kind.PORTABILITY, state=State.IN_PROGRESS, channel="staff")
    with committed():
        response = action(officer_client, req, "export")
    assert response.status_code == 302
    export = DataExport.objects.get(request=req)
    assert export.state in (DataExport.State.QUEUED, DataExport.State.READY)
    again = action(officer_client, req, "export")
    assert again.status_code == 400
    assert DataExport.objects.filter(request=req).count() == 1


# --- erasure ------------------------------------------------------------------------------------


def test_erasure_of_a_customer_with_an_unpaid_order_keeps_the_books(
    officer_client, privacy_officer, alice, bob, committed
):
    order = order_for(alice)
    req = data_request(user=alice, kind=Kind.ERASURE, state=State.IN_PROGRESS)

    preview = page(officer_client.get(f"{BASE}requests/{req.pk}/"))
    assert "Erasure plan (dry run)" in preview
    assert "Keep under legal hold" in preview
    assert "accounting records · Corporation Tax Act (Japan)" in preview
    assert "Your orders (1 record): accounting records, Corporation Tax Act (Japan)" in preview
    # The dry run changed nothing.
    alice.refresh_from_db()
    assert alice.email == "alice@example.com" and alice.erased_at is None

    refused = action(officer_client, req, "erase")  # the plan was not confirmed as checked
    assert refused.status_code == 400
    assert not ErasureRecord.objects.exists()

    with committed():
        response = action(officer_client, req, "erase", confirm="on", note="Thank you.")
    assert response.status_code == 302

    req.refresh_from_db()
    alice.refresh_from_db()
    assert req.state == State.COMPLETED
    assert alice.erased_at is not None and not alice.is_active
    assert alice.email != "alice@example.com"
    assert Order.objects.filter(pk=order.pk, customer=alice).exists()  # kept, pseudonymised
    record = ErasureRecord.objects.get()
    assert (record.request, record.executed_by) == (req, privacy_officer)
    assert "Your orders (1 record): accounting records, Corporation Tax Act (Japan)" in req.outcome
    assert "Thank you." in req.outcome
    told = [m for m in mail.outbox if m.to == ["alice@example.com"]]
    assert len(told) == 1
    assert "Your orders (1 record): accounting records" in told[0].body
    assert "kept until" in told[0].body
    # Bob is untouched.
    bob.refresh_from_db()
    assert bob.email == "bob@example.com" and bob.is_active

    shown = page(officer_client.get(f"{BASE}requests/{req.pk}/"))
    assert "Completed" in shown and "Your orders (1 record)" in shown


def test_running_the_erasure_twice_is_harmless(officer_client, alice, committed):
    order_for(alice)
    req = data_request(user=alice, kind=Kind.ERASURE, state=State.EXTENDED)
    with committed():
        assert action(officer_client, req, "erase", confirm="on").status_code == 302
    req.refresh_from_db()
    outcome, sent = req.outcome, len(mail.outbox)

    with committed():
        again = action(officer_client, req, "erase", confirm="on")

    assert again.status_code == 400
    assert "The erasure was already carried out for this request." in page(again)
    req.refresh_from_db()
    assert req.outcome == outcome and req.state == State.COMPLETED
    assert ErasureRecord.objects.count() == 1
    assert len(mail.outbox) == sent


def test_an_open_dispute_keeps_communications_and_says_why(officer_client, alice, committed):
    contact_event_record(
        email=alice.email,
        kind="email",
        direction="in",
        subject="The car arrived damaged",
        body="The bumper is cracked.",
        customer=alice,
    )
    req = data_request(user=alice, kind=Kind.ERASURE, state=State.IN_PROGRESS)
    response = officer_client.post(
        f"{BASE}customers/{alice.pk}/",
        {"reason": "Damage claim on delivery, insurer involved", "from_request": req.pk},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{BASE}requests/{req.pk}/"
    hold = DisputeHold.objects.get(user=alice)
    assert hold.closed_at is None

    preview = page(officer_client.get(f"{BASE}requests/{req.pk}/"))
    assert "Damage claim on delivery, insurer involved" in preview
    assert "open disputes and claims · Civil Code limitation periods (Japan) · until closed" in (
        preview
    )

    with committed():
        assert action(officer_client, req, "erase", confirm="on").status_code == 302
    req.refresh_from_db()
    assert (
        "Your contact history: inquiries, our replies and notices (1 record): open disputes and "
        "claims, Civil Code limitation periods (Japan), kept until the matter is closed"
    ) in req.outcome


def test_erasure_for_a_visitor_without_an_account_goes_by_e_mail_address(
    officer_client, alice, committed
):
    from exportdesk.messaging.models import ContactEvent

    contact_event_record(
        email="grace@example.com",
        kind="inquiry",
        direction="in",
        subject="Price of a Prius to Mombasa",
        body="Grace Njeri, +254 700 000000",
    )
    contact_event_record(
        email=alice.email, kind="email", direction="in", subject="Alice's own", customer=alice
    )
    req = data_request(email="grace@example.com", kind=Kind.ERASURE, state=State.IN_PROGRESS)

    preview = page(officer_client.get(f"{BASE}requests/{req.pk}/"))
    assert "No account with this address" in preview
    assert "messaging.ContactEvent" in preview
    assert "Dispute holds" not in preview  # a hold needs an account

    with committed():
        assert action(officer_client, req, "erase", confirm="on").status_code == 302
    assert not ContactEvent.objects.filter(subject="Price of a Prius to Mombasa").exists()
    assert ContactEvent.objects.filter(customer=alice, subject="Alice's own").exists()
    req.refresh_from_db()
    assert req.state == State.COMPLETED
    assert [m.to for m in mail.outbox] == [["grace@example.com"]]


def test_an_open_dispute_really_keeps_the_communications(officer_client, alice, committed):
    from exportdesk.messaging.models import ContactEvent

    contact_event_record(
        email=alice.email,
        kind="email",
        direction="in",
        subject="The car arrived damaged",
        body="The bumper is cracked.",
        customer=alice,
    )
    req = data_request(user=alice, kind=Kind.ERASURE, state=State.IN_PROGRESS)
    officer_client.post(f"{BASE}customers/{alice.pk}/", {"reason": "Damage claim"})
    with committed():
        assert action(officer_client, req, "erase", confirm="on").status_code == 302
    kept = ContactEvent.objects.get(customer=alice)
    assert (kept.subject, kept.body) == ("The car arrived damaged", "The bumper is cracked.")


def test_dispute_holds_need_a_reason_and_close_once(officer_client, privacy_officer, alice):
    url = f"{BASE}customers/{alice.pk}/"
    blank = officer_client.post(url, {"reason": "  "})
    assert blank.status_code == 400
    assert "This field is required." in page(blank)
    assert not DisputeHold.objects.exists()

    officer_client.post(url, {"reason": "Unpaid balance disputed"})
    hold = DisputeHold.objects.get()
    assert (hold.user, hold.opened_by) == (alice, privacy_officer)
    assert "Unpaid balance disputed" in page(officer_client.get(url))

    closed = officer_client.post(f"{BASE}holds/{hold.pk}/close/", follow=True)
    assert "Dispute hold closed." in page(closed)
    hold.refresh_from_db()
    closed_at = hold.closed_at
    assert closed_at is not None

    again = officer_client.post(f"{BASE}holds/{hold.pk}/close/", follow=True)
    assert "This dispute hold is already closed." in page(again)
    hold.refresh_from_db()
    assert hold.closed_at == closed_at
    assert AuditEvent.objects.filter(action="privacy.dispute_hold_closed").count() == 1


# --- requests received by post or phone ---------------------------------------------------------


def test_staff_record_a_request_received_by_post(officer_client, alice, committed):
    form = page(officer_client.get(f"{BASE}requests/record/"))
    assert "Record a privacy request" in form
    received = timezone.localdate() - timedelta(days=3)
    with committed():
        response = officer_client.post(
            f"{BASE}requests/record/",
            {
                "kind": "erasure",
                "email": " Alice@Example.com ",
                "name": "Alice Wanjiru",
                "details": "Letter of 2 May: please delete my account.",
                "received_on": received.isoformat(),
                "language": "en",
            },
        )
    assert response.status_code == 302
    req = DataRequest.objects.get()
    assert (req.kind, req.state, req.channel) == ("erasure", "received", "staff")
    assert req.user == alice and req.email == "alice@example.com"
    assert timezone.localtime(req.received_at).date() == received
    assert req.due_at == req.received_at + timedelta(days=30)
    (ack,) = mail.outbox
    assert ack.to == ["alice@example.com"]
    assert "There is no fee." in ack.body
    assert AuditEvent.objects.filter(action="privacy.request_recorded").exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-address", "Enter a valid email address."),
        ("kind", "everything", "Select a valid choice."),
        ("received_on", "2999-01-01", "The day received cannot be in the future."),
        ("details", "", "This field is required."),
    ],
)
def test_a_bad_recorded_request_is_refused_with_the_reason(officer_client, field, value, message):
    data = {
        "kind": "access",
        "email": "grace@example.com",
        "name": "Grace",
        "details": "By phone: wants a copy of her data.",
        "received_on": timezone.localdate().isoformat(),
        "language": "en",
        field: value,
    }
    response = officer_client.post(f"{BASE}requests/record/", data)
    assert response.status_code == 400
    assert message in page(response)
    assert not DataRequest.objects.exists()


# --- reminders ----------------------------------------------------------------------------------


def test_reminders_go_to_the_privacy_officers_once_each(privacy_officer, alice, committed):
    second_officer = staff("olga.privacy@exporter.example", "privacy_officer")
    staff("sam.sales@exporter.example", "sales")
    week = data_request(user=alice, due_in=timedelta(days=6), name="Week Person")
    days2 = data_request(email="g@example.com", due_in=timedelta(days=1), name="Two Person")
    overdue = data_request(email="o@example.com", due_in=-timedelta(days=1), name="Late Person")
    far = data_request(email="f@example.com", due_in=timedelta(days=20))
    data_request(
        email="d@example.com",
        due_in=timedelta(days=1),
        state=State.COMPLETED,
        completed_at=timezone.now(),
    )

    with committed():
        assert privacy_reminders_send() == 3
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [privacy_officer.email, second_officer.email]
    )
    body = mail.outbox[0].body
    assert mail.outbox[0].subject == "Privacy requests: 1 overdue"
    assert "o@example.com" in body and "g@example.com" in body and alice.email in body
    assert "f@example.com" not in body and "d@example.com" not in body
    for req in (week, days2):
        req.refresh_from_db()
        assert req.reminded_7_at is not None
    days2.refresh_from_db()
    assert days2.reminded_2_at is not None
    far.refresh_from_db()
    assert far.reminded_7_at is None

    # The same day again: nothing new to say.
    with committed():
        assert privacy_reminders_send() == 0
    assert len(mail.outbox) == 2

    # Five days on, the week's request is due within 2 days: its second reminder, once.
    later = timezone.now() + timedelta(days=5)
    with committed():
        sent = privacy_reminders_send(now=later)
    assert sent == 3  # the two-day reminder and the two (now) overdue requests of that day
    with committed():
        assert privacy_reminders_send(now=later) == 0
    week.refresh_from_db()
    assert week.reminded_2_at == later
    assert overdue.pk in {
        int(e.object_id)
        for e in AuditEvent.objects.filter(action="privacy.request_overdue_reminded")
    }


def test_an_extension_earns_fresh_reminders(officer_client, alice):
    req = data_request(user=alice, state=State.IN_PROGRESS, due_in=timedelta(days=1))
    privacy_reminders_send()
    req.refresh_from_db()
    assert req.reminded_2_at is not None
    assert action(officer_client, req, "extend", days=30, reason="Complex").status_code == 302
    req.refresh_from_db()
    assert (req.reminded_7_at, req.reminded_2_at) == (None, None)


def test_the_daily_task_sends_the_reminders(privacy_officer, alice, committed):
    from exportdesk.privacy.officer_tasks import send_privacy_reminders

    data_request(user=alice, due_in=timedelta(days=5))
    with committed():
        send_privacy_reminders.call_local()
    assert [m.to for m in mail.outbox] == [[privacy_officer.email]]
    assert mail.outbox[0].subject == "Privacy requests due soon"

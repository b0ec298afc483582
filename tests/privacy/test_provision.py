"""Records of provision and receipt: the registry, the one service every sharing path calls, the
customer's own records, the report command, the 3-year purge and the notices to recipients."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from html import unescape

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from exportdesk.accounts.models import User
from exportdesk.core.models import AuditEvent
from exportdesk.privacy.models import (
    DataRequest,
    ProvisionRecord,
    ReceiptRecord,
    Recipient,
    RecipientNotification,
)
from exportdesk.privacy.provision import (
    DisclosureRestricted,
    provision_records_purge,
    recipients_notify,
    record_provision,
    record_receipt,
)
from exportdesk.privacy.provision_demo import seed_demo_recipients
from exportdesk.privacy.restrictions import restriction_add
from tests.conftest import staff_login
from tests.factories import customer, staff

pytestmark = pytest.mark.django_db

SAFEGUARD = "Contract clauses with APPI-equivalent measures (APPI Art. 28)"


def text_of(response) -> str:
    return unescape(response.content.decode())


@pytest.fixture
def broker(db) -> Recipient:
    return Recipient.objects.create(
        name="Mombasa Clearing Ltd",
        kind=Recipient.Kind.CUSTOMS_BROKER,
        country="KE",
        relationship=Recipient.Relationship.THIRD_PARTY,
        transfer_safeguard=SAFEGUARD,
        contact="privacy@mombasa-clearing.example",
    )


@pytest.fixture
def inspector(db) -> Recipient:
    return Recipient.objects.create(
        name="Kanto Inspection Co.",
        kind=Recipient.Kind.INSPECTION_AGENCY,
        country="JP",
        relationship=Recipient.Relationship.THIRD_PARTY,
        contact="+81 45-555-0134",
    )


@pytest.fixture
def officer_client(privacy_officer: User) -> Client:
    return staff_login(Client(), privacy_officer)


def provide(recipient: Recipient, user: User | None = None, **kwargs: object) -> ProvisionRecord:
    options: dict[str, object] = {
        "data_items": ["name", "address"],
        "legal_basis": "contract",
        "purpose": "Customs clearance in Mombasa",
        **kwargs,
    }
    return record_provision(recipient=recipient, subject_user=user, **options)  # type: ignore[arg-type]


# --- record_provision ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"subject_user": None}, "subject", "Name the person the data is about"),
        ({"data_items": ["  ", ""]}, "data_items", "Name at least one item of data"),
        ({"legal_basis": "because"}, "legal_basis", "Choose the legal basis"),
        ({"legal_basis": "consent"}, "consent_reference", "needs the reference of that consent"),
        ({"subject_email": "not-an-address"}, "subject_email", "Enter a valid e-mail address."),
        (
            {"provided_at": timezone.now() + timedelta(days=2)},
            "provided_at",
            "cannot be in the future",
        ),
    ],
)
def test_it_refuses_bad_input_naming_the_problem_and_writes_nothing(
    alice, broker, kwargs, field, message
):
    options: dict[str, object] = {
        "data_items": ["name"],
        "legal_basis": "contract",
        "subject_user": alice,
        **kwargs,
    }
    with pytest.raises(ValidationError) as refusal:
        record_provision(recipient=broker, **options)  # type: ignore[arg-type]
    assert message in " ".join(refusal.value.message_dict[field])
    assert ProvisionRecord.objects.count() == 0
    assert not AuditEvent.objects.filter(action="privacy.provision_recorded").exists()


def test_it_refuses_an_inactive_recipient(alice, broker):
    broker.is_active = False
    broker.save()
    with pytest.raises(ValidationError) as refusal:
        provide(broker, alice)
    assert refusal.value.message_dict["recipient"] == [
        "Mombasa Clearing Ltd is no longer an active recipient."
    ]
    assert ProvisionRecord.objects.count() == 0


def test_it_records_and_audits_a_disclosure(alice, broker, privacy_officer):
    record = provide(broker, alice, actor=privacy_officer, data_items=["name", " name", "KRA PIN"])
    assert record.user == alice
    assert record.data_items == ["name", "KRA PIN"]
    assert record.source == ProvisionRecord.Source.SYSTEM
    event = AuditEvent.objects.get(action="privacy.provision_recorded")
    assert event.subject_id == alice.pk and event.actor_id == privacy_officer.pk
    assert event.details["data_items"] == ["name", "KRA PIN"]
    # The audit log names items, never the person's values.
    assert "Alice" not in json.dumps(event.details)


def test_a_single_item_given_as_text_is_one_item(alice, broker):
    assert provide(broker, alice, data_items="passport number").data_items == ["passport number"]


def test_it_names_the_sharing_context(alice, broker):
    record = provide(broker, alice, context=alice)
    assert (record.context_type, record.context_id) == ("accounts.user", str(alice.pk))


def test_a_restricted_subjects_disclosure_is_refused_unless_the_law_requires_it(alice, broker):
    restriction_add(user=alice, scope="disclosure", actor=alice)
    with pytest.raises(DisclosureRestricted) as refusal:
        provide(broker, alice)
    assert alice.customer_number in str(refusal.value)
    assert ProvisionRecord.objects.count() == 0
    # Customs declarations are a legal duty: the restriction does not stop them.
    provide(broker, alice, legal_basis="legal_obligation")
    assert ProvisionRecord.objects.count() == 1


def test_a_restricted_person_named_only_by_address_is_refused_too(alice, broker):
    restriction_add(user=alice, scope="all", actor=alice)
    with pytest.raises(DisclosureRestricted):
        provide(broker, None, subject_name="Alice W.", subject_email="ALICE@example.com")
    assert ProvisionRecord.objects.count() == 0


def test_a_receipt_needs_a_provider_and_how_they_obtained_it(alice):
    with pytest.raises(ValidationError) as refusal:
        record_receipt(provider_name=" ", how_obtained="", data_items=["name"], subject_user=alice)
    assert set(refusal.value.message_dict) == {"provider_name", "how_obtained"}
    assert ReceiptRecord.objects.count() == 0
    receipt = record_receipt(
        provider_name="CarPortal Japan",
        how_obtained="The dealer filled in the portal's inquiry form",
        data_items=["name", "e-mail address", "country"],
        subject_email="Lead@Example.com",
    )
    assert receipt.subject_email == "lead@example.com"
    assert AuditEvent.objects.filter(action="privacy.receipt_recorded").count() == 1


# --- the customer's own records -----------------------------------------------------------------


def test_the_customer_sees_only_their_own_records(alice, bob, broker, inspector, client):
    provide(broker, alice, purpose="Customs clearance in Mombasa")
    provide(inspector, None, subject_name="Alice", subject_email="alice@example.com")
    provide(inspector, bob, data_items=["passport number"], purpose="Bob's inspection")
    record_receipt(
        provider_name="CarPortal Japan",
        how_obtained="Portal inquiry form",
        data_items=["phone"],
        subject_user=bob,
    )
    client.force_login(alice)
    page = text_of(client.get("/mypage/privacy/disclosures/"))
    assert "Mombasa Clearing Ltd" in page and "Kenya" in page and SAFEGUARD in page
    assert "Customs clearance in Mombasa" in page and "Legal basis: contract" in page
    assert "Kanto Inspection Co." in page  # matched by her verified address
    assert "Bob's inspection" not in page and "passport number" not in page
    assert "CarPortal Japan" not in page
    assert "We have not received data about you from anyone else." in page

    client.force_login(bob)
    page = text_of(client.get("/mypage/privacy/disclosures/"))
    assert "Bob's inspection" in page and "CarPortal Japan" in page
    assert "Mombasa Clearing Ltd" not in page


def test_records_by_address_count_only_once_the_address_is_verified(broker, client):
    carol = customer("carol@example.com", "UG", email_verified_at=None)
    provide(broker, None, subject_email="carol@example.com", purpose="Before she registered")
    client.force_login(carol)
    page = text_of(client.get("/mypage/privacy/disclosures/"))
    assert "Before she registered" not in page
    assert "We have not given your data to anyone." in page


def test_the_disclosures_page_needs_a_sign_in(client):
    response = client.get("/mypage/privacy/disclosures/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


# --- back office: who may do what ---------------------------------------------------------------

BACKOFFICE_PAGES = [
    "/backoffice/privacy/recipients/",
    "/backoffice/privacy/recipients/new/",
    "/backoffice/privacy/provisions/",
    "/backoffice/privacy/provisions/new/",
    "/backoffice/privacy/receipts/",
    "/backoffice/privacy/receipts/new/",
]


@pytest.mark.parametrize("path", BACKOFFICE_PAGES)
def test_customers_and_staff_without_the_permission_get_nothing(alice, sales, broker, path):
    customer_client = Client()
    customer_client.force_login(alice)
    assert customer_client.get(path).status_code == 403
    assert staff_login(Client(), sales).get(path).status_code == 403


@pytest.mark.parametrize("path", BACKOFFICE_PAGES)
def test_the_privacy_officer_opens_every_page(officer_client, path):
    assert officer_client.get(path).status_code == 200


def test_logistics_may_list_recipients_but_not_change_them(broker):
    logistics = staff_login(Client(), staff("lee.logistics@exporter.example", "logistics"))
    assert logistics.get("/backoffice/privacy/recipients/").status_code == 200
    assert logistics.get("/backoffice/privacy/recipients/new/").status_code == 403
    assert logistics.get(f"/backoffice/privacy/recipients/{broker.pk}/").status_code == 403
    assert logistics.get("/backoffice/privacy/receipts/").status_code == 403


def test_forms_need_the_csrf_token(privacy_officer):
    strict = staff_login(Client(), privacy_officer)
    strict.handler.enforce_csrf_checks = True  # signed in; now post as a forged form would
    response = strict.post("/backoffice/privacy/recipients/new/", {"name": "Sneaky"})
    assert response.status_code == 403
    assert not Recipient.objects.exists()


# --- recipient registry -------------------------------------------------------------------------


def recipient_data(**changes: str) -> dict[str, str]:
    return {
        "name": "Pacific RoRo Lines",
        "kind": "shipping_line",
        "country": "SG",
        "relationship": "third_party",
        "transfer_safeguard": "",
        "contact": "privacy@pacific-roro.example",
        "is_active": "on",
        **changes,
    }


def test_a_recipient_abroad_needs_a_safeguard(officer_client):
    response = officer_client.post("/backoffice/privacy/recipients/new/", recipient_data())
    assert response.status_code == 400
    assert "A recipient outside Japan needs a transfer safeguard" in text_of(response)
    assert not Recipient.objects.exists()

    response = officer_client.post(
        "/backoffice/privacy/recipients/new/", recipient_data(transfer_safeguard=SAFEGUARD)
    )
    assert response.status_code == 302
    recipient = Recipient.objects.get()
    assert (recipient.country, recipient.transfer_safeguard) == ("SG", SAFEGUARD)
    assert AuditEvent.objects.filter(action="privacy.recipient_added").count() == 1


def test_a_recipient_in_japan_needs_none_and_bad_choices_are_named(officer_client, broker):
    response = officer_client.post(
        "/backoffice/privacy/recipients/new/",
        recipient_data(country="XX", kind="pirate", name=broker.name),
    )
    assert response.status_code == 400
    page = text_of(response)
    assert "Select a valid choice. XX is not one of the available choices." in page
    assert "Select a valid choice. pirate is not one of the available choices." in page
    assert "Recipient with this Name already exists." in page
    assert Recipient.objects.count() == 1

    response = officer_client.post(
        "/backoffice/privacy/recipients/new/", recipient_data(country="JP")
    )
    assert response.status_code == 302


def test_editing_a_recipient_is_audited_with_the_fields_changed(officer_client, broker):
    data = recipient_data(
        name=broker.name, country="KE", transfer_safeguard=SAFEGUARD, contact="dpo@mc.example"
    )
    data.pop("is_active")
    response = officer_client.post(f"/backoffice/privacy/recipients/{broker.pk}/", data)
    assert response.status_code == 302
    broker.refresh_from_db()
    assert broker.contact == "dpo@mc.example" and not broker.is_active
    event = AuditEvent.objects.get(action="privacy.recipient_changed")
    assert {"contact", "is_active", "kind"} <= set(event.details["fields"])
    assert "Edit" in text_of(officer_client.get("/backoffice/privacy/recipients/"))
    assert officer_client.get("/backoffice/privacy/recipients/99999/").status_code == 404


# --- manual disclosures and receipts ------------------------------------------------------------


def disclosure(to: Recipient, **changes: str) -> dict[str, str]:
    return {
        "customer": "",
        "subject_name": "",
        "subject_email": "",
        "recipient": str(to.pk),
        "data_items": "name\naddress, phone",
        "legal_basis": "contract",
        "consent_reference": "",
        "purpose": "Bill of lading",
        "provided_at": timezone.localdate().isoformat(),
        **changes,
    }


def test_staff_record_a_disclosure_for_a_customer_by_number(
    officer_client, privacy_officer, alice, broker
):
    response = officer_client.post(
        "/backoffice/privacy/provisions/new/", disclosure(broker, customer=alice.customer_number)
    )
    assert response.status_code == 302
    record = ProvisionRecord.objects.get()
    assert record.user == alice
    assert record.data_items == ["name", "address", "phone"]
    assert record.source == ProvisionRecord.Source.MANUAL
    assert record.recorded_by == privacy_officer
    listing = text_of(officer_client.get(response.url))
    assert "Disclosure to Mombasa Clearing Ltd recorded." in listing
    assert alice.customer_number in listing


def test_staff_record_a_disclosure_about_someone_without_an_account(officer_client, broker):
    yesterday = timezone.localdate() - timedelta(days=1)
    response = officer_client.post(
        "/backoffice/privacy/provisions/new/",
        disclosure(
            broker,
            subject_name="Juma Otieno",
            subject_email="Juma@Example.com",
            provided_at=yesterday.isoformat(),
        ),
    )
    assert response.status_code == 302
    record = ProvisionRecord.objects.get()
    assert (record.user, record.subject_email) == (None, "juma@example.com")
    assert timezone.localdate(record.provided_at) == yesterday


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"customer": "C999999"}, "No customer has that e-mail address or customer number."),
        ({"customer": "nobody@example.com"}, "No customer has that e-mail address"),
        ({}, "Name the person: a customer, or the name or e-mail of someone without an account."),
        (
            {"customer": "alice@example.com", "subject_name": "Alice"},
            "Choose a customer or name someone without an account, not both.",
        ),
        (
            {"customer": "alice@example.com", "data_items": " , \n"},
            "Name at least one item of data.",
        ),
        (
            {"customer": "alice@example.com", "legal_basis": "consent"},
            "A disclosure based on consent needs the reference of that consent.",
        ),
        (
            {"customer": "alice@example.com", "provided_at": "2999-01-01"},
            "The date cannot be in the future.",
        ),
        ({"customer": "alice@example.com", "provided_at": "yesterday"}, "Enter a valid date."),
        ({"customer": "alice@example.com", "recipient": "abc"}, "Select a valid choice."),
    ],
)
def test_a_bad_manual_disclosure_re_renders_with_the_problem_and_writes_nothing(
    officer_client, alice, broker, changes, message
):
    response = officer_client.post(
        "/backoffice/privacy/provisions/new/", disclosure(broker, **changes)
    )
    assert response.status_code == 400
    assert message in text_of(response)
    assert ProvisionRecord.objects.count() == 0


def test_a_staff_account_is_not_a_customer(officer_client, privacy_officer, broker):
    response = officer_client.post(
        "/backoffice/privacy/provisions/new/", disclosure(broker, customer=privacy_officer.email)
    )
    assert response.status_code == 400
    assert ProvisionRecord.objects.count() == 0


def test_a_manual_disclosure_for_a_restricted_customer_is_refused(officer_client, alice, broker):
    restriction_add(user=alice, scope="disclosure", actor=alice)
    response = officer_client.post(
        "/backoffice/privacy/provisions/new/", disclosure(broker, customer=alice.email)
    )
    assert response.status_code == 400
    assert "has restricted new disclosures of their data" in text_of(response)
    assert ProvisionRecord.objects.count() == 0


def test_inactive_recipients_cannot_be_chosen(officer_client, alice, broker):
    broker.is_active = False
    broker.save()
    response = officer_client.post(
        "/backoffice/privacy/provisions/new/", disclosure(broker, customer=alice.email)
    )
    assert response.status_code == 400
    assert "Select a valid choice." in text_of(response)


def test_staff_record_data_received_and_errors_re_render(officer_client, alice):
    data = {
        "provider_name": "CarPortal Japan",
        "provider_address": "1-2-3 Minato, Tokyo",
        "how_obtained": "",
        "customer": alice.customer_number,
        "data_items": "name, phone",
        "received_at": timezone.localdate().isoformat(),
    }
    response = officer_client.post("/backoffice/privacy/receipts/new/", data)
    assert response.status_code == 400
    assert "This field is required." in text_of(response)
    assert ReceiptRecord.objects.count() == 0

    data["how_obtained"] = "The customer sent an inquiry through the portal"
    response = officer_client.post("/backoffice/privacy/receipts/new/", data)
    assert response.status_code == 302
    assert ReceiptRecord.objects.get().user == alice
    assert "CarPortal Japan" in text_of(officer_client.get("/backoffice/privacy/receipts/"))


def test_lists_filter_by_recipient_and_subject(officer_client, alice, bob, broker, inspector):
    provide(broker, alice, purpose="Alice at the broker")
    provide(inspector, alice, purpose="Alice at the inspector")
    provide(broker, bob, purpose="Bob at the broker")
    provide(inspector, None, subject_name="Juma Otieno", purpose="Juma at the inspector")

    page = text_of(officer_client.get(f"/backoffice/privacy/provisions/?recipient={broker.pk}"))
    assert "Alice at the broker" in page and "Bob at the broker" in page
    assert "at the inspector" not in page

    page = text_of(
        officer_client.get(f"/backoffice/privacy/provisions/?subject={alice.customer_number}")
    )
    assert "Alice at the broker" in page and "Alice at the inspector" in page
    assert "Bob" not in page and "Juma" not in page
    assert AuditEvent.objects.filter(
        action="privacy.provision_records_searched", subject_id=alice.pk
    ).exists()

    page = text_of(officer_client.get("/backoffice/privacy/provisions/?subject=juma"))
    assert "Juma at the inspector" in page and "Alice at" not in page

    # A recipient id that does not exist is a bad filter, not a crash.
    assert officer_client.get("/backoffice/privacy/provisions/?recipient=abc").status_code == 200


def test_the_provision_list_runs_a_fixed_number_of_queries(
    officer_client, alice, broker, django_assert_max_num_queries
):
    for n in range(30):
        provide(broker, alice, purpose=f"Shipment {n}", actor=alice)
    with django_assert_max_num_queries(12):
        assert officer_client.get("/backoffice/privacy/provisions/").status_code == 200


# --- the report command -------------------------------------------------------------------------


def test_the_report_prints_one_line_per_record_and_a_json_summary(alice, bob, broker, inspector):
    provide(broker, alice, purpose="Customs clearance")
    provide(
        inspector,
        None,
        subject_email="alice@example.com",
        legal_basis="consent",
        consent_reference="CONSENT-17",
    )
    provide(broker, bob)
    record_receipt(
        provider_name="CarPortal Japan",
        how_obtained="Portal inquiry form",
        data_items=["phone"],
        subject_user=alice,
    )
    out = io.StringIO()
    call_command("provision_report", "--email", "Alice@Example.com", stdout=out)
    lines = out.getvalue().strip().splitlines()
    summary = json.loads(lines[-1])
    assert summary == {
        "email": "alice@example.com",
        "customer": alice.customer_number,
        "provisions": 2,
        "receipts": 1,
        "recipients": ["Kanto Inspection Co.", "Mombasa Clearing Ltd"],
        "providers": ["CarPortal Japan"],
    }
    assert len(lines) == 4
    assert lines[0].startswith("provision | ") and "to Mombasa Clearing Ltd (KE" in lines[0]
    assert "consent: CONSENT-17" in lines[1]
    assert lines[2].startswith("receipt | ") and "from CarPortal Japan" in lines[2]
    assert AuditEvent.objects.filter(
        action="privacy.provision_report", subject_id=alice.pk
    ).exists()


def test_the_report_for_someone_unknown_is_empty_and_a_bad_address_fails():
    out = io.StringIO()
    call_command("provision_report", "--email", "nobody@example.com", stdout=out)
    assert json.loads(out.getvalue().strip().splitlines()[-1])["provisions"] == 0

    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("provision_report", "--email", "not an address", stdout=out, stderr=err)
    assert exit_.value.code == 1
    assert "error" in json.loads(out.getvalue().strip().splitlines()[-1])


# --- retention ----------------------------------------------------------------------------------


def test_the_purge_deletes_records_older_than_three_years_and_keeps_the_rest(
    alice, broker, settings
):
    settings.PRIVACY_PROVISION_RECORD_YEARS = 3
    now = timezone.now()
    old = provide(broker, alice, provided_at=now - timedelta(days=3 * 365 + 2))
    young = provide(broker, alice, provided_at=now - timedelta(days=3 * 365 - 2))
    old_receipt = record_receipt(
        provider_name="Portal",
        how_obtained="Form",
        data_items=["name"],
        subject_user=alice,
        received_at=now - timedelta(days=4 * 365),
    )
    record_receipt(
        provider_name="Portal", how_obtained="Form", data_items=["name"], subject_user=alice
    )

    assert provision_records_purge(now, batch_size=1) == 2
    assert list(ProvisionRecord.objects.all()) == [young]
    assert not ProvisionRecord.objects.filter(pk=old.pk).exists()
    assert not ReceiptRecord.objects.filter(pk=old_receipt.pk).exists()
    assert ReceiptRecord.objects.count() == 1
    # Idempotent: a second run finds nothing to do.
    assert provision_records_purge(now) == 0
    assert AuditEvent.objects.filter(action="privacy.provision_records_purged").count() == 1


# --- GDPR Art. 19 -------------------------------------------------------------------------------


def erasure_request(user: User) -> DataRequest:
    now = timezone.now()
    return DataRequest.objects.create(
        kind=DataRequest.Kind.ERASURE,
        state=DataRequest.State.IN_PROGRESS,
        channel=DataRequest.Channel.MYPAGE,
        user=user,
        email=user.email,
        received_at=now,
        due_at=now + timedelta(days=30),
    )


def test_recipients_are_told_once_per_request(
    alice, bob, broker, inspector, privacy_officer, mailoutbox, committed
):
    provide(broker, alice, purpose="Customs clearance")
    provide(broker, None, subject_email="alice@example.com", data_items=["passport number"])
    provide(inspector, alice)
    provide(broker, bob)
    request = erasure_request(alice)

    with committed():
        first = recipients_notify(
            user=alice, email=alice.email, kind="erasure", request=request, actor=privacy_officer
        )
    assert {(n.recipient, n.provisions) for n in first} == {(broker, 2), (inspector, 1)}
    assert {n.sent_to for n in first} == {broker.contact, inspector.contact}
    # Only the broker's contact is an address; the inspector's phone is recorded for staff.
    assert [m.to for m in mailoutbox] == [[broker.contact]]
    mail = mailoutbox[0]
    assert mail.subject == "Erasure request: personal data we gave you"
    assert "Alice Wanjiru" in mail.body and "alice@example.com" in mail.body
    assert "passport number" in mail.body and "Please erase the data" in mail.body
    assert str(request.public_id) in mail.body

    with committed():
        second = recipients_notify(
            user=alice, email=alice.email, kind="erasure", request=request, actor=privacy_officer
        )
    assert {n.pk for n in second} == {n.pk for n in first}
    assert RecipientNotification.objects.count() == 2
    assert len(mailoutbox) == 1
    assert AuditEvent.objects.filter(action="privacy.recipient_notified").count() == 2


def test_an_erasure_without_a_request_is_told_once_and_other_kinds_are_separate(alice, broker):
    provide(broker, alice)
    recipients_notify(user=alice, email=alice.email, kind="erasure", request=None, actor=None)
    recipients_notify(user=alice, email=alice.email, kind="erasure", request=None, actor=None)
    assert RecipientNotification.objects.filter(kind="erasure").count() == 1
    request = erasure_request(alice)
    recipients_notify(
        user=alice, email=alice.email, kind="rectification", request=request, actor=None
    )
    assert RecipientNotification.objects.filter(kind="rectification").count() == 1


def test_nobody_is_told_when_nothing_was_given(alice, broker, mailoutbox):
    assert (
        recipients_notify(
            user=alice, email=alice.email, kind="restriction", request=None, actor=None
        )
        == []
    )
    assert RecipientNotification.objects.count() == 0
    with pytest.raises(ValueError):
        recipients_notify(user=alice, email=alice.email, kind="gossip", request=None, actor=None)


# --- demo ---------------------------------------------------------------------------------------


def test_the_demo_recipients_load_once_with_their_safeguards():
    assert seed_demo_recipients() == ["Added 8 demo recipients of personal data."]
    assert seed_demo_recipients() == []
    for recipient in Recipient.objects.all():
        assert recipient.country == "JP" or recipient.transfer_safeguard
    kinds = set(Recipient.objects.values_list("kind", flat=True))
    assert {
        "shipping_line",
        "forwarder",
        "customs_broker",
        "inspection_agency",
        "bank",
        "processor",
        "courier",
    } <= kinds

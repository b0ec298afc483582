"""A person with data in every model of the inventory, made through the real services where
they exist, so erasure and access tests see what production holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.backends.db import SessionStore
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from exportdesk.accounts.models import SecurityEvent, StaffTOTPDevice, User
from exportdesk.auctions.services import (
    AuctionCosts,
    bid_request_mark_processed,
    bid_request_place,
    bid_result_won,
)
from exportdesk.core.audit import audit_event_record
from exportdesk.messaging.services import contact_event_record
from exportdesk.payments.imports import statement_import
from exportdesk.payments.models import BankTransaction, Deposit
from exportdesk.payments.services import (
    Confirmation,
    DeclarationDraft,
    allocation_decide,
    allocation_request,
    credits_confirm,
    declaration_submit,
    refund_approve,
)
from exportdesk.privacy.models import (
    Breach,
    BreachNotice,
    ConsentRecord,
    DataExport,
    DataRequest,
    DisputeHold,
    InactivityNotice,
    PolicyAcknowledgement,
    PolicyVersion,
    ProcessingRestriction,
    ProvisionRecord,
    ReceiptRecord,
    Recipient,
    RecipientNotification,
)
from exportdesk.sales.models import Inquiry, InquiryReply
from exportdesk.shipping.documents import document_download_record, document_upload
from exportdesk.shipping.parties import (
    PartyDraft,
    order_parties_choose,
    party_create,
    shipping_notices_set,
)
from exportdesk.shipping.shipments import courier_dispatch_record, timeline_event_record
from exportdesk.stock.models import CustomerDestination, Favourite
from tests.auctions.factories import lot as auction_lot
from tests.factories import customer
from tests.payments.factories import bank_account, confirmed_deposit, mt940, order_for
from tests.shipping import logistics
from tests.stock.factories import mombasa, vehicle


@dataclass
class Person:
    user: User
    # Values that identify this person and must not survive an erasure outside declared holds.
    identifying: list[str] = field(default_factory=list)
    slip_names: list[str] = field(default_factory=list)


def _pdf(text: str) -> SimpleUploadedFile:
    body = f"%PDF-1.4\n% transfer slip of {text}\n%%EOF\n".encode()
    return SimpleUploadedFile("slip.pdf", body, content_type="application/pdf")


def person_everywhere(tag: str, *, accountant: User, n: int) -> Person:
    """`tag` makes every value unique to this person; `n` keeps statement references apart."""
    email = f"{tag}.okafor@example.com"
    name = f"{tag.title()} Okafor-Zubi"
    phone = f"+234 803 555 77{n:02d}"
    company = f"{tag.title()}zubi Motors Ltd"
    address = f"{n} {tag.title()} Marina Road, Lagos"
    payer = f"{tag.upper()} OKAFOR ZUBI"
    user = customer(email, country="NG", name=name)
    profile = user.customer_profile
    profile.phone, profile.company, profile.address = phone, company, address
    profile.save()
    person = Person(user, [email, name, phone, company, address, payer])

    now = timezone.now()
    # A former staff member who became a customer still has a role and a permission row.
    user.groups.add(Group.objects.get_or_create(name="former-staff")[0])
    user.user_permissions.add(Permission.objects.get(codename="view_vehicle"))
    SecurityEvent.objects.create(
        user=user, email_tried=email, kind="login", ip_address="203.0.113.9"
    )
    StaffTOTPDevice.objects.create(user=user, secret=f"SECRET{tag.upper()}")
    LogEntry.objects.create(
        user=accountant,
        content_type=ContentType.objects.get_for_model(User),
        object_id=str(user.pk),
        object_repr=email,
        action_flag=CHANGE,
        change_message=f"Changed name of {name}",
    )
    audit_event_record(
        action="test.about",
        actor=user,
        obj=user,
        subject_id=user.pk,
        ip_address="203.0.113.9",
        details={"said": name},
    )
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session.create()

    # Stock: favourites and the remembered destination.
    car = vehicle(stock_number=f"EX-{tag.upper()}")
    Favourite.objects.create(
        user=user, vehicle=car, price_when_added_jpy=900000, status_when_added="available"
    )
    CustomerDestination.objects.create(user=user, port=mombasa())

    # Sales: an inquiry and our reply, contact history.
    inquiry = Inquiry.objects.create(
        user=user,
        name=name,
        email=email,
        country="NG",
        message=f"Please call {phone}",
        created_at=now,
        ip_address="203.0.113.9",
    )
    InquiryReply.objects.create(
        inquiry=inquiry, staff=accountant, body=f"Dear {name}, thank you", sent_at=now
    )
    contact_event_record(
        email=email,
        kind="email",
        direction="out",
        customer=user,
        subject=f"Hello {name}",
        body=f"Dear {name}",
    )

    # Money: a paid order through declaration, statement, deposit, allocation; a refund; and an
    # unconfirmed declaration with its slip.
    order = order_for(user)
    declared = declaration_submit(
        customer=user,
        draft=DeclarationDraft(
            amount=order.total + 100,
            currency="USD",
            paid_on=date.today(),
            payer_name=payer,
            payer_bank="Zenith Bank",
            reference=order.proforma.number,
            orders=[order],
        ),
        slip=_pdf(payer),
    )
    pending = declaration_submit(
        customer=user,
        draft=DeclarationDraft(
            amount=Decimal(55),
            currency="USD",
            paid_on=date.today(),
            payer_name=f"{payer} JUNIOR",
            payer_bank="Zenith Bank",
            reference="second car",
            orders=[order],
        ),
        slip=_pdf(f"{payer} JUNIOR"),
    )
    person.identifying.append(f"{payer} JUNIOR")
    person.slip_names = [declared.slip.name, pending.slip.name]
    iban = f"GB{n:02d}ZENI{n:014d}"
    statement = mt940(
        [
            (order.total + 100, f"{payer}/IBAN/{iban}", order.proforma.number),
            (Decimal(7), payer, f"DEPOSIT {tag.upper()}"),
        ],
        reference=f"STMT{n}",
    )
    statement_import(
        data=statement, file_name=f"s{n}.sta", bank_account=bank_account(), actor=accountant
    )
    txn = BankTransaction.objects.get(counterparty_name=payer, amount=order.total + 100)
    deposit: Deposit = credits_confirm(
        confirmations=[Confirmation(txn, user, declared)], actor=accountant
    )[0]
    allocation = allocation_request(
        deposit=deposit, order=order, amount=order.total, requested_by=user
    )
    allocation_decide(allocation=allocation, staff=accountant, approve=True)
    refund_approve(deposit=deposit, amount=Decimal(100), staff=accountant)

    # Privacy: choices, requests, restrictions, records of provision and receipt, notices.
    policy = PolicyVersion.objects.get_or_create(
        version="2026-1",
        defaults={"effective_date": date(2026, 1, 1), "body": "Policy", "published_at": now},
    )[0]
    ConsentRecord.objects.create(
        user=user, purpose="marketing", granted=True, source="banner", created_at=now
    )
    PolicyAcknowledgement.objects.create(user=user, policy_version=policy, acknowledged_at=now)
    request = DataRequest.objects.create(
        kind="access",
        state="completed",
        channel="mypage",
        user=user,
        email=email,
        name=name,
        details=f"Send my data to {address}",
        received_at=now,
        due_at=now + timedelta(days=30),
    )
    DataExport.objects.create(request=request, state="ready", created_at=now)
    ProcessingRestriction.objects.create(
        user=user, scope="marketing", reason=f"{name} objects", created_at=now
    )
    recipient, _ = Recipient.objects.get_or_create(
        name="Blue Ocean RoRo Lines",
        defaults={"kind": "shipping_line", "country": "JP", "relationship": "third_party"},
    )
    ProvisionRecord.objects.create(
        user=user,
        subject_name=name,
        subject_email=email,
        recipient=recipient,
        data_items=["name", "address"],
        legal_basis="contract",
        provided_at=now,
        source="system",
    )
    ReceiptRecord.objects.create(
        provider_name="CarPortal",
        how_obtained="web form",
        user=user,
        subject_name=name,
        subject_email=email,
        data_items=["name"],
        received_at=now,
    )
    RecipientNotification.objects.create(
        recipient=recipient, kind="rectification", subject_id=user.pk, provisions=1, sent_at=now
    )
    breach, _ = Breach.objects.get_or_create(
        reference="BR-TEST-1",
        defaults={
            "detected_at": now,
            "occurred_from": now,
            "occurred_until": now,
            "description": "test",
            "created_at": now,
        },
    )
    BreachNotice.objects.create(breach=breach, user=user, email=email, sent_at=now)
    InactivityNotice.objects.create(user=user, warned_at=now)
    DisputeHold.objects.create(
        user=user, reason=f"{name} disputed a fee", opened_at=now, closed_at=now
    )
    _shipped(person, tag, n, accountant)
    _bid(person, tag, accountant)
    return person


def _shipped(person: Person, tag: str, n: int, accountant: User) -> None:
    """A paid order consigned in Kenya, shipped and couriered, with its documents, a consignee
    change waiting, shipping-notice choices, and an address-book entry never used."""
    user = person.user
    title = tag.title()
    consignee = logistics.consignee(
        user,
        name=f"{title} Imports Kenya",
        company=f"{title} Imports Ltd",
        address=f"{n} Nkrumah Road, Mombasa",
        phone=f"+254 711 0000{n:02d}",
        email=f"{tag}.imports@example.com",
        id_number=f"A{n:09d}B",
    )
    unused = party_create(
        customer=user,
        draft=PartyDraft(
            role="notify",
            name=f"{title} Cousin Unused",
            address=f"{n} Unused Lane, Nairobi",
            country="KE",
            phone=f"+254 722 0000{n:02d}",
        ),
    )
    person.identifying += [consignee.name, consignee.address, consignee.email, unused.name]
    order = logistics.shippable_order(user, the_consignee=consignee)
    logistics.passed_inspection(order)
    cargo = logistics.shipment(order, book=True)
    for status in ("at_port", "loaded"):
        timeline_event_record(shipment=cargo, status=status, actor=logistics.officer())
    courier_dispatch_record(
        order=order,
        courier=logistics.courier(),
        tracking_number=f"12345678{n:02d}",
        documents=["bill_of_lading"],
        addressed_to=consignee,
        actor=logistics.officer(),
    )
    document = document_upload(
        order=order,
        kind="bill_of_lading",
        title="",
        upload=SimpleUploadedFile("bl.pdf", b"%PDF-1.4\n% B/L\n%%EOF\n"),
        actor=logistics.officer(),
    )
    document_download_record(document=document, user=user, ip_address="203.0.113.5")
    shipping_notices_set(user=user, statuses=["sailed"])
    second = logistics.consignee(
        user,
        name=f"{title} Second Consignee",
        company="",
        address=f"{n} Moi Avenue, Mombasa",
        email="",
        id_number=f"P{n:09d}X",
    )
    person.identifying.append(second.name)
    order_parties_choose(order=order, consignee=second, notify=None, customer=user)


def _bid(person: Person, tag: str, accountant: User) -> None:
    """A bid request still pending on part of a confirmed deposit (a deposit hold), and one
    that was won and became an order."""
    user = person.user
    deposit = confirmed_deposit(user, Decimal(9000), staff=accountant)
    bid_request_place(
        customer=user,
        lot=auction_lot(),
        max_bid_jpy=900_000,
        note=f"{tag.title()} wants the white one",
        port=None,
        deposit=deposit,
    )
    won = bid_request_place(
        customer=user,
        lot=auction_lot(),
        max_bid_jpy=1_000_000,
        note="",
        port=None,
        deposit=deposit,
    )
    bid_request_mark_processed(bid=won, staff=accountant)
    bid_result_won(
        bid=won,
        staff=accountant,
        costs=AuctionCosts(
            hammer_price_jpy=950_000, auction_fee_jpy=20_000, recycle_fee_jpy=15_000, tax_jpy=2_000
        ),
    )
    person.identifying.append(f"{tag.title()} wants the white one")

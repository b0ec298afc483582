"""Test data for the logistics desk: paid orders with consignees, the recipient registry's
shipping line, forwarder, customs broker, inspection agency and courier, shipments, certificates.

Everything goes through the real services: payments approved by accounting, consignees chosen by
the customer, recipients saved to the registry."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from exportdesk.accounts.models import User
from exportdesk.payments.services import allocation_decide, allocation_request
from exportdesk.privacy.models import Recipient
from exportdesk.privacy.provision import recipient_save
from exportdesk.sales.models import Order
from exportdesk.shipping.inspections import inspection_book, inspection_result_record
from exportdesk.shipping.models import Inspection, Party, Shipment
from exportdesk.shipping.parties import PartyDraft, order_parties_choose, party_create
from exportdesk.shipping.shipments import (
    ShipmentDetails,
    shipment_book,
    shipment_create,
    shipment_order_add,
)
from exportdesk.stock.models import Port
from tests.factories import staff
from tests.payments.factories import confirmed_deposit, order_for
from tests.stock.factories import mombasa

KRA_PIN = "A123456789B"
QISJ = "Pre-shipment inspection (QISJ (KEBS-appointed))"


def officer(email: str = "lee.logistics@exporter.example") -> User:
    found = User.objects.filter(email=email).first()
    return found or staff(email, "logistics")


def accountant() -> User:
    found = User.objects.filter(email="acc.one@exporter.example").first()
    return found or staff("acc.one@exporter.example", "accounting")


def pay(order: Order, amount: Decimal | None = None) -> Order:
    """Money arrives, is allocated to the order, and accounting approves it."""
    amount = order.total if amount is None else amount
    deposit = confirmed_deposit(order.customer, amount, staff=accountant())
    allocation = allocation_request(
        deposit=deposit, order=order, amount=amount, requested_by=order.customer
    )
    allocation_decide(allocation=allocation, staff=accountant(), approve=True)
    order.refresh_from_db()
    return order


def consignee(customer: User, name: str = "Kamau Motors Ltd", **fields: str) -> Party:
    values: dict[str, str] = {
        "role": Party.Role.CONSIGNEE,
        "name": name,
        "company": "Kamau Motors Ltd",
        "address": "Moi Avenue 12\nMombasa",
        "country": "KE",
        "phone": "+254 712 345678",
        "email": "imports@kamau.example",
        "id_number": KRA_PIN,
        **fields,
    }
    return party_create(customer=customer, draft=PartyDraft(**values))


def notify_party(customer: User, name: str = "Coast Clearing Agents") -> Party:
    return party_create(
        customer=customer,
        draft=PartyDraft(
            role=Party.Role.NOTIFY,
            name=name,
            address="Port Road 3\nMombasa",
            country="KE",
            phone="+254 733 000111",
        ),
    )


def shippable_order(
    customer: User,
    *,
    the_consignee: Party | None = None,
    notify: bool = True,
    paid: Decimal | None = None,
) -> Order:
    """A C&F Mombasa order, paid (in full unless told), consigned (and notified) in Kenya."""
    order = order_for(customer)
    order_parties_choose(
        order=order,
        consignee=the_consignee or consignee(customer),
        notify=notify_party(customer) if notify else None,
        customer=customer,
    )
    return pay(order, paid)


def recipient(name: str, kind: str, country: str = "JP", contact: str = "") -> Recipient:
    found = Recipient.objects.filter(name=name).first()
    if found is not None:
        return found
    return recipient_save(
        recipient=Recipient(
            name=name,
            kind=kind,
            country=country,
            relationship=Recipient.Relationship.THIRD_PARTY,
            transfer_safeguard="" if country == "JP" else "Contract clauses (APPI Art. 28)",
            contact=contact,
        ),
        actor=None,
    )


def shipping_line() -> Recipient:
    return recipient("Nordic RoRo Carriers AS", Recipient.Kind.SHIPPING_LINE, "NO")


def forwarder() -> Recipient:
    return recipient("Minato Forwarding K.K.", Recipient.Kind.FORWARDER)


def customs_broker() -> Recipient:
    return recipient("Mombasa Clearing & Forwarding Ltd", Recipient.Kind.CUSTOMS_BROKER, "KE")


def agency() -> Recipient:
    return recipient("Kanto Pre-Shipment Inspection Co.", Recipient.Kind.INSPECTION_AGENCY)


def courier(name: str = "DHL Express", country: str = "JP") -> Recipient:
    return recipient(name, Recipient.Kind.COURIER, country)


def details(port: Port | None = None, **changes: Any) -> ShipmentDetails:
    values: dict[str, Any] = {
        "method": "roro",
        "port_of_loading": "Yokohama",
        "port_of_discharge": port or mombasa(),
        "shipping_line": shipping_line(),
        "vessel": "Hoegh Trigger",
        "voyage": "112W",
        **changes,
    }
    return ShipmentDetails(**values)


def shipment(*orders: Order, book: bool = False, **changes: Any) -> Shipment:
    """A RoRo shipment to Mombasa with the orders on it, booked if asked."""
    created = shipment_create(details=details(**changes), actor=officer())
    for order in orders:
        shipment_order_add(shipment=created, order=order, actor=officer())
    if book:
        shipment_book(shipment=created, actor=officer())
    created.refresh_from_db()
    return created


def pdf(text: str = "Roadworthiness certificate QISJ-2026-0042") -> bytes:
    return f"%PDF-1.4\n% {text}\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".encode()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(out, format="PNG")
    return out.getvalue()


def upload(body: bytes, name: str = "certificate.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, body, content_type="application/pdf")


def passed_inspection(order: Order) -> Inspection:
    """Kenya's required inspection, booked with the agency and passed with its certificate."""
    booked = inspection_book(
        order=order, agency=agency(), kind=QISJ, booked_for=None, actor=officer()
    )
    return inspection_result_record(
        inspection=booked,
        passed=True,
        certificate=upload(pdf()),
        certificate_number="QISJ-2026-0042",
        actor=officer(),
    )

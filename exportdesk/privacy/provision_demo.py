"""Demo recipients: the companies an exporter's customer data typically goes to. Idempotent.

The names are invented, except the couriers', which are the ones exporters actually send
originals with; the kinds, relationships and safeguards are the ones an exporter in Yokohama
shipping to East Africa would record, and every contact is an example address.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from exportdesk.accounts.demo import DEMO_DOMAIN
from exportdesk.accounts.models import User
from exportdesk.core.personal_data import LegalBasis
from exportdesk.privacy.models import ProvisionRecord, Recipient
from exportdesk.privacy.provision import recipient_save, record_provision

Kind = Recipient.Kind
Relationship = Recipient.Relationship

DEMO_RECIPIENTS: list[dict[str, str]] = [
    {
        "name": "Nordic RoRo Carriers AS",
        "kind": Kind.SHIPPING_LINE,
        "country": "NO",
        "relationship": Relationship.THIRD_PARTY,
        "transfer_safeguard": (
            "Norway is in the EEA, recognised by the PPC as having equivalent protection "
            "(APPI Art. 28(1), adequacy)."
        ),
        "contact": "bookings@nordic-roro.example",
    },
    {
        "name": "Minato Forwarding K.K. (Yokohama)",
        "kind": Kind.FORWARDER,
        "country": "JP",
        "relationship": Relationship.PROCESSOR,
        "transfer_safeguard": "",
        "contact": "export-desk@minato-forwarding.example",
    },
    {
        "name": "Mombasa Clearing & Forwarding Ltd",
        "kind": Kind.CUSTOMS_BROKER,
        "country": "KE",
        "relationship": Relationship.THIRD_PARTY,
        "transfer_safeguard": (
            "Contract clauses binding the broker to APPI-equivalent measures (APPI Art. 28(1), "
            "Enforcement Rules Art. 16); customers are told of Kenya's Data Protection Act 2019."
        ),
        "contact": "privacy@mombasa-clearing.example",
    },
    {
        "name": "Kanto Pre-Shipment Inspection Co.",
        "kind": Kind.INSPECTION_AGENCY,
        "country": "JP",
        "relationship": Relationship.THIRD_PARTY,
        "transfer_safeguard": "",
        "contact": "+81 45-555-0134",
    },
    {
        "name": "Yokohama Harbour Bank",
        "kind": Kind.BANK,
        "country": "JP",
        "relationship": Relationship.THIRD_PARTY,
        "transfer_safeguard": "",
        "contact": "compliance@harbour-bank.example",
    },
    {
        "name": "Nimbus Cloud Hosting Inc.",
        "kind": Kind.PROCESSOR,
        "country": "US",
        "relationship": Relationship.PROCESSOR,
        "transfer_safeguard": (
            "Data processing agreement with contract clauses equivalent to APPI (Art. 28(1), "
            "Enforcement Rules Art. 16); the host is certified under the APEC CBPR system."
        ),
        "contact": "dpa@nimbus-cloud.example",
    },
    # Couriers of original documents. The Japanese companies take the envelope; their own
    # network delivers it abroad, which the safeguard tells the customer.
    {
        "name": "DHL Express Japan",
        "kind": Kind.COURIER,
        "country": "JP",
        "relationship": Relationship.THIRD_PARTY,
        "transfer_safeguard": (
            "The waybill travels with the envelope to the DHL group's office in the destination "
            "country, under the group's data-protection rules."
        ),
        "contact": "+81 3-5555-0101",
    },
    {
        "name": "Japan Post EMS",
        "kind": Kind.COURIER,
        "country": "JP",
        "relationship": Relationship.THIRD_PARTY,
        "transfer_safeguard": (
            "The destination country's postal operator delivers the item under the Universal "
            "Postal Convention."
        ),
        "contact": "+81 3-5555-0102",
    },
]


def seed_demo_recipients() -> list[str]:
    """Add the demo recipients that are missing; returns the lines to print."""
    added = []
    with transaction.atomic():
        for fields in DEMO_RECIPIENTS:
            if Recipient.objects.filter(name=fields["name"]).exists():
                continue
            recipient_save(recipient=Recipient(**fields), actor=None, changed=sorted(fields))
            added.append(fields["name"])
        lines = [f"Added {len(added)} demo recipients of personal data."] if added else []
        return lines + _seed_demo_disclosures()


# What a Kenyan customer's shipment sends out: the B/L to the line, the clearance to the broker.
DEMO_DISCLOSURES = [
    (
        "Nordic RoRo Carriers AS",
        ["name", "address", "phone", "consignee name", "consignee address"],
        "Bill of lading for a vehicle shipped to Mombasa",
        40,
    ),
    (
        "Mombasa Clearing & Forwarding Ltd",
        ["name", "address", "KRA PIN", "commercial invoice"],
        "Import customs clearance in Kenya",
        30,
    ),
]


def _seed_demo_disclosures() -> list[str]:
    """Give the Kenyan demo customer something to see on their disclosures page."""
    wanjiku = User.objects.filter(email=f"wanjiku@{DEMO_DOMAIN}").first()
    if wanjiku is None or ProvisionRecord.objects.filter(user=wanjiku).exists():
        return []
    now = timezone.now()
    for name, items, purpose, days_ago in DEMO_DISCLOSURES:
        record_provision(
            recipient=Recipient.objects.get(name=name),
            data_items=items,
            legal_basis=LegalBasis.CONTRACT,
            subject_user=wanjiku,
            purpose=purpose,
            provided_at=now - timedelta(days=days_ago),
        )
    return [f"Recorded {len(DEMO_DISCLOSURES)} demo disclosures about {wanjiku.email}."]

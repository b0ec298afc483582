"""Demo data for sales: the exporter's bank accounts, and one proforma for the Kenyan demo
customer so the Payment Manager has something to pay."""

from __future__ import annotations

from exportdesk.accounts.demo import DEMO_DOMAIN
from exportdesk.accounts.models import User
from exportdesk.sales.models import BankAccount, Proforma
from exportdesk.sales.services import ProformaDraft, ProformaRefused, proforma_issue
from exportdesk.stock.models import Port, Vehicle, VehicleStatus
from exportdesk.stock.rules import rules_for, verdict_for

# Fictitious accounts at a real bank's format: MUFG's SWIFT code with made-up numbers.
DEMO_ACCOUNTS = [
    {
        "code": "demo-usd",
        "bank_name": "MUFG Bank, Ltd.",
        "branch_name": "Yokohama Branch",
        "bank_address": "1-1 Minatomirai, Nishi-ku, Yokohama, Japan",
        "swift_bic": "BOTKJPJT",
        "account_number": "0001234567",
        "account_holder": "Export Desk Demo Co., Ltd.",
        "currency": "USD",
        "statement_identification": "0001234567",
    },
    {
        "code": "demo-jpy",
        "bank_name": "MUFG Bank, Ltd.",
        "branch_name": "Yokohama Branch",
        "bank_address": "1-1 Minatomirai, Nishi-ku, Yokohama, Japan",
        "swift_bic": "BOTKJPJT",
        "account_number": "0007654321",
        "account_holder": "Export Desk Demo Co., Ltd.",
        "currency": "JPY",
        "statement_identification": "0007654321",
    },
]


def seed_demo() -> list[str]:
    lines = []
    for details in DEMO_ACCOUNTS:
        _, created = BankAccount.objects.get_or_create(code=details["code"], defaults=details)
        if created:
            lines.append(f"demo bank account {details['code']} ({details['currency']})")
    lines += _demo_proforma()
    return lines


def _demo_proforma() -> list[str]:
    customer = User.objects.filter(email=f"wanjiku@{DEMO_DOMAIN}").first()
    sales = User.objects.filter(email=f"sales@{DEMO_DOMAIN}").first()
    port = Port.objects.filter(country="KE").first()
    if not (customer and sales and port) or Proforma.objects.filter(customer=customer).exists():
        return []
    rules = rules_for("KE")
    candidates = Vehicle.objects.filter(status=VehicleStatus.AVAILABLE).order_by("pk")[:200]
    car = next((v for v in candidates if verdict_for(v, "KE", rules).allowed), None)
    if car is None:
        return []
    draft = ProformaDraft(
        customer=customer,
        vehicles=[car],
        incoterm="CIF",
        destination_country="KE",
        currency="USD",
        bank_account=BankAccount.objects.get(code="demo-usd"),
        port=port,
    )
    try:
        proforma = proforma_issue(draft=draft, staff=sales)
    except ProformaRefused as refused:
        return [f"demo proforma not issued: {refused}"]
    return [f"demo proforma {proforma.number} for {customer.email} ({proforma.total} USD)"]

"""Demo data for sales: the exporter's bank accounts (issue a proforma to see them in use)."""

from __future__ import annotations

from exportdesk.sales.models import BankAccount

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
    return lines

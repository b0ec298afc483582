"""Money test data: our bank account, a proforma accepted into an order, statement files,
bank credits and confirmed deposits."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from django.utils import timezone

from exportdesk.accounts.models import User
from exportdesk.payments.models import BankStatement, BankTransaction, Deposit, StatementImport
from exportdesk.payments.services import Confirmation, credits_confirm
from exportdesk.sales.models import BankAccount, Order, Proforma
from exportdesk.sales.services import ProformaDraft, proforma_accept, proforma_issue
from exportdesk.stock.models import ExchangeRate, Vehicle
from tests.factories import staff
from tests.stock.factories import mombasa, roro_rate, usd_rate, vehicle


def bank_account(currency: str = "USD", code: str = "mufg-usd") -> BankAccount:
    account, _ = BankAccount.objects.get_or_create(
        code=code,
        defaults={
            "bank_name": "MUFG Bank, Ltd.",
            "branch_name": "Yokohama",
            "swift_bic": "BOTKJPJT",
            "account_number": "0001234567" if currency == "USD" else "0007654321",
            "account_holder": "Test Exporter Co., Ltd.",
            "currency": currency,
            "statement_identification": "0001234567" if currency == "USD" else "0007654321",
        },
    )
    return account


def sales_person() -> User:
    found = User.objects.filter(email="sam.sales@exporter.example").first()
    return found or staff("sam.sales@exporter.example", "sales")


def proforma_for(customer: User, *, car: Vehicle | None = None, currency: str = "USD") -> Proforma:
    """A C&F Mombasa proforma for one car, priced from the real tables."""
    port = mombasa()
    if not port.freight_rates.exists():
        roro_rate(port)
    if not ExchangeRate.objects.filter(currency="USD").exists():
        usd_rate()
    return proforma_issue(
        draft=ProformaDraft(
            customer=customer,
            vehicles=[car or vehicle()],
            incoterm="CNF",
            destination_country="KE",
            currency=currency,
            bank_account=bank_account(currency, code=f"mufg-{currency.lower()}"),
            port=port,
        ),
        staff=sales_person(),
    )


def order_for(customer: User, **kwargs: object) -> Order:
    return proforma_accept(proforma=proforma_for(customer, **kwargs), customer=customer)  # type: ignore[arg-type]


def mt940(
    credits: list[tuple[Decimal, str, str]],
    *,
    day: date | None = None,
    account: str = "0001234567",
    currency: str = "USD",
    reference: str = "STMT1",
) -> bytes:
    """A one-statement MT940 file of credits (amount, payer name, remittance text), balanced."""
    when = day or date.today()
    yymmdd = when.strftime("%y%m%d")
    lines = [f":20:{reference}", f":25:{account}", ":28C:1/1", f":60F:C{yymmdd}{currency}0,00"]
    total = Decimal(0)
    for n, (amount, payer, text) in enumerate(credits, start=1):
        total += amount
        lines.append(f":61:{yymmdd}{when:%m%d}C{amount:.2f}NTRFNONREF//REF{n}".replace(".", ","))
        lines.append(f":86:/NAME/{payer}/REMI/{text}")
    lines.append(f":62F:C{yymmdd}{currency}{total:.2f}".replace(".", ","))
    return ("\r\n".join(lines) + "\r\n").encode()


def bank_credit(amount: Decimal, payer: str = "ALICE WANJIRU") -> BankTransaction:
    """An incoming transfer on our USD account, as a statement import leaves it."""
    account = bank_account()
    today = timezone.localdate()
    record = StatementImport.objects.create(
        bank_account=account,
        file_name="statement.sta",
        sha256=uuid.uuid4().hex * 2,
        file_format="mt940",
        imported_at=timezone.now(),
    )
    statement = BankStatement.objects.create(
        statement_import=record,
        bank_account=account,
        account_identification=account.statement_identification,
        currency="USD",
        opening_date=today,
        opening_balance=Decimal(0),
        closing_date=today,
        closing_balance=amount,
        entry_count=1,
        difference=Decimal(0),
        fingerprint=uuid.uuid4().hex,
    )
    return BankTransaction.objects.create(
        statement=statement,
        bank_account=account,
        booking_date=today,
        amount=amount,
        currency="USD",
        counterparty_name=payer,
        counterparty_account="KE0011223344",
        fingerprint=uuid.uuid4().hex,
    )


def confirmed_deposit(customer: User, amount: Decimal, *, staff: User | None = None) -> Deposit:
    """Money from `customer` that accounting confirmed: a deposit with nothing allocated."""
    accountant = staff or User.objects.filter(is_staff=True).first() or sales_person()
    credit = bank_credit(amount, payer=customer.name.upper())
    return credits_confirm(confirmations=[Confirmation(credit, customer, None)], actor=accountant)[
        0
    ]

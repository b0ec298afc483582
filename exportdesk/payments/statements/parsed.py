"""What every statement parser returns: plain, immutable values with no database behind them.

The import service turns these into ledger rows; keeping the parsers free of Django lets them be
tested byte by byte and lets a bad file fail before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from exportdesk.core.money import ZERO

# A statement file is small text; anything bigger is refused before it is read, so an upload
# cannot make the worker hold hundreds of megabytes of parsed rows.
MAX_STATEMENT_BYTES = 20 * 1024 * 1024


class StatementFormatError(ValueError):
    """The file is not a statement this system can read; the message says where and why."""

    def __init__(self, location: str, message: str) -> None:
        super().__init__(f"{location}: {message}" if location else message)
        self.location = location
        self.reason = message


@dataclass(frozen=True, kw_only=True)
class ParsedEntry:
    """One booked line of a statement, signed from the account holder's side."""

    location: str
    booking_date: date
    value_date: date | None
    amount: Decimal
    currency: str
    bank_reference: str
    customer_reference: str
    remittance: str
    counterparty_name: str
    counterparty_account: str
    transaction_code: str
    # Additions to the agreed interface:
    is_reversal: bool = False
    # The bank's whole information text for the entry (MT940 :61: supplementary details and
    # :86:/:NS:, camt AddtlNtryInf/AddtlTxInf), for staff to read when the extracted parts
    # are not enough.
    details: str = ""
    # CSV only: the running balance the bank printed after this row.
    balance_after: Decimal | None = None


@dataclass(frozen=True, kw_only=True)
class ParsedStatement:
    """One statement: balances as the bank stated them and the entries between them."""

    location: str
    account_identification: str
    statement_reference: str
    sequence: str
    currency: str
    opening_date: date
    opening_balance: Decimal
    closing_date: date
    closing_balance: Decimal
    entries: tuple[ParsedEntry, ...]
    # Remarks the importer should show with the statement (entries skipped, a convention chosen).
    notes: tuple[str, ...] = ()

    @property
    def credits_total(self) -> Decimal:
        return sum((e.amount for e in self.entries if e.amount > 0), ZERO)

    @property
    def debits_total(self) -> Decimal:
        """Money out, as a positive number."""
        return -sum((e.amount for e in self.entries if e.amount < 0), ZERO)

    @property
    def difference(self) -> Decimal:
        """Zero when the entries explain the move from the opening to the closing balance."""
        return (
            self.opening_balance
            + sum((e.amount for e in self.entries), ZERO)
            - self.closing_balance
        )

    @property
    def balanced(self) -> bool:
        return self.difference == 0

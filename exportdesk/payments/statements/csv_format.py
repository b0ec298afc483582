"""Bank CSV exports, read through a per-account column mapping.

CSV files carry no standard layout, so each bank account keeps a `CsvMapping` (saved as JSON)
saying which column is what. The running balance column is required: it is the only way to
prove a CSV statement complete, the way MT940 and camt.053 prove theirs with opening and
closing balances.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any

from exportdesk.core.money import ZERO, UnknownCurrency, currency_check

from ._text import check_size, collapse, line_of, to_minor_units
from .parsed import ParsedEntry, ParsedStatement, StatementFormatError

# Canonical codec for each encoding name a settings form may send. Japanese banks write
# Shift_JIS, which in practice means Microsoft's cp932 (it adds the NEC/IBM characters).
_ENCODINGS = {
    "utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8",
    "cp932": "cp932", "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932",
    "windows-31j": "cp932", "ms932": "cp932", "euc-jp": "euc-jp",
    "latin-1": "latin-1", "latin1": "latin-1", "iso-8859-1": "latin-1",
    "cp1252": "cp1252", "windows-1252": "cp1252",
}  # fmt: skip
_ENCODING_LABELS = {"cp932": "cp932 (Shift_JIS, as Japanese banks export)"}

# Rows before the header that some banks print (account name, period); the header is the
# first row naming every mapped column.
_MAX_PREAMBLE_ROWS = 20
_MAX_NUMBER_LENGTH = 40
_MAX_NOTES = 10
# Markers of a negative number: ASCII and Unicode minus signs, and the triangles Japanese
# accounts use for negatives.
_MINUS_SIGNS = "-\u2212\u25b2\u25b3"
_CURRENCY_SYMBOLS = ("¥", "円", "$", "€", "£", "\\")  # cp932 shows the yen sign as a backslash
_DIGITS = re.compile(r"^[0-9]+$")
_GROUPED = {sep: re.compile(rf"^[0-9]{{1,3}}(?:{re.escape(sep)}[0-9]{{3}})+$") for sep in ",. '"}


class CsvMappingError(ValueError):
    """The saved CSV settings for an account are incomplete or inconsistent."""


@dataclass(frozen=True, kw_only=True)
class CsvMapping:
    """Which column of a bank's CSV export holds what, saved per bank account."""

    delimiter: str = ","
    encoding: str = "utf-8"
    has_header: bool = True
    # Header names, or 1-based column numbers as strings when the file has no header.
    date_column: str
    date_format: str = "%Y-%m-%d"
    # Either one signed amount column, or a credit and a debit column.
    amount_column: str | None = None
    credit_column: str | None = None
    debit_column: str | None = None
    balance_column: str
    currency: str
    currency_column: str | None = None
    description_column: str | None = None
    counterparty_name_column: str | None = None
    counterparty_account_column: str | None = None
    reference_column: str | None = None
    decimal_separator: str = "."
    account_identification: str = ""

    def __post_init__(self) -> None:
        problems = _mapping_problems(self)
        if problems:
            raise CsvMappingError("; ".join(problems))
        # Frozen: store the canonical spellings the checks accepted.
        object.__setattr__(self, "encoding", _ENCODINGS[self.encoding.lower()])
        object.__setattr__(self, "currency", currency_check(self.currency))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CsvMapping:
        if not isinstance(data, Mapping):
            raise CsvMappingError("CSV settings must be a JSON object")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise CsvMappingError(f"unknown CSV settings: {', '.join(map(str, unknown))}")
        for name, value in data.items():
            expected = bool if name == "has_header" else str
            nullable = name.endswith("_column") and name not in ("date_column", "balance_column")
            if not (isinstance(value, expected) or (nullable and value is None)):
                raise CsvMappingError(
                    f"{name} must be {'true or false' if expected is bool else 'text'}"
                )
        try:
            return cls(**data)
        except TypeError as exc:  # a required setting is missing
            raise CsvMappingError(f"incomplete CSV settings: {exc}") from None

    @property
    def columns(self) -> dict[str, str]:
        """Each mapped column by what it holds."""
        named = {
            "date": self.date_column,
            "amount": self.amount_column,
            "credit": self.credit_column,
            "debit": self.debit_column,
            "balance": self.balance_column,
            "currency": self.currency_column,
            "description": self.description_column,
            "counterparty name": self.counterparty_name_column,
            "counterparty account": self.counterparty_account_column,
            "reference": self.reference_column,
        }
        return {role: column for role, column in named.items() if column}


def _mapping_problems(mapping: CsvMapping) -> list[str]:
    problems = []
    if len(mapping.delimiter) != 1 or mapping.delimiter in '"\r\n':
        problems.append("the delimiter must be one character other than a quote or line break")
    if mapping.encoding.lower() not in _ENCODINGS:
        problems.append(f"unsupported encoding {mapping.encoding!r}")
    if mapping.decimal_separator not in (".", ","):
        problems.append("the decimal separator must be '.' or ','")
    if not _date_format_works(mapping.date_format):
        problems.append(f"the date format {mapping.date_format!r} must give year, month and day")
    try:
        currency_check(mapping.currency)
    except UnknownCurrency as exc:
        problems.append(str(exc))
    if mapping.amount_column and (mapping.credit_column or mapping.debit_column):
        problems.append("give either an amount column or credit and debit columns, not both")
    elif not mapping.amount_column and not (mapping.credit_column and mapping.debit_column):
        problems.append("an amount column, or both a credit and a debit column, is required")
    for role, column in mapping.columns.items():
        if not column.strip():
            problems.append(f"the {role} column is empty")
        elif not mapping.has_header and not (column.isdigit() and int(column) >= 1):
            problems.append(f"without a header the {role} column must be a number from 1")
    if not mapping.balance_column or not mapping.date_column:
        problems.append("the date and balance columns are required")
    return problems


def _date_format_works(fmt: str) -> bool:
    sample = date(2031, 12, 28)
    try:
        return datetime.strptime(sample.strftime(fmt), fmt).date() == sample
    except ValueError:
        return False


# Parsing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    line: int
    date: date
    amount: Decimal
    balance: Decimal
    description: str
    name: str
    account: str
    reference: str


def parse_csv(data: bytes, mapping: CsvMapping) -> list[ParsedStatement]:
    """The file as one statement; `StatementFormatError` names the first bad line."""
    check_size(data)
    rows = _read_rows(_decode(data, mapping.encoding), mapping.delimiter)
    if not rows:
        raise StatementFormatError("line 1", "the file is empty")
    indexes, body = _column_indexes(rows, mapping)
    parsed = [_row(line, values, indexes, mapping) for line, values in body]
    if not parsed:
        raise StatementFormatError(f"line {rows[-1][0]}", "no transactions after the header")
    parsed = _chronological(parsed)
    first, last = parsed[0], parsed[-1]
    return [
        ParsedStatement(
            location="line 1",
            account_identification=mapping.account_identification,
            statement_reference="",
            sequence="",
            currency=mapping.currency,
            opening_date=first.date,
            opening_balance=first.balance - first.amount,
            closing_date=last.date,
            closing_balance=last.balance,
            entries=tuple(_entry(row, mapping.currency) for row in parsed),
            notes=_balance_breaks(parsed),
        )
    ]


def _decode(data: bytes, encoding: str) -> str:
    if not data.strip():
        raise StatementFormatError("line 1", "the file is empty")
    if encoding == "utf-8":
        data = data.removeprefix(b"\xef\xbb\xbf")
    elif not data.isascii():
        _refuse_utf8_read_as(data, encoding)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = line_of(data, exc.start)
    label = "UTF-8" if encoding == "utf-8" else encoding
    raise StatementFormatError(
        f"line {line}",
        f"not valid {label} text; is the file encoded as {_encoding_hint(data, encoding)}? "
        "Change the encoding in the account's CSV settings",
    )


def _refuse_utf8_read_as(data: bytes, encoding: str) -> None:
    """A UTF-8 file read as cp932 or Latin-1 decodes without error into nonsense."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return
    first = next(index for index, byte in enumerate(data) if byte > 0x7F)
    raise StatementFormatError(
        f"line {line_of(data, first)}",
        f"the file is UTF-8 text, but the account's CSV settings say {encoding}",
    )


def _encoding_hint(data: bytes, tried: str) -> str:
    for candidate in ("utf-8", "cp932"):
        if candidate != tried:
            try:
                data.decode(candidate)
            except UnicodeDecodeError:
                continue
            return _ENCODING_LABELS.get(candidate, candidate.upper())
    return "latin-1 or cp1252"


def _read_rows(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """Non-blank rows with the line each starts on (a quoted field may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    start = 1
    try:
        for values in reader:
            if any(value.strip() for value in values):
                rows.append((start, values))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise StatementFormatError(f"line {start}", f"not readable as CSV: {exc}") from None
    return rows


def _column_indexes(
    rows: list[tuple[int, list[str]]], mapping: CsvMapping
) -> tuple[dict[str, int], list[tuple[int, list[str]]]]:
    """Field index for each mapped role, and the data rows after the header."""
    if not mapping.has_header:
        return {role: int(col) - 1 for role, col in mapping.columns.items()}, rows
    for position, (line, values) in enumerate(rows[:_MAX_PREAMBLE_ROWS]):
        names = [value.strip().lstrip("\ufeff") for value in values]
        found = {role: _header_index(names, col, line) for role, col in mapping.columns.items()}
        if all(index is not None for index in found.values()):
            return {role: index for role, index in found.items() if index is not None}, rows[
                position + 1 :
            ]
    line, values = rows[0]
    names = [value.strip().lstrip("\ufeff") for value in values]
    missing = next(c for c in mapping.columns.values() if _header_index(names, c, line) is None)
    raise StatementFormatError(
        f"line {line}",
        f"the file has no column {missing!r}; its columns are: "
        + ", ".join(repr(name) for name in names),
    )


def _header_index(names: list[str], column: str, line: int) -> int | None:
    wanted = column.strip()
    for match in (lambda name: name == wanted, lambda name: name.casefold() == wanted.casefold()):
        hits = [index for index, name in enumerate(names) if match(name)]
        if len(hits) > 1:
            raise StatementFormatError(
                f"line {line}", f"the column {wanted!r} appears {len(hits)} times in the header"
            )
        if hits:
            return hits[0]
    return None


def _row(line: int, values: list[str], indexes: dict[str, int], mapping: CsvMapping) -> _Row:
    where = f"line {line}"

    def cell(role: str) -> str:
        if role not in indexes:
            return ""
        index = indexes[role]
        if index >= len(values):
            raise StatementFormatError(
                where,
                f"the row has {len(values)} fields, but the {role} column "
                f"{mapping.columns[role]!r} is field {index + 1}",
            )
        return values[index]

    currency = mapping.currency
    if "currency" in indexes and cell("currency").strip().upper() != currency:
        raise StatementFormatError(
            where, f"currency {cell('currency').strip()!r}, but the account is in {currency}"
        )
    balance = _number(cell("balance"), mapping, where, "balance", currency)
    if balance is None:
        raise StatementFormatError(where, f"no balance in column {mapping.balance_column!r}")
    return _Row(
        line=line,
        date=_date(cell("date"), mapping.date_format, where),
        amount=_row_amount(cell, mapping, where),
        balance=balance,
        description=collapse(cell("description")),
        name=collapse(cell("counterparty name")),
        account=collapse(cell("counterparty account")),
        reference=collapse(cell("reference")),
    )


def _row_amount(cell: Callable[[str], str], mapping: CsvMapping, where: str) -> Decimal:
    currency = mapping.currency
    if mapping.amount_column:
        amount = _number(cell("amount"), mapping, where, "amount", currency)
        if amount is None:
            raise StatementFormatError(where, f"no amount in column {mapping.amount_column!r}")
        return amount
    credit = _number(cell("credit"), mapping, where, "credit", currency)
    debit = _number(cell("debit"), mapping, where, "debit", currency)
    for value, what in ((credit, "credit"), (debit, "debit")):
        if value is not None and value < 0:
            raise StatementFormatError(
                where, f"the {what} {value} is negative; the {what} column holds money moved"
            )
    if credit and debit:
        raise StatementFormatError(where, f"both credit {credit} and debit {debit} are filled")
    if credit is None and debit is None:
        raise StatementFormatError(where, "neither the credit nor the debit column has an amount")
    return (credit or ZERO) - (debit or ZERO)


def _date(text: str, fmt: str, where: str) -> date:
    value = unicodedata.normalize("NFKC", text).strip()
    try:
        return datetime.strptime(value, fmt).date()
    except ValueError:
        raise StatementFormatError(
            where, f"date {text.strip()[:40]!r} does not match the format {fmt}"
        ) from None


def _number(text: str, mapping: CsvMapping, where: str, what: str, currency: str) -> Decimal | None:
    """A bank's way of writing an amount, or None for an empty cell.

    Accepts `1,234.50`, `-1.234,50` (decimal comma), `1 234,50`, `¥1,200,000`, `(500.00)`,
    `500-` and `▲500`; thousands separators must group by three, so a number written with
    the other decimal mark is refused instead of being read a thousand times too big or small.
    """
    value = unicodedata.normalize("NFKC", text).strip()
    for symbol in (*_CURRENCY_SYMBOLS, currency):
        value = value.replace(symbol, "")
    value = value.strip()
    if not value:
        return None
    negative = value.startswith("(") and value.endswith(")")
    if negative:
        value = value[1:-1].strip()
    if value and value[0] in _MINUS_SIGNS:
        negative, value = True, value[1:].strip()
    elif value and value[0] == "+":
        value = value[1:].strip()
    elif value and value[-1] in _MINUS_SIGNS:
        negative, value = True, value[:-1].strip()
    number = _plain_number(value, mapping.decimal_separator)
    if number is None:
        raise StatementFormatError(where, f"{what} {text.strip()[:40]!r} is not a number")
    return to_minor_units(-number if negative else number, currency, where, what)


def _plain_number(text: str, decimal_separator: str) -> Decimal | None:
    if not text or len(text) > _MAX_NUMBER_LENGTH:
        return None
    whole, _, fraction = text.partition(decimal_separator)
    if fraction and not _DIGITS.match(fraction):
        return None
    if not _DIGITS.match(whole):
        grouped = [
            sep for sep, rule in _GROUPED.items() if sep != decimal_separator and rule.match(whole)
        ]
        if not grouped:
            return None
        whole = whole.replace(grouped[0], "")
    return Decimal(f"{whole}.{fraction or 0}")


def _chronological(rows: list[_Row]) -> list[_Row]:
    """Oldest first. Japanese bank exports often list the newest row first.

    The dates decide when they run one way; on a single day (or out of order), the running
    balances decide, as the direction in which each balance follows from the one before.
    """
    dates = [row.date for row in rows]
    if dates != sorted(dates):
        if dates == sorted(dates, reverse=True):
            return rows[::-1]
    elif dates[0] != dates[-1]:
        return rows
    pairs = list(pairwise(rows))
    forward = sum(1 for a, b in pairs if b.balance == a.balance + b.amount)
    backward = sum(1 for a, b in pairs if a.balance == b.balance + a.amount)
    return rows[::-1] if backward > forward else rows


def _balance_breaks(rows: list[_Row]) -> tuple[str, ...]:
    """Rows whose balance does not follow from the row before: for the importer to show."""
    notes = []
    for before, row in pairwise(rows):
        expected = before.balance + row.amount
        if row.balance != expected:
            notes.append(
                f"line {row.line}: the balance {row.balance} does not follow from the previous "
                f"row (expected {expected})"
            )
    if len(notes) > _MAX_NOTES:
        notes = [*notes[:_MAX_NOTES], f"... and {len(notes) - _MAX_NOTES} more rows like these"]
    return tuple(notes)


def _entry(row: _Row, currency: str) -> ParsedEntry:
    return ParsedEntry(
        location=f"line {row.line}",
        booking_date=row.date,
        value_date=None,
        amount=row.amount,
        currency=currency,
        bank_reference=row.reference,
        customer_reference="",
        remittance=row.description,
        counterparty_name=row.name,
        counterparty_account=row.account,
        transaction_code="",
        balance_after=row.balance,
    )

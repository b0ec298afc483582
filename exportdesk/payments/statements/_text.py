"""Helpers the statement parsers share: sizes, text decoding, currencies and amounts."""

from __future__ import annotations

import functools
import re
from decimal import ROUND_HALF_UP, Decimal

from exportdesk.core.money import UnknownCurrency, currency_check, minor_units

from .parsed import MAX_STATEMENT_BYTES, StatementFormatError

# Fifteen digits is SWIFT's limit for an amount and far above any bank balance; the cap keeps
# Decimal arithmetic exact (28 significant digits) whatever a hostile file contains.
MAX_AMOUNT_DIGITS = 18

_DECODED_NON_ASCII = re.compile("[^\x00-\x7f\udc80-\udcff]")


def check_size(data: bytes) -> None:
    if len(data) > MAX_STATEMENT_BYTES:
        raise StatementFormatError(
            "",
            f"the file is {len(data) / 1024 / 1024:.1f} MB; statement files over "
            f"{MAX_STATEMENT_BYTES // 1024 // 1024} MB are not accepted",
        )


def collapse(text: str) -> str:
    """Runs of whitespace (line breaks, tabs, no-break spaces) become one space."""
    return " ".join(text.split())


def line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode_text(data: bytes) -> str:
    """UTF-8, or Latin-1 when the file is consistently Latin-1; a mixture is refused.

    Text that mixes the two was pasted together from different sources: guessing which bytes
    mean what would silently corrupt names and references, so the file is sent back instead.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    escaped = data.decode("utf-8", errors="surrogateescape")
    if _DECODED_NON_ASCII.search(escaped):
        raise StatementFormatError(
            f"line {line_of(data, first_bad)}",
            "mixed text encodings: the file has UTF-8 characters and also bytes that are not "
            "UTF-8; export it again from the bank in one encoding",
        )
    return data.decode("latin-1")


def checked_currency(code: str, location: str) -> str:
    try:
        return currency_check(code)
    except UnknownCurrency:
        raise StatementFormatError(location, f"unknown currency code {code!r}") from None


def to_minor_units(value: Decimal, currency: str, location: str, what: str) -> Decimal:
    """`value` in the currency's minor units; refuses amounts that would need rounding.

    A statement amount with more decimals than the currency has (JPY 1200.5) is a broken
    export, and rounding it would hide that; trailing zeros (JPY 1200,00) are fine.
    """
    if not value.is_finite() or value.adjusted() >= MAX_AMOUNT_DIGITS:
        raise StatementFormatError(location, f"{what} {value} is too large")
    rounded = value.quantize(_minor_unit(currency), rounding=ROUND_HALF_UP)
    if rounded != value:
        raise StatementFormatError(
            location,
            f"{what} {value} has more decimal places than {currency} allows "
            f"({minor_units(currency)})",
        )
    return rounded


@functools.lru_cache(maxsize=64)
def _minor_unit(currency: str) -> Decimal:
    """0.01 for USD, 1 for JPY: the step `money.quantize` rounds to, looked up once per currency
    rather than once per amount (a statement has thousands of amounts in one currency)."""
    return Decimal(1).scaleb(-minor_units(currency))

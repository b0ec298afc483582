"""Money: `Decimal` amounts with an ISO 4217 currency, never floats.

Each currency has its number of minor units (JPY has none, USD has cents, KWD has fils), and
every stored amount is rounded to them once, with `quantize`, at the edge where it enters the
system (a form, a statement file, a conversion at a recorded rate).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 active codes and their minor units. Kept to the currencies an exporter's banks and
# customers use or could plausibly send; an unknown code is refused rather than guessed.
MINOR_UNITS: dict[str, int] = {
    "AED": 2, "AOA": 2, "ARS": 2, "AUD": 2, "BBD": 2, "BDT": 2, "BHD": 3, "BMD": 2, "BOB": 2,
    "BRL": 2, "BSD": 2, "BWP": 2, "BZD": 2, "CAD": 2, "CDF": 2, "CHF": 2, "CLP": 0, "CNY": 2,
    "COP": 2, "CRC": 2, "CZK": 2, "DKK": 2, "DOP": 2, "DZD": 2, "EGP": 2, "ETB": 2, "EUR": 2,
    "FJD": 2, "GBP": 2, "GEL": 2, "GHS": 2, "GMD": 2, "GTQ": 2, "GYD": 2, "HKD": 2, "HNL": 2,
    "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "JMD": 2, "JOD": 3, "JPY": 0, "KES": 2, "KGS": 2,
    "KHR": 2, "KRW": 0, "KWD": 3, "KZT": 2, "LKR": 2, "LRD": 2, "LSL": 2, "MAD": 2, "MGA": 2,
    "MMK": 2, "MNT": 2, "MOP": 2, "MUR": 2, "MWK": 2, "MXN": 2, "MYR": 2, "MZN": 2, "NAD": 2,
    "NGN": 2, "NIO": 2, "NOK": 2, "NPR": 2, "NZD": 2, "OMR": 3, "PAB": 2, "PEN": 2, "PGK": 2,
    "PHP": 2, "PKR": 2, "PLN": 2, "PYG": 0, "QAR": 2, "RON": 2, "RUB": 2, "RWF": 0, "SAR": 2,
    "SBD": 2, "SCR": 2, "SEK": 2, "SGD": 2, "SLE": 2, "SRD": 2, "SZL": 2, "THB": 2, "TJS": 2,
    "TND": 3, "TOP": 2, "TRY": 2, "TTD": 2, "TWD": 2, "TZS": 2, "UAH": 2, "UGX": 0, "USD": 2,
    "UYU": 2, "UZS": 2, "VND": 0, "VUV": 0, "WST": 2, "XAF": 0, "XCD": 2, "XOF": 0, "XPF": 0,
    "ZAR": 2, "ZMW": 2, "ZWG": 2,
}  # fmt: skip

# The currencies staff can put on a proforma and customers can declare; any ISO code above can
# still arrive on a bank statement.
INVOICE_CURRENCIES = ("JPY", "USD", "EUR", "GBP", "AUD")

ZERO = Decimal(0)


# Amounts are stored with three decimal places (enough for every currency's minor unit).
STORED_PLACES = Decimal("0.001")


def summed(total: Decimal | float | int | None) -> Decimal:
    """A database SUM of stored amounts, exact. SQLite adds decimals as binary floats (0.1 + 0.2
    comes back as 0.30000000000000004); rounding to the stored places undoes that for any total
    below about a trillion, far beyond one customer's or one order's money."""
    if total is None:
        return ZERO
    return Decimal(str(total)).quantize(STORED_PLACES)


class UnknownCurrency(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(f"Unknown currency code {code!r} (expected an ISO 4217 code such as USD)")
        self.code = code


def currency_check(code: str) -> str:
    """The upper-cased code if it is a known ISO 4217 currency; raises `UnknownCurrency`."""
    normalised = (code or "").strip().upper()
    if normalised not in MINOR_UNITS:
        raise UnknownCurrency(code)
    return normalised


def minor_units(currency: str) -> int:
    return MINOR_UNITS[currency_check(currency)]


def quantize(amount: Decimal | int | str, currency: str) -> Decimal:
    """`amount` rounded half-up to the currency's minor unit (JPY 1, USD 0.01)."""
    try:
        value = Decimal(amount)
    except InvalidOperation as exc:
        raise ValueError(f"Not an amount: {amount!r}") from exc
    if not value.is_finite():
        raise ValueError(f"Not an amount: {amount!r}")
    return value.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


def money_format(amount: Decimal, currency: str) -> str:
    """`USD 1,234.50`, `JPY 1,200,000`: the code first, as on a bank transfer form."""
    places = minor_units(currency)
    return f"{currency} {quantize(amount, currency):,.{places}f}"

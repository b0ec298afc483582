"""SWIFT MT940 customer statements, as banks actually write them.

A file holds one or more statements, each a run of tagged fields (`:20:` reference, `:25:`
account, `:28C:` sequence, `:60F:` opening balance, `:61:`/`:86:` pairs for the entries,
`:62F:` closing balance), with or without the SWIFT envelope `{1:...}{2:...}{4:` ... `-}`.
Banks differ in everything the standard leaves open; the choices below are the ones the real
sample files (ABN AMRO, ASN, Citi, ING, Knab, PostFinance, Rabobank, SNS, Triodos, Sberbank)
need, and anything the parser cannot read for sure is an error naming the line.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from ._text import check_size, checked_currency, collapse, decode_text, to_minor_units
from .parsed import ParsedEntry, ParsedStatement, StatementFormatError

# `:20:`, `:28C:`, `:NS:`; three digits (`:940:`) is a header some Dutch banks put first.
_TAG = re.compile(r"^:([0-9]{2,3}[A-Z]?|NS):")
# The end of a message: `-`, `-}` with trailers such as `{5:}`, or ING's `-XXX`.
_TERMINATOR = re.compile(r"^-(\}.*|[A-Z0-9]{0,8}\s*)$")
# Characters some transfer programs wrap messages in (SOH, ETX, SUB) rather than text.
_WRAPPER_CHARS = "\r\x01\x03\x1a"

_BALANCE = re.compile(r"^(?P<mark>[CD])(?P<date>[0-9]{6})(?P<currency>[A-Za-z]{3})(?P<amount>.*)$")
_AMOUNT = re.compile(r"^[0-9]+(?:[,.][0-9]*)?$")
_WIDE_GAP = re.compile(r"\s{2,}")
_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")
_SIX_DIGITS = re.compile(r"[0-9]{6}")
_FOUR_DIGITS = re.compile(r"[0-9]{4}")
_AMOUNT_CHARACTERS = re.compile(r"[0-9,.+-]*")

# SWIFT lines are at most 65 characters: a full line was cut there by the bank, so the next
# line continues the same word; a shorter line ended where the writer ended it.
_LINE_WIDTH = 65
# German `?20`..`?29` subfields hold 27 characters each, cut the same way.
_SUBFIELD_WIDTH = 27

# The `/CODE/value` keywords of the Dutch banks' structured :86: (ABN AMRO, ING, Rabobank).
_SLASH_CODES = (
    "TRTP", "IBAN", "BIC", "NAME", "REMI", "EREF", "MARF", "CSID", "ORDP", "BENM", "CNTP",
    "ADDR", "ISDT", "PREF", "RTRN", "PURP", "ULTC", "ULTD", "ULTB", "SVCL", "KREF", "COAM",
    "OCMT", "CHGS", "EXCH", "RTYP", "BUSP", "TRCD", "CDTRREF", "CDTRREFTP", "ID",
)  # fmt: skip
_SLASH_ALTERNATIVES = "|".join(sorted(_SLASH_CODES, key=len, reverse=True))
_SLASH_START = re.compile(rf"^\s*/(?:{_SLASH_ALTERNATIVES})/")
_SLASH_CODE = re.compile(rf"/({_SLASH_ALTERNATIVES})(?=/)")
# German `166?00...?20...` (and Triodos' `000>10...>20...`): a 3-digit code, then subfields.
_SUBFIELD_START = re.compile(r"^\s*(?:[0-9]{3})?([?>])[0-9]{2}")
# SEPA keywords German banks put inside the ?20..?29 remittance subfields.
_SEPA_KEYWORD = re.compile(r"(EREF|KREF|MREF|CRED|DEBT|SVWZ|ABWA|ABWE|COAM|OAMT)\+")

_NO_REFERENCE = {"", "NONREF", "NOTPROVIDED"}


@dataclass
class _Field:
    tag: str
    line: int
    # The text after the tag, then the continuation lines. They are the lines right below the
    # tag (anything else ends the field), so `lines[i]` is on line number `line + i`.
    lines: list[str]

    @property
    def location(self) -> str:
        return f"line {self.line}"

    @property
    def first(self) -> str:
        return self.lines[0]

    @property
    def continuation(self) -> list[str]:
        return self.lines[1:]


@dataclass
class _EntryDraft:
    line: _Field
    info: list[_Field] = field(default_factory=list)  # :86:
    extra: list[_Field] = field(default_factory=list)  # :NS: (Sberbank)


@dataclass
class _StatementDraft:
    start: _Field
    account: _Field | None = None
    sequence: str = ""
    opening: _Field | None = None
    closing: _Field | None = None
    entries: list[_EntryDraft] = field(default_factory=list)


@dataclass(frozen=True)
class _Balance:
    date: date
    currency: str
    amount: Decimal


# Internal values are named tuples rather than frozen dataclasses: one of each is built per
# entry, and a frozen dataclass costs several times more to build.
class _Counterparty(NamedTuple):
    name: str = ""
    account: str = ""
    remittance: str = ""
    reference: str = ""  # an end-to-end reference found in the :86: text


def parse_mt940(data: bytes) -> list[ParsedStatement]:
    """Every statement in an MT940 file; `StatementFormatError` names the first bad line."""
    check_size(data)
    drafts = _statement_drafts(_fields(decode_text(data)))
    if not drafts:
        raise StatementFormatError("", "no MT940 statement in the file (no :20: field)")
    statements = []
    for index, draft in enumerate(drafts):
        following = drafts[index + 1].start.line if index + 1 < len(drafts) else None
        statements.append(_statement(draft, following))
    return statements


# Reading fields -----------------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    text = text.replace("\r\n", "\n")
    if "\n" not in text:
        text = text.replace("\r", "\n")  # classic Mac line ends
    return text.split("\n")


def _fields(text: str) -> list[_Field]:
    """The tagged fields in file order, with their continuation lines.

    Lines outside a message (SWIFT block headers, `ABNANL2A`/`940` preambles, trailers) are
    skipped; inside a message a line without a tag continues the field before it.
    """
    fields: list[_Field] = []
    current: _Field | None = None
    for number, raw in enumerate(_lines(text), start=1):
        line = raw.strip(_WRAPPER_CHARS)
        if line.startswith("{"):
            current = None
            _, found, line = line.partition("{4:")
            if not found or not line.strip():
                continue
        if _TERMINATOR.match(line):
            current = None
            continue
        tag = _TAG.match(line)
        if tag is None:
            if current is not None:
                current.lines.append(line)
            continue
        name = tag.group(1)
        if len(name) == 3 and name.isdigit():
            current = None  # `:940:` message-type header
            continue
        current = _Field(name, number, [line[tag.end() :]])
        fields.append(current)
    return fields


def _statement_drafts(fields: list[_Field]) -> list[_StatementDraft]:
    drafts: list[_StatementDraft] = []
    for item in fields:
        if item.tag == "20":
            drafts.append(_StatementDraft(start=item))
        elif not drafts:
            raise StatementFormatError(
                item.location, f":{item.tag}: comes before the start of a statement (:20:)"
            )
        else:
            _add_field(drafts[-1], item)
    return drafts


def _add_field(draft: _StatementDraft, item: _Field) -> None:
    tag = item.tag
    if tag == "25":
        _no_duplicate(draft.account, item)
        draft.account = item
    elif tag in ("28", "28C"):
        draft.sequence = _single_line(item)
    elif tag in ("60F", "60M"):
        _no_duplicate(draft.opening, item)
        draft.opening = item
    elif tag == "61":
        if draft.closing is not None:
            raise StatementFormatError(item.location, ":61: entry after the closing balance")
        if draft.opening is None:
            raise StatementFormatError(
                item.location, ":61: entry before the opening balance (:60F:)"
            )
        draft.entries.append(_EntryDraft(line=item))
    elif tag in ("86", "NS"):
        # After :62F: (ING's totals) or before the first :61: the text is about the whole
        # statement, not an entry, and carries nothing the ledger needs.
        if draft.entries and draft.closing is None:
            target = draft.entries[-1].info if tag == "86" else draft.entries[-1].extra
            target.append(item)
    elif tag in ("62F", "62M"):
        _no_duplicate(draft.closing, item)
        if draft.opening is None:
            raise StatementFormatError(
                item.location, f":{tag}: closing balance without an opening balance (:60F:)"
            )
        draft.closing = item
    # :21:, :13D:, :64:, :65:, :90D: and other optional fields do not change the booked
    # balance and are left out.


def _no_duplicate(existing: _Field | None, item: _Field) -> None:
    if existing is not None:
        raise StatementFormatError(
            item.location, f"second :{item.tag}: in one statement (first at line {existing.line})"
        )


def _single_line(item: _Field) -> str:
    for number, text in enumerate(item.continuation, start=item.line + 1):
        if text.strip():
            raise StatementFormatError(
                f"line {number}", f"unexpected text {text.strip()[:40]!r} after :{item.tag}:"
            )
    return item.first.strip()


# Statements ---------------------------------------------------------------------------------


def _statement(draft: _StatementDraft, following: int | None) -> ParsedStatement:
    where = draft.start.location
    if draft.closing is None or draft.opening is None:
        cut = (
            f"before the next statement at line {following}"
            if following
            else "before the end of the file; the file may be cut short"
        )
        raise StatementFormatError(
            where, f"the statement starting here has no closing balance (:62F:) {cut}"
        )
    if draft.account is None:
        raise StatementFormatError(
            where, "the statement starting here has no account identification (:25:)"
        )
    opening = _balance(draft.opening)
    closing = _balance(draft.closing)
    if closing.currency != opening.currency:
        raise StatementFormatError(
            draft.closing.location,
            f":{draft.closing.tag}: currency {closing.currency} differs from the opening "
            f"balance's {opening.currency}",
        )
    return ParsedStatement(
        location=where,
        account_identification=_single_line(draft.account),
        statement_reference=_single_line(draft.start),
        sequence=draft.sequence,
        currency=opening.currency,
        opening_date=opening.date,
        opening_balance=opening.amount,
        closing_date=closing.date,
        closing_balance=closing.amount,
        entries=tuple(_entry(entry, opening.currency) for entry in draft.entries),
    )


def _balance(item: _Field) -> _Balance:
    # Lines after the closing balance, before the next message's :20:, are trailers and
    # headers of banks that do not end messages with `-`; the statement is complete by then.
    text = item.first.strip() if item.tag.startswith("62") else _single_line(item)
    match = _BALANCE.match(text)
    if match is None:
        raise StatementFormatError(
            item.location,
            f":{item.tag}: {text[:40]!r} is not a balance (expected a C or D mark, a date "
            "YYMMDD, a currency and an amount, as in C240312EUR1234,56)",
        )
    currency = checked_currency(match["currency"], item.location)
    amount = _amount(match["amount"], currency, item)
    return _Balance(
        date=_date(match["date"], item, "date"),
        currency=currency,
        amount=-amount if match["mark"] == "D" else amount,
    )


def _date(text: str, item: _Field, what: str) -> date:
    found = _yymmdd(text)
    if found is None:
        raise StatementFormatError(
            item.location, f":{item.tag}: {what} {text!r} is not a valid date (YYMMDD)"
        )
    return found


# A statement's entries share a handful of dates: each is read once.
@functools.lru_cache(maxsize=4096)
def _yymmdd(text: str) -> date | None:
    if not _SIX_DIGITS.fullmatch(text):
        return None
    # Two-digit years: SWIFT statements from 1980 on, as any bank still keeps online.
    year = int(text[:2])
    try:
        return date(year + (2000 if year < 80 else 1900), int(text[2:4]), int(text[4:]))
    except ValueError:
        return None


def _amount(text: str, currency: str, item: _Field) -> Decimal:
    text = text.strip()
    if text.startswith("-"):
        raise StatementFormatError(
            item.location,
            f":{item.tag}: amount {text!r} is negative; MT940 amounts carry no sign, the "
            "D/C mark says which way the money moved",
        )
    if not _AMOUNT.match(text):
        raise StatementFormatError(item.location, f":{item.tag}: amount {text!r} is not a number")
    value = Decimal(text.replace(",", "."))
    return to_minor_units(value, currency, item.location, f":{item.tag}: amount")


# Entries ------------------------------------------------------------------------------------


class _StatementLine(NamedTuple):
    value_date: date
    booking_date: date
    amount: Decimal
    is_reversal: bool
    transaction_code: str
    customer_reference: str
    bank_reference: str
    supplementary: tuple[str, ...]


def _entry(draft: _EntryDraft, currency: str) -> ParsedEntry:
    line = _statement_line(draft.line, currency)
    info_lines = [item.lines for item in draft.info]
    party = _counterparty_from_info(info_lines) if info_lines else _Counterparty()
    if not info_lines and draft.extra:
        party = _counterparty_from_ns(draft.extra)
    account = party.account or _account_from_line(line)
    name = party.name or next((s for s in line.supplementary if _looks_like_name(s)), "")
    reference = _reference(line.customer_reference)
    if reference.upper() in ("", "EREF") and party.reference:
        reference = party.reference  # Rabobank writes `EREF` and gives it in :86: /EREF/
    details = [*line.supplementary, *map(_unwrap, info_lines)]
    details += [_unwrap(item.lines) for item in draft.extra]
    return ParsedEntry(
        location=draft.line.location,
        booking_date=line.booking_date,
        value_date=line.value_date,
        amount=line.amount,
        currency=currency,
        bank_reference=line.bank_reference,
        customer_reference=reference,
        remittance=party.remittance,
        counterparty_name=collapse(name),
        counterparty_account=account,
        transaction_code=line.transaction_code,
        is_reversal=line.is_reversal,
        details=collapse(" ".join(details)),
    )


def _statement_line(item: _Field, currency: str) -> _StatementLine:
    """Field :61:, read left to right so an error can say which part is wrong.

    Layout: value date YYMMDD, optional entry date MMDD (spaces in some exports), mark
    C/D/RC/RD, optional funds-code letter, amount, type code (N/S/F + 3), the account owner's
    reference, `//` and the bank's reference, then supplementary details: the rest of the line
    and the lines below it.
    """
    text = item.first
    value_date = _date(text[:6], item, "value date")
    entry_date = text[6:10] if _FOUR_DIGITS.fullmatch(text, 6, 10) else None
    position = 10 if entry_date else 6
    while text[position : position + 1] == " ":
        position += 1
    mark, position = _mark(text, position, item)
    end = _AMOUNT_CHARACTERS.match(text, position).end()  # type: ignore[union-attr]
    amount = _amount(text[position:end], currency, item)
    code = text[end : end + 4]
    if len(code) < 4 or code[0] not in "NSF":
        raise StatementFormatError(
            item.location,
            f":61: transaction type {code!r} is not N, S or F followed by three characters",
        )
    customer, bank, rest = _references(text[end + 4 :])
    # RC (reversal of a credit) takes money out; RD (reversal of a debit) gives it back.
    negative = mark in ("D", "RC")
    return _StatementLine(
        value_date=value_date,
        booking_date=_entry_date(entry_date, value_date, item) if entry_date else value_date,
        amount=-amount if negative else amount,
        is_reversal=mark.startswith("R"),
        transaction_code=code.strip(),
        customer_reference=customer,
        bank_reference=_reference(bank),
        supplementary=tuple(filter(None, (rest, *map(str.strip, item.continuation)))),
    )


def _mark(text: str, position: int, item: _Field) -> tuple[str, int]:
    """The debit/credit mark and where the amount starts, past the optional funds code."""
    mark = text[position : position + 2] if text[position : position + 1] == "R" else None
    mark = mark or text[position : position + 1]
    if mark not in ("C", "D", "RC", "RD"):
        raise StatementFormatError(
            item.location,
            f":61: debit/credit mark {text[position : position + 2]!r} is not C, D, RC or RD",
        )
    position += len(mark)
    follower = text[position + 1 : position + 2]
    if text[position : position + 1].isalpha() and follower and follower in "0123456789,.-":
        position += 1  # funds code: the last letter of the currency code (D for USD)
    return mark, position


def _references(text: str) -> tuple[str, str, str]:
    """Customer reference, bank reference and same-line supplementary details.

    Without `//`, old Rabobank lines put the counterparty's name after a wide gap
    (`0121470966      W.P. Jansen`), and ASN puts an 18-character IBAN where the 16-character
    reference belongs, so the reference ends at a wide gap, not at a fixed width.
    """
    if "//" in text:
        customer, _, rest = text.partition("//")
        bank, rest = _split_wide(rest)
        return customer.strip(), bank, rest
    customer, rest = _split_wide(text)
    return customer, "", rest


def _split_wide(text: str) -> tuple[str, str]:
    parts = _WIDE_GAP.split(text.strip(), maxsplit=1)
    return parts[0], (parts[1] if len(parts) > 1 else "")


def _reference(text: str) -> str:
    text = collapse(text)
    return "" if text.upper() in _NO_REFERENCE else text


def _entry_date(mmdd: str, value_date: date, item: _Field) -> date:
    """The booking date, whose year is the one that puts it nearest the value date.

    An entry booked on 2 January for value 31 December belongs to the next year, and the
    other way round; more than half a year apart is not a date a bank writes.
    """
    nearest = _nearest_date(mmdd, value_date)
    if nearest is None:
        raise StatementFormatError(
            item.location, f":61: entry date {mmdd!r} is not a valid date near the value date"
        )
    return nearest


@functools.lru_cache(maxsize=4096)
def _nearest_date(mmdd: str, value_date: date) -> date | None:
    candidates = []
    for year in (value_date.year - 1, value_date.year, value_date.year + 1):
        try:
            candidates.append(date(year, int(mmdd[:2]), int(mmdd[2:])))
        except ValueError:
            continue
    nearest = min(candidates, key=lambda d: abs((d - value_date).days), default=None)
    if nearest is None or abs((nearest - value_date).days) > 183:
        return None
    return nearest


def _account_from_line(line: _StatementLine) -> str:
    for candidate in (*line.supplementary, line.customer_reference):
        compact = candidate.replace(" ", "")
        if _IBAN.match(compact):
            return compact
    return ""


def _looks_like_name(text: str) -> bool:
    """Supplementary details that read as a name (`hr gjlm paulissen`, `KPN - MOBIEL`).

    Codes (`/ABC/DEF/...`), IBANs, numbers and single tokens mixing letters and digits
    (`P001234567`) are references, not names.
    """
    if text.startswith("/") or _IBAN.match(text.replace(" ", "")) or not _LETTER.search(text):
        return False
    return " " in text or not _DIGIT.search(text)


# :86: information ---------------------------------------------------------------------------


def _unwrap(lines: list[str], width: int = _LINE_WIDTH) -> str:
    """Lines joined: directly after a full-width line (a cut word), with a space otherwise."""
    out = ""
    for index, piece in enumerate(lines):
        if index and len(lines[index - 1]) < width:
            out += " "
        out += piece
    return collapse(out)


def _counterparty_from_info(blocks: list[list[str]]) -> _Counterparty:
    # Structured formats are one string wrapped at the line width, cut anywhere (Rabobank cuts
    # `ACCOUN|T HOLDER` at 64 characters), so their lines are joined without spaces.
    wrapped = "".join("".join(block) for block in blocks)
    if _SLASH_START.match(wrapped):
        return _from_slash_codes(wrapped)
    subfields = _SUBFIELD_START.match(wrapped)
    if subfields:
        return _from_subfields(wrapped, subfields.group(1))
    return _Counterparty(remittance=collapse(" ".join(_unwrap(block) for block in blocks)))


def _from_slash_codes(text: str) -> _Counterparty:
    """`/TRTP/SEPA OVERBOEKING/IBAN/NL..../NAME/J DOE/REMI/Invoice 12/EREF/...`."""
    # [text before the first code, code, "/value", code, "/value", ...]
    parts = _SLASH_CODE.split(text)
    values: dict[str, str] = {}
    for code, value in zip(parts[1::2], parts[2::2], strict=True):
        if code not in values:  # the first one counts
            values[code] = value[1:].strip().strip("/")
    # ING's counterparty block: /CNTP/account/BIC/name/city/
    counterparty = values.get("CNTP", "").split("/")
    remittance = values.get("REMI", "")
    for prefix in ("USTD//", "STRD/CUR/"):
        remittance = remittance.removeprefix(prefix)
    return _Counterparty(
        name=collapse(values.get("NAME") or (counterparty[2] if len(counterparty) > 2 else "")),
        account=_account(values.get("IBAN") or counterparty[0]),
        remittance=collapse(remittance),
        reference=_reference(values.get("EREF", "")),
    )


def _from_subfields(text: str, separator: str) -> _Counterparty:
    """German `166?00GUTSCHRIFT?20...?30BIC?31IBAN?32NAME?33NAME`; Triodos uses `>`."""
    subfields: dict[str, list[str]] = {}
    last: list[str] | None = None
    for part in text.split(separator)[1:]:
        if len(part) >= 2 and part[:2].isascii() and part[:2].isdigit():
            last = subfields.setdefault(part[:2], [])
            last.append(part[2:])
        elif last:
            last[-1] += separator + part  # a literal separator inside a value
    name = _unwrap(subfields.get("32", []) + subfields.get("33", []), _SUBFIELD_WIDTH)
    codes = [f"{n}" for n in range(20, 30)] + [f"{n}" for n in range(60, 64)]
    pieces = [piece for code in codes for piece in subfields.get(code, [])]
    # ?00 is the bank's booking text ("SEPA-UEBERWEISUNG"), not the payer's words; it stays
    # in the entry's details.
    remittance = _unwrap(pieces, _SUBFIELD_WIDTH)
    sepa = _sepa_keywords(remittance)
    return _Counterparty(
        name=name,
        account=_account("".join(subfields.get("31", [])[:1])),
        remittance=sepa.get("SVWZ", remittance),
        reference=_reference(sepa.get("EREF", "")),
    )


def _sepa_keywords(text: str) -> dict[str, str]:
    parts = _SEPA_KEYWORD.split(text)
    # parts: [before, keyword, value, keyword, value, ...]
    return {parts[i]: collapse(parts[i + 1]) for i in range(1, len(parts) - 1, 2)}


def _counterparty_from_ns(items: list[_Field]) -> _Counterparty:
    """Sberbank's non-standard :NS: lines `NNtext`: 09 a description, 15/16 the name."""
    subfields: dict[str, list[str]] = {}
    for item in items:
        for line in item.lines:
            if len(line) >= 2 and line[:2].isascii() and line[:2].isdigit():
                subfields.setdefault(line[:2], []).append(line[2:])
    return _Counterparty(
        name=_unwrap(subfields.get("15", []) + subfields.get("16", []), _SUBFIELD_WIDTH),
        remittance=collapse(" ".join(subfields.get("09", []))),
    )


def _account(text: str) -> str:
    compact = text.replace(" ", "")
    return compact if _IBAN.match(compact) else collapse(text)

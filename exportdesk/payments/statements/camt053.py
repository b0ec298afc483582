"""ISO 20022 camt.053 bank-to-customer statements, any version (camt.053.001.02 to .13).

Elements are matched by local name, so a version's namespace does not matter; the versions
differ only where noted (later versions wrap `Sts` as `Sts/Cd` and party names as `Pty/Nm`).
The XML is parsed with defusedxml and DTDs are refused: a statement never needs one, and
entity tricks (billion laughs, external entities) are how XML uploads attack a server.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element, ParseError
from xml.parsers.expat import ErrorString

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException

from exportdesk.core.money import ZERO

from ._text import check_size, checked_currency, collapse, line_of, to_minor_units
from .parsed import ParsedEntry, ParsedStatement, StatementFormatError

_DATE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:$|T|Z|[+-][0-9]{2}:[0-9]{2}$)")
_DECIMAL = re.compile(r"^\+?([0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")
_ENCODING_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_NO_REFERENCE = {"", "NOTPROVIDED", "NONREF"}

DTD_REFUSED = (
    "XML with a DTD or entities is not accepted: bank statements never need them, and they "
    "are a way to attack the server"
)

# camt messages that are not statements, by the namespace or the element under Document.
_OTHER_MESSAGES = {
    "camt.052": "a camt.052 account report (intraday), not an end-of-day statement (camt.053)",
    "BkToCstmrAcctRpt": "a camt.052 account report (intraday), not an end-of-day statement (camt.053)",
    "camt.054": "a camt.054 debit/credit notification, not a statement (camt.053)",
    "BkToCstmrDbtCdtNtfctn": "a camt.054 debit/credit notification, not a statement (camt.053)",
}


@dataclass(frozen=True)
class _Balance:
    code: str
    date: date
    currency: str
    amount: Decimal


@dataclass(frozen=True)
class _Party:
    name: str
    account: str


@dataclass(frozen=True)
class _EntryDraft:
    """An entry before the statement decides how its reversals are signed."""

    location: str
    amount: Decimal  # unsigned
    credit: bool  # CdtDbtInd is CRDT
    reversal: bool
    booking_date: date
    value_date: date | None
    bank_reference: str
    customer_reference: str
    remittance: str
    debtor: _Party
    creditor: _Party
    transaction_code: str
    details: str

    def signed(self, *, flip_reversals: bool) -> Decimal:
        credit = not self.credit if (self.reversal and flip_reversals) else self.credit
        return self.amount if credit else -self.amount


def parse_camt053(data: bytes) -> list[ParsedStatement]:
    """Every `Stmt` in a camt.053 file; `StatementFormatError` names the element."""
    check_size(data)
    body = _statement_body(_parse_xml(data))
    statements = _children(body, "Stmt")
    if not statements:
        raise StatementFormatError("BkToCstmrStmt", "no statement (Stmt) in the file")
    return [_statement(stmt, f"Stmt[{index}]") for index, stmt in enumerate(statements, 1)]


# XML ----------------------------------------------------------------------------------------


def _parse_xml(data: bytes) -> Element:
    root = _element_tree(data)
    if root is None:
        # Expat decodes only UTF-8, UTF-16 and single-byte encodings itself; a statement
        # declared as Shift_JIS or another multi-byte encoding is decoded here first.
        root = _element_tree(_decode_declared(data))
    if root is None:  # not reached: decoded text has no encoding left to refuse
        raise StatementFormatError("line 1", "the XML's text encoding cannot be read")
    return root


def _element_tree(source: bytes | str) -> Element | None:
    try:
        root: Element = SafeElementTree.fromstring(source, forbid_dtd=True)
    except DefusedXmlException:
        raise StatementFormatError("", DTD_REFUSED) from None
    except ParseError as exc:
        line, column = exc.position
        raise StatementFormatError(
            f"line {line}, column {column}", f"the XML is not well-formed: {ErrorString(exc.code)}"
        ) from None
    except LookupError as exc:
        raise StatementFormatError(
            "line 1", f"the XML declares an unknown encoding ({exc})"
        ) from None
    except ValueError as exc:
        if isinstance(source, bytes) and "multi-byte" in str(exc):
            return None
        raise StatementFormatError("line 1", f"the XML cannot be read: {exc}") from None
    return root


def _decode_declared(data: bytes) -> str:
    declared = _ENCODING_DECLARATION.match(data[:200])
    encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        return data.decode(encoding)
    except LookupError:
        raise StatementFormatError("line 1", f"unknown text encoding {encoding!r}") from None
    except UnicodeDecodeError as exc:
        raise StatementFormatError(
            f"line {line_of(data, exc.start)}", f"not valid {encoding} text as the XML declares"
        ) from None


def _local(tag: object) -> str:
    # Comments and processing instructions have non-string tags.
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child.tag) == name]


def _child(element: Element | None, path: str) -> Element | None:
    """The first element along `path` ("Acct/Id/IBAN"), ignoring namespaces."""
    for name in path.split("/"):
        if element is None:
            return None
        element = next((c for c in element if _local(c.tag) == name), None)
    return element


def _all(element: Element, path: str) -> Iterator[Element]:
    """Every element along `path`, at each step following all repeats."""
    level = [element]
    for name in path.split("/"):
        level = [child for parent in level for child in _children(parent, name)]
    yield from level


def _text(element: Element | None, path: str) -> str:
    found = _child(element, path)
    return collapse(found.text or "") if found is not None else ""


def _statement_body(root: Element) -> Element:
    namespace = root.tag.partition("}")[0].lstrip("{") if root.tag.startswith("{") else ""
    for marker, message in _OTHER_MESSAGES.items():
        if marker in namespace or any(_local(child.tag) == marker for child in root):
            raise StatementFormatError("", f"this file is {message}")
    if _local(root.tag) != "Document":
        raise StatementFormatError(
            "", f"the XML's root element is <{_local(root.tag)}>, not a camt.053 <Document>"
        )
    body = _child(root, "BkToCstmrStmt")
    if body is None or (namespace and "camt.053" not in namespace):
        raise StatementFormatError(
            "Document",
            f"not a camt.053 bank statement (namespace {namespace or 'none'!r}, no BkToCstmrStmt)",
        )
    return body


# Statements ---------------------------------------------------------------------------------


def _statement(stmt: Element, path: str) -> ParsedStatement:
    reference = _required(stmt, "Id", path)
    account = _text(stmt, "Acct/Id/IBAN").replace(" ", "") or _text(stmt, "Acct/Id/Othr/Id")
    if not account:
        raise StatementFormatError(
            f"{path}/Acct", "no account identification (Id/IBAN or Id/Othr/Id)"
        )
    balances = [
        _balance(bal, f"{path}/Bal[{i}]") for i, bal in enumerate(_children(stmt, "Bal"), 1)
    ]
    opening = _pick(balances, ("OPBD", "PRCD"))
    if opening is None:
        raise StatementFormatError(f"{path}/Bal", "no opening balance (OPBD or PRCD)")
    closing = _pick(balances, ("CLBD",))
    if closing is None:
        raise StatementFormatError(f"{path}/Bal", "no closing balance (CLBD)")
    account_currency = _text(stmt, "Acct/Ccy")
    for currency, where in ((closing.currency, "Bal"), (account_currency, "Acct/Ccy")):
        if currency and currency.upper() != opening.currency:
            raise StatementFormatError(
                f"{path}/{where}",
                f"currency {currency} differs from the opening balance's {opening.currency}",
            )
    drafts, skipped = _entry_drafts(stmt, path, opening.currency)
    flip, notes = _reversal_reading(drafts, opening.amount, closing.amount, path)
    if skipped:
        notes.append(f"{path}: {skipped} entries not booked (Sts other than BOOK) were left out")
    return ParsedStatement(
        location=path,
        account_identification=account,
        statement_reference=reference,
        sequence=_text(stmt, "ElctrncSeqNb") or _text(stmt, "LglSeqNb"),
        currency=opening.currency,
        opening_date=opening.date,
        opening_balance=opening.amount,
        closing_date=closing.date,
        closing_balance=closing.amount,
        entries=tuple(_entry(draft, opening.currency, flip) for draft in drafts),
        notes=tuple(notes),
    )


def _pick(balances: list[_Balance], codes: tuple[str, ...]) -> _Balance | None:
    for code in codes:
        for balance in balances:
            if balance.code == code:
                return balance
    return None


def _balance(bal: Element, path: str) -> _Balance:
    code = _text(bal, "Tp/CdOrPrtry/Cd") or _text(bal, "Tp/CdOrPrtry/Prtry")
    amount, currency = _amount(bal, path)
    credit = _credit(bal, path, zero=amount == 0)
    return _Balance(
        code=code.upper(),
        date=_required_date(bal, "Dt", path),
        currency=currency,
        amount=amount if credit else -amount,
    )


def _required(element: Element, name: str, path: str) -> str:
    value = _text(element, name)
    if not value:
        raise StatementFormatError(f"{path}/{name}", "missing or empty")
    return value


def _amount(element: Element, path: str) -> tuple[Decimal, str]:
    """`<Amt Ccy="EUR">12.50</Amt>`: unsigned, in the currency's minor units."""
    node = _child(element, "Amt")
    if node is None:
        raise StatementFormatError(f"{path}/Amt", "missing")
    currency = checked_currency(node.get("Ccy", ""), f"{path}/Amt")
    text = (node.text or "").strip()
    if not _DECIMAL.match(text):
        problem = (
            "is negative; the sign is CdtDbtInd" if text.startswith("-") else "is not a number"
        )
        raise StatementFormatError(f"{path}/Amt", f"amount {text[:40]!r} {problem}")
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern only lets decimals through
        raise StatementFormatError(f"{path}/Amt", f"amount {text[:40]!r} is not a number") from None
    return to_minor_units(value, currency, f"{path}/Amt", "amount"), currency


def _credit(element: Element, path: str, *, zero: bool = False) -> bool:
    indicator = _text(element, "CdtDbtInd")
    if indicator in ("CRDT", "DBIT"):
        return indicator == "CRDT"
    if not indicator and zero:
        return True  # a zero balance is neither, and some banks leave the indicator out
    raise StatementFormatError(
        f"{path}/CdtDbtInd", f"{indicator[:20]!r} is not CRDT or DBIT" if indicator else "missing"
    )


def _required_date(element: Element, name: str, path: str) -> date:
    found = _date_choice(element, name, path)
    if found is None:
        raise StatementFormatError(f"{path}/{name}", "missing date (Dt or DtTm)")
    return found


def _date_choice(element: Element, name: str, path: str) -> date | None:
    """`<BookgDt><Dt>2024-03-12</Dt></BookgDt>` or `<DtTm>2024-03-12T09:30:00+01:00</DtTm>`."""
    holder = _child(element, name)
    text = _text(holder, "Dt") or _text(holder, "DtTm")
    if not text:
        return None
    match = _DATE.match(text)
    try:
        if match is None:
            raise ValueError(text)
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise StatementFormatError(f"{path}/{name}", f"{text[:40]!r} is not a date") from None


# Entries ------------------------------------------------------------------------------------


def _entry_drafts(stmt: Element, path: str, currency: str) -> tuple[list[_EntryDraft], int]:
    drafts = []
    skipped = 0
    for index, ntry in enumerate(_children(stmt, "Ntry"), 1):
        status = _text(ntry, "Sts/Cd") or _text(ntry, "Sts")
        if status and status.upper() != "BOOK":
            # Pending and information-only entries have not moved the booked balance.
            skipped += 1
            continue
        drafts.append(_entry_draft(ntry, f"{path}/Ntry[{index}]", currency))
    return drafts, skipped


def _entry_draft(ntry: Element, path: str, currency: str) -> _EntryDraft:
    amount, entry_currency = _amount(ntry, path)
    if entry_currency != currency:
        raise StatementFormatError(
            f"{path}/Amt", f"amount in {entry_currency}, but the statement is in {currency}"
        )
    value_date = _date_choice(ntry, "ValDt", path)
    # Booked entries have a booking date; a bank that leaves it out books on the value date.
    booking_date = _date_choice(ntry, "BookgDt", path) or value_date
    if booking_date is None:
        raise StatementFormatError(f"{path}/BookgDt", "missing date (Dt or DtTm)")
    transactions = list(_all(ntry, "NtryDtls/TxDtls"))
    return _EntryDraft(
        location=path,
        amount=amount,
        credit=_credit(ntry, path),
        reversal=_text(ntry, "RvslInd").lower() in ("true", "1"),
        booking_date=booking_date,
        value_date=value_date,
        bank_reference=_text(ntry, "AcctSvcrRef")
        or _one(_text(tx, "Refs/AcctSvcrRef") for tx in transactions)
        or _text(ntry, "NtryRef"),
        customer_reference=_references(_text(tx, "Refs/EndToEndId") for tx in transactions),
        remittance=collapse(" ".join(_remittance(tx) for tx in transactions)),
        debtor=_party(transactions, "Dbtr"),
        creditor=_party(transactions, "Cdtr"),
        transaction_code=_transaction_code(ntry),
        details=collapse(
            " ".join(
                [_text(ntry, "AddtlNtryInf"), *(_text(tx, "AddtlTxInf") for tx in transactions)]
            )
        ),
    )


def _one(values: Iterable[str]) -> str:
    """The value all transactions of a batch agree on, or '' when they differ."""
    distinct = {value for value in values if value}
    return distinct.pop() if len(distinct) == 1 else ""


def _references(values: Iterable[str]) -> str:
    distinct = dict.fromkeys(v for v in values if v.upper() not in _NO_REFERENCE)
    return " ".join(distinct)


def _remittance(tx: Element) -> str:
    parts = [collapse(node.text or "") for node in _all(tx, "RmtInf/Ustrd")]
    for structured in _all(tx, "RmtInf/Strd"):
        parts += [_text(node, "Nb") for node in _all(structured, "RfrdDocInf")]
        parts.append(_text(structured, "CdtrRefInf/Ref"))
        parts += [collapse(node.text or "") for node in _children(structured, "AddtlRmtInf")]
    return " ".join(part for part in parts if part)


def _party(transactions: list[Element], role: str) -> _Party:
    """`Dbtr`/`Cdtr` name (`Pty/Nm` from version 08) and account, when a batch agrees."""
    names = []
    accounts = []
    for tx in transactions:
        parties = _child(tx, "RltdPties")
        names.append(_text(parties, f"{role}/Nm") or _text(parties, f"{role}/Pty/Nm"))
        accounts.append(
            _text(parties, f"{role}Acct/Id/IBAN").replace(" ", "")
            or _text(parties, f"{role}Acct/Id/Othr/Id")
        )
    return _Party(name=_one(names), account=_one(accounts))


def _transaction_code(ntry: Element) -> str:
    proprietary = _text(ntry, "BkTxCd/Prtry/Cd")
    if proprietary:
        return proprietary
    domain = _child(ntry, "BkTxCd/Domn")
    codes = [_text(domain, "Cd"), _text(domain, "Fmly/Cd"), _text(domain, "Fmly/SubFmlyCd")]
    return "/".join(code for code in codes if code)


def _reversal_reading(
    drafts: list[_EntryDraft], opening: Decimal, closing: Decimal, path: str
) -> tuple[bool, list[str]]:
    """Whether reversal entries take the sign opposite to their CdtDbtInd.

    Banks disagree: the ISO 20022 usage rule says CdtDbtInd is the reversal's own direction,
    while German banks (DK guidelines, Sparkasse) keep the original entry's indicator and mark
    it reversed. Flipping is the default; the ISO reading is used only when it is the one that
    makes this statement's balances agree, and the statement says so in its notes.
    """
    if not any(draft.reversal for draft in drafts):
        return True, []

    def agrees(flip: bool) -> bool:
        return opening + sum((d.signed(flip_reversals=flip) for d in drafts), ZERO) == closing

    if agrees(True):
        return True, []
    if agrees(False):
        return False, [
            f"{path}: reversal entries (RvslInd) are booked in the direction of their "
            "CdtDbtInd (the ISO 20022 usage rule), the reading that makes the balances agree"
        ]
    return True, [
        f"{path}: reversal entries (RvslInd) are booked against their CdtDbtInd; the "
        "balances agree neither that way nor the other"
    ]


def _entry(draft: _EntryDraft, currency: str, flip: bool) -> ParsedEntry:
    amount = draft.signed(flip_reversals=flip)
    # The counterparty is the other side of the original payment: whoever paid us for money
    # in, whoever we paid for money out; a reversal read the ISO way runs the other way.
    original_credit = draft.credit if (flip or not draft.reversal) else not draft.credit
    party = draft.debtor if original_credit else draft.creditor
    return ParsedEntry(
        location=draft.location,
        booking_date=draft.booking_date,
        value_date=draft.value_date,
        amount=amount,
        currency=currency,
        bank_reference=draft.bank_reference,
        customer_reference=draft.customer_reference,
        remittance=draft.remittance,
        counterparty_name=party.name,
        counterparty_account=party.account,
        transaction_code=draft.transaction_code,
        is_reversal=draft.reversal,
        details=draft.details,
    )

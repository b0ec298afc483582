"""Property tests for the statement parsers.

1. Random statements rendered to MT940, camt.053 and CSV by the small renderers below read
   back to the same values, and balance.
2. Random bytes and random mutations of real files never raise anything but
   `StatementFormatError`.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from exportdesk.core.money import minor_units
from exportdesk.payments.statements import (
    CsvMapping,
    ParsedEntry,
    ParsedStatement,
    StatementFormatError,
    parse_statement_file,
)
from tests.payments.test_statement_parsers import CAMT_V02, CAMT_V08, JAPANESE_CSV, JAPANESE_MAPPING
from tests.samples import MT940_SAMPLES

SAMPLES = MT940_SAMPLES

# Few examples keep the module fast; run with more (edit max_examples) after parser changes:
# 500 round trips and 1200 fuzz cases each passed when these tests were written. No example
# database: the tests write nothing to the working tree. The project's autouse fixtures
# (media folder) are function-scoped but unused here.
FAST = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

CURRENCIES = ["EUR", "USD", "JPY", "KWD", "HUF"]
# Text every format can carry: no characters with a meaning in MT940 structure (: / ? > - { +),
# and non-ASCII letters to prove the decoding.
TEXT_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,()'&éüア山"
IBAN_LIKE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")


@dataclass(frozen=True)
class Entry:
    booking_date: date
    value_date: date
    amount: Decimal
    reversal: bool
    customer_reference: str
    bank_reference: str
    remittance: str
    name: str
    account: str
    code: str


@dataclass(frozen=True)
class Statement:
    reference: str
    account: str
    sequence: str
    currency: str
    opening_date: date
    opening: Decimal
    closing_date: date
    entries: tuple[Entry, ...]

    @property
    def closing(self) -> Decimal:
        return self.opening + sum((e.amount for e in self.entries), Decimal(0))


def collapsed_text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(TEXT_ALPHABET, max_size=max_size).map(lambda s: " ".join(s.split()))


def money(currency: str) -> st.SearchStrategy[Decimal]:
    places = minor_units(currency)
    return st.integers(-(10**11), 10**11).map(lambda n: Decimal(n).scaleb(-places))


references = st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=1, max_size=16).filter(
    lambda s: s not in ("NONREF", "EREF") and not IBAN_LIKE.match(s)
)
ibans = st.from_regex(r"\A[A-Z]{2}[0-9]{2}[A-Z0-9]{11,26}\Z")
# Names as banks print them: letters, maybe with spaces; a single token mixing letters and
# digits reads as a reference to the parser, and no bank sends such a name.
names = collapsed_text(54).filter(
    lambda s: (
        not s or (any(c.isalpha() for c in s) and (" " in s or not any(c.isdigit() for c in s)))
    )
)
dates = st.dates(date(1990, 1, 1), date(2070, 12, 31))


@st.composite
def entries(draw: st.DrawFn, currency: str) -> Entry:
    value_date = draw(dates)
    amount = draw(money(currency))
    return Entry(
        booking_date=value_date + timedelta(days=draw(st.integers(-4, 4))),
        value_date=value_date,
        amount=amount,
        reversal=draw(st.booleans()) and amount != 0,
        customer_reference=draw(st.one_of(st.just(""), references)),
        bank_reference=draw(st.one_of(st.just(""), references)),
        remittance=draw(collapsed_text(200)),
        name=draw(names),
        account=draw(st.one_of(st.just(""), ibans)),
        code="N" + draw(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=3, max_size=3)),
    )


@st.composite
def statements(draw: st.DrawFn, min_entries: int = 0) -> Statement:
    currency = draw(st.sampled_from(CURRENCIES))
    opening_date = draw(dates)
    return Statement(
        reference=draw(references),
        account=draw(ibans),
        sequence=f"{draw(st.integers(1, 999))}/1",
        currency=currency,
        opening_date=opening_date,
        opening=draw(money(currency)),
        closing_date=opening_date + timedelta(days=draw(st.integers(0, 31))),
        entries=tuple(draw(st.lists(entries(currency), min_size=min_entries, max_size=5))),
    )


def assert_read_back(parsed: ParsedStatement, statement: Statement, *, csv: bool = False) -> None:
    assert parsed.balanced
    assert parsed.currency == statement.currency
    assert parsed.opening_balance == statement.opening
    assert parsed.closing_balance == statement.closing
    assert len(parsed.entries) == len(statement.entries)
    for got, want in zip(parsed.entries, statement.entries, strict=True):
        assert_entry(got, want, csv=csv)


def assert_entry(got: ParsedEntry, want: Entry, *, csv: bool) -> None:
    assert got.amount == want.amount
    assert got.booking_date == want.booking_date
    assert got.remittance == want.remittance
    assert got.counterparty_name == want.name
    assert got.counterparty_account == want.account
    assert got.bank_reference == want.bank_reference
    if not csv:
        assert got.value_date == want.value_date
        assert got.customer_reference == want.customer_reference
        assert got.transaction_code == want.code
        assert got.is_reversal == want.reversal


# MT940 rendering ----------------------------------------------------------------------------


def swift_amount(value: Decimal) -> str:
    text = f"{abs(value):f}".replace(".", ",")
    return text if "," in text else text + ","


def balance_field(tag: str, value: Decimal, day: date, currency: str) -> str:
    mark = "D" if value < 0 else "C"
    return f":{tag}:{mark}{day:%y%m%d}{currency}{swift_amount(value)}"


def wrap(text: str, width: int = 65) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)] or [""]


def chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def information(entry: Entry, style: str) -> tuple[list[str], list[str]]:
    """Supplementary detail lines for :61: and the :86: text, in one bank's style."""
    if style == "slash":
        parts = [("IBAN", entry.account), ("NAME", entry.name), ("REMI", entry.remittance)]
        text = "".join(f"/{code}/{value}" for code, value in parts if value or code == "REMI")
        return [], wrap(text)
    if style == "subfields":
        text = "166?00UEBERWEISUNG"
        text += "".join(f"?{20 + i}{piece}" for i, piece in enumerate(chunks(entry.remittance, 27)))
        text += f"?31{entry.account}" if entry.account else ""
        text += "".join(f"?{32 + i}{piece}" for i, piece in enumerate(chunks(entry.name, 27)))
        return [], wrap(text)
    # ASN style: account and name below :61:, free text in :86:.
    return [s for s in (entry.account, entry.name) if s], wrap(entry.remittance)


def render_mt940(items: list[Statement], style: str, *, envelope: bool, newline: str) -> bytes:
    lines: list[str] = []
    for statement in items:
        if envelope:
            lines.append("{1:F01BANKJPJTAXXX0000000000}{2:O940BANKJPJTXXXXN}{3:}{4:")
        lines += [f":20:{statement.reference}", f":25:{statement.account}"]
        lines.append(f":28C:{statement.sequence}")
        lines.append(
            balance_field("60F", statement.opening, statement.opening_date, statement.currency)
        )
        for entry in statement.entries:
            lines += statement_line(entry, style)
        lines.append(
            balance_field("62F", statement.closing, statement.closing_date, statement.currency)
        )
        lines.append("-}{5:}" if envelope else "-")
    return (newline.join(lines) + newline).encode()


def statement_line(entry: Entry, style: str) -> list[str]:
    if entry.reversal:
        mark = "RD" if entry.amount > 0 else "RC"
    else:
        mark = "D" if entry.amount < 0 else "C"
    line = f":61:{entry.value_date:%y%m%d}{entry.booking_date:%m%d}{mark}"
    line += f"{swift_amount(entry.amount)}{entry.code}{entry.customer_reference or 'NONREF'}"
    line += f"//{entry.bank_reference}" if entry.bank_reference else ""
    supplementary, info = information(entry, style)
    return [line, *supplementary, ":86:" + info[0], *info[1:]]


@FAST
@given(
    items=st.lists(statements(), min_size=1, max_size=2),
    style=st.sampled_from(["slash", "subfields", "free"]),
    envelope=st.booleans(),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_mt940_reads_back_what_was_written(items, style, envelope, newline):
    if style == "slash":
        # `/NAME/TRCD/REMI/...`: a value spelled like a keyword is ambiguous in this format.
        texts = [t for s in items for e in s.entries for t in (e.name, e.remittance)]
        assume(not any(re.fullmatch(r"[A-Z]{2,9}", text) for text in texts))
    data = render_mt940(items, style, envelope=envelope, newline=newline)
    parsed = parse_statement_file(data)
    assert len(parsed) == len(items)
    for got, want in zip(parsed, items, strict=True):
        assert (got.statement_reference, got.account_identification, got.sequence) == (
            want.reference,
            want.account,
            want.sequence,
        )
        assert (got.opening_date, got.closing_date) == (want.opening_date, want.closing_date)
        assert_read_back(got, want)


# camt.053 rendering -------------------------------------------------------------------------


def xml_amount(value: Decimal, currency: str) -> str:
    return f'<Amt Ccy="{currency}">{abs(value):f}</Amt>'


def camt_balance(code: str, value: Decimal, day: date, currency: str) -> str:
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>{xml_amount(value, currency)}"
        f"<CdtDbtInd>{'DBIT' if value < 0 else 'CRDT'}</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>"
    )


def camt_entry(entry: Entry, currency: str, version: int) -> str:
    # Reversals written with the original entry's indicator, the reading parsers default to.
    credit = (entry.amount > 0) != entry.reversal
    role = "Dbtr" if credit else "Cdtr"
    name = (
        f"<Pty><Nm>{escape(entry.name)}</Nm></Pty>"
        if version >= 8
        else f"<Nm>{escape(entry.name)}</Nm>"
    )
    parties = f"<{role}>{name}</{role}>" if entry.name else ""
    if entry.account:
        parties += f"<{role}Acct><Id><IBAN>{entry.account}</IBAN></Id></{role}Acct>"
    status = "<Sts><Cd>BOOK</Cd></Sts>" if version >= 8 else "<Sts>BOOK</Sts>"
    return (
        f"<Ntry>{xml_amount(entry.amount, currency)}"
        f"<CdtDbtInd>{'CRDT' if credit else 'DBIT'}</CdtDbtInd>"
        f"{'<RvslInd>true</RvslInd>' if entry.reversal else ''}{status}"
        f"<BookgDt><Dt>{entry.booking_date}</Dt></BookgDt>"
        f"<ValDt><DtTm>{entry.value_date}T10:15:00+09:00</DtTm></ValDt>"
        f"<AcctSvcrRef>{entry.bank_reference}</AcctSvcrRef>"
        f"<BkTxCd><Prtry><Cd>{entry.code}</Cd></Prtry></BkTxCd>"
        f"<NtryDtls><TxDtls><Refs><EndToEndId>{entry.customer_reference or 'NOTPROVIDED'}"
        f"</EndToEndId></Refs><RltdPties>{parties}</RltdPties>"
        f"<RmtInf><Ustrd>{escape(entry.remittance)}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
    )


def render_camt(items: list[Statement], version: int) -> bytes:
    body = []
    for statement in items:
        currency = statement.currency
        body.append(
            f"<Stmt><Id>{statement.reference}</Id><ElctrncSeqNb>{statement.sequence}"
            f"</ElctrncSeqNb><Acct><Id><IBAN>{statement.account}</IBAN></Id></Acct>"
            + camt_balance("OPBD", statement.opening, statement.opening_date, currency)
            + camt_balance("CLBD", statement.closing, statement.closing_date, currency)
            + "".join(camt_entry(e, currency, version) for e in statement.entries)
            + "</Stmt>"
        )
    namespace = f"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version:02d}"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{namespace}"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>M1</MsgId></GrpHdr>{''.join(body)}</BkToCstmrStmt></Document>"
    ).encode()


@FAST
@given(items=st.lists(statements(), min_size=1, max_size=2), version=st.integers(2, 13))
def test_camt053_reads_back_what_was_written(items, version):
    parsed = parse_statement_file(render_camt(items, version))
    assert len(parsed) == len(items)
    for got, want in zip(parsed, items, strict=True):
        assert (got.statement_reference, got.account_identification, got.sequence) == (
            want.reference,
            want.account,
            want.sequence,
        )
        assert_read_back(got, want)


# CSV rendering ------------------------------------------------------------------------------


def csv_number(value: Decimal, currency: str, decimal: str, thousands: str, negative: str) -> str:
    places = minor_units(currency)
    whole, _, fraction = f"{abs(value):.{places}f}".partition(".")
    groups = [whole[max(i - 3, 0) : i] for i in range(len(whole), 0, -3)][::-1]
    text = thousands.join(groups) + (decimal + fraction if fraction else "")
    if value >= 0:
        return text
    return {"-": f"-{text}", "()": f"({text})", "▲": f"▲{text}", "trailing": f"{text}-"}[negative]


def quoted(value: str, delimiter: str) -> str:
    return f'"{value}"' if delimiter in value or '"' in value else value


@FAST
@given(
    statement=statements(min_entries=1),
    delimiter=st.sampled_from([",", ";", "\t"]),
    decimal=st.sampled_from([".", ","]),
    thousands=st.sampled_from(["", ",", ".", " ", "'"]),
    negative=st.sampled_from(["-", "()", "▲", "trailing"]),
    split_columns=st.booleans(),
    newest_first=st.booleans(),
)
def test_csv_reads_back_what_was_written(
    statement, delimiter, decimal, thousands, negative, split_columns, newest_first
):
    assume(thousands != decimal)
    rows = sorted(statement.entries, key=lambda e: e.booking_date)
    if newest_first:
        assume(len(rows) == 1 or rows[0].booking_date < rows[-1].booking_date)
    statement = replace(statement, entries=tuple(rows))
    currency = statement.currency
    mapping = CsvMapping(
        delimiter=delimiter,
        date_column="Date",
        date_format="%d/%m/%Y",
        amount_column=None if split_columns else "Amount",
        credit_column="In" if split_columns else None,
        debit_column="Out" if split_columns else None,
        balance_column="Balance",
        currency=currency,
        description_column="Text",
        counterparty_name_column="Name",
        counterparty_account_column="Account",
        reference_column="Ref",
        decimal_separator=decimal,
    )

    def number(value: Decimal) -> str:
        return quoted(csv_number(value, currency, decimal, thousands, negative), delimiter)

    amount_headers = ["In", "Out"] if split_columns else ["Amount"]
    lines = [delimiter.join(["Date", "Text", "Name", "Account", "Ref", *amount_headers, "Balance"])]
    balance = statement.opening
    for entry in rows:
        balance += entry.amount
        if split_columns:
            amounts = (
                [number(entry.amount), ""] if entry.amount >= 0 else ["", number(-entry.amount)]
            )
        else:
            amounts = [number(entry.amount)]
        texts = [entry.remittance, entry.name, entry.account, entry.bank_reference]
        fields = [f"{entry.booking_date:%d/%m/%Y}", *(quoted(t, delimiter) for t in texts)]
        lines.append(delimiter.join([*fields, *amounts, number(balance)]))
    if newest_first:
        lines[1:] = lines[:0:-1]
    data = ("\r\n".join(lines) + "\r\n").encode()
    (parsed,) = parse_statement_file(data, fmt="csv", csv_mapping=mapping)
    assert_read_back(parsed, statement, csv=True)
    assert (parsed.opening_date, parsed.closing_date) == (
        rows[0].booking_date,
        rows[-1].booking_date,
    )


# Hostile bytes ------------------------------------------------------------------------------

FUZZ_MAPPING = CsvMapping(
    date_column="Date",
    amount_column="Amount",
    balance_column="Balance",
    description_column="Description",
    currency="USD",
)
FUZZ = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def only_format_errors(data: bytes) -> None:
    for fmt in (None, "mt940", "camt053", "csv"):
        for mapping in (FUZZ_MAPPING, JAPANESE_MAPPING):
            with contextlib.suppress(StatementFormatError):
                parse_statement_file(data, fmt=fmt, csv_mapping=mapping)


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes_only_raise_format_errors(data):
    only_format_errors(data)


def seeds() -> list[bytes]:
    files = [CAMT_V02.encode(), CAMT_V08.encode(), JAPANESE_CSV.encode("cp932")]
    files.append(b"Date,Amount,Balance,Description\n2024-03-01,1.00,1.00,x\n2024-03-02,2,3,y\n")
    if SAMPLES.exists():
        for name in ("jejik/rabobank-iban.sta", "citi/mt940.txt", "jejik/triodos.sta"):
            files.append((SAMPLES / name).read_bytes())
        files.append((SAMPLES / "ASNB/mt940.txt").read_bytes()[:1500])
    return files


SEEDS = seeds()
# Bytes that matter to the parsers, so mutations hit structure more often than chance would.
SIGNIFICANT = st.sampled_from([*b':/?>-{}<>CDRN0129,.\r\n"&', 0xE9, 0xC3, 0xFF, 0x82])


@FUZZ
@given(
    seed=st.sampled_from(SEEDS),
    edits=st.lists(
        st.tuples(
            st.floats(0, 1, exclude_max=True),
            st.sampled_from(["replace", "insert", "delete", "truncate"]),
            st.one_of(SIGNIFICANT, st.integers(0, 255)),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_mutated_files_only_raise_format_errors(seed, edits):
    data = bytearray(seed)
    for where, action, byte in edits:
        position = int(where * len(data)) if data else 0
        if action == "replace" and data:
            data[position] = byte
        elif action == "insert":
            data.insert(position, byte)
        elif action == "delete" and data:
            del data[position]
        elif action == "truncate":
            del data[position:]
    only_format_errors(bytes(data))


@pytest.mark.parametrize("seed", range(len(SEEDS)))
def test_the_fuzz_seeds_parse(seed):
    mapping = JAPANESE_MAPPING if seed == 2 else FUZZ_MAPPING
    assert parse_statement_file(SEEDS[seed], csv_mapping=mapping)

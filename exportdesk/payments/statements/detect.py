"""Telling statement formats apart, and the one entry point the importer calls."""

from __future__ import annotations

import json
import re

from ._text import check_size
from .camt053 import DTD_REFUSED, parse_camt053
from .csv_format import CsvMapping, parse_csv
from .mt940 import parse_mt940
from .parsed import ParsedStatement, StatementFormatError

FORMATS = ("mt940", "camt053", "csv")

_ASK_AGAIN = "; download the statement from the bank as MT940, camt.053 (XML) or CSV"
_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Excel .xlsx file)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel or Office file"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
)
# Enough of the start to find an XML root element or a CSV header.
_HEAD = 64 * 1024
_MT940_START = re.compile(r"(?m)(?:^|\{4:):20:")
_MT940_BODY = re.compile(r"(?m)^:(?:25|28C?|60[FM]|61|62[FM]):")
_MT942_HEADER = re.compile(r"\{2:[IO]942")
_ISO_MESSAGE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:([a-z]{4}\.\d{3})")
_CSV_DELIMITERS = (",", ";", "\t", "|")
# Control characters that never occur in text files (tab, line breaks and the SOH/ETX/SUB
# some banks wrap statements in are allowed).
_BINARY = re.compile(rb"[\x00\x02\x04-\x08\x0b\x0c\x0e-\x19\x1b-\x1f]")


def detect_format(data: bytes) -> str:
    """ "mt940", "camt053" or "csv"; anything else is refused with what it looks like."""
    check_size(data)
    body = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not body:
        raise StatementFormatError("", "the file is empty")
    for magic, what in _MAGIC:
        if body.startswith(magic):
            raise StatementFormatError("", f"this file is {what}, not a bank statement{_ASK_AGAIN}")
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _xml_format(body[:_HEAD].decode("utf-16", errors="replace"))
    if body.startswith(b"<"):
        return _xml_format(body[:_HEAD].decode("latin-1"))
    if body.startswith((b"{", b"[")) and not body.startswith(b"{1:") and _is_json(body):
        raise StatementFormatError("", f"this file is JSON, not a bank statement{_ASK_AGAIN}")
    # One byte per character (only ASCII tags are looked for); CR alone also ends a line.
    text = data.decode("latin-1").replace("\r", "\n")
    if _is_mt942(text):
        raise StatementFormatError(
            "", f"this file is an MT942 interim report, not an MT940 statement{_ASK_AGAIN}"
        )
    if _MT940_START.search(text) and _MT940_BODY.search(text):
        return "mt940"
    if _BINARY.search(data[:_HEAD]):
        raise StatementFormatError(
            "", f"this file is binary data, not a bank statement{_ASK_AGAIN}"
        )
    first_line = text.lstrip("\ufeff\r\n").split("\n", 1)[0]
    if any(delimiter in first_line for delimiter in _CSV_DELIMITERS):
        return "csv"
    raise StatementFormatError(
        "", f"this file is not a bank statement format this system reads{_ASK_AGAIN}"
    )


def _is_mt942(text: str) -> bool:
    """An MT942 application header, or a line starting with its :34F: floor limit.

    Two plain searches: one regex with both alternatives tries them at every character, which
    takes most of the detection time of a large statement."""
    return bool(_MT942_HEADER.search(text)) or text.startswith(":34F:") or "\n:34F:" in text


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except (ValueError, RecursionError):
        return False
    return True


def _xml_format(head: str) -> str:
    if "camt.053" in head or "BkToCstmrStmt" in head:
        if "<!DOCTYPE" in head or "<!ENTITY" in head:
            raise StatementFormatError("", DTD_REFUSED)
        return "camt053"
    lowered = head.lower()
    if "<html" in lowered or "<!doctype html" in lowered:
        raise StatementFormatError(
            "", f"this file is a web page (HTML), not a bank statement{_ASK_AGAIN}"
        )
    if "<!DOCTYPE" in head or "<!ENTITY" in head:
        raise StatementFormatError("", DTD_REFUSED)
    if "camt.052" in head or "BkToCstmrAcctRpt" in head:
        raise StatementFormatError(
            "",
            "this file is a camt.052 account report (intraday), not an end-of-day statement "
            "(camt.053)",
        )
    if "camt.054" in head or "BkToCstmrDbtCdtNtfctn" in head:
        raise StatementFormatError(
            "", "this file is a camt.054 debit/credit notification, not a statement (camt.053)"
        )
    message = _ISO_MESSAGE.search(head)
    what = f"an ISO 20022 {message.group(1)} message" if message else "an XML file"
    raise StatementFormatError("", f"this file is {what}, not a camt.053 bank statement")


def parse_statement_file(
    data: bytes, *, fmt: str | None = None, csv_mapping: CsvMapping | None = None
) -> list[ParsedStatement]:
    """Every statement in the file, detecting the format unless `fmt` names it.

    Raises `StatementFormatError` for anything that is not a readable statement; the size
    limit is checked before a byte is parsed.
    """
    check_size(data)
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"unknown statement format {fmt!r}; expected one of {', '.join(FORMATS)}")
    fmt = fmt or detect_format(data)
    if fmt == "mt940":
        return parse_mt940(data)
    if fmt == "camt053":
        return parse_camt053(data)
    if csv_mapping is None:
        raise StatementFormatError(
            "",
            "a CSV statement can only be read with the bank account's CSV settings (which "
            "column is the date, the amount, the balance); set them up for this account first",
        )
    return parse_csv(data, csv_mapping)

"""Bank statement import: parse, check, store once, suggest matches, confirm the sure ones.

An import is atomic: every statement in the file is parsed and checked before anything is
written, and a refusal writes nothing. The same file, or a statement overlapping one already
imported, adds nothing twice: statements and entries carry content fingerprints that the
database keeps unique per bank account.
"""

from __future__ import annotations

import gc
import hashlib
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from exportdesk.accounts.models import User
from exportdesk.core.audit import audit_event_record
from exportdesk.core.bulk import rows_insert
from exportdesk.core.money import ZERO
from exportdesk.payments.matching import CreditFacts, Matcher, Suggestion, matcher_load
from exportdesk.payments.matching_process import (
    MatchingProcess,
    MatchingProcessFailed,
    matching_process_for,
)
from exportdesk.payments.models import (
    BankStatement,
    BankTransaction,
    MatchSuggestion,
    PaymentSettings,
    StatementImport,
)
from exportdesk.payments.services import Confirmation, credits_confirm
from exportdesk.payments.statements import (
    CsvMapping,
    ParsedEntry,
    ParsedStatement,
    StatementFormatError,
    detect_format,
    parse_statement_file,
)
from exportdesk.sales.models import BankAccount

logger = logging.getLogger(__name__)


class StatementRefused(Exception):
    """The file cannot be imported as it is; `summary` still describes what was read."""

    def __init__(self, message: str, summary: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.summary = summary or {}


@dataclass
class ImportResult:
    summary: dict[str, Any]
    statement_import: StatementImport | None = None
    confirmed: int = 0
    suggested: int = 0
    unbalanced: list[ParsedStatement] = field(default_factory=list)


def _identification(value: str) -> str:
    return "".join(value.split()).upper()


def _statement_summary(statement: ParsedStatement) -> dict[str, Any]:
    return {
        "account": statement.account_identification,
        "reference": statement.statement_reference,
        "sequence": statement.sequence,
        "currency": statement.currency,
        "opening_date": statement.opening_date.isoformat(),
        "opening_balance": str(statement.opening_balance),
        "closing_date": statement.closing_date.isoformat(),
        "closing_balance": str(statement.closing_balance),
        "entries": len(statement.entries),
        "balanced": statement.balanced,
        "difference": str(statement.difference),
    }


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


def _entry_key(entry: ParsedEntry) -> tuple[object, ...]:
    return (
        entry.booking_date,
        entry.value_date,
        entry.amount,
        entry.currency,
        entry.bank_reference,
        entry.customer_reference,
        entry.remittance,
        entry.counterparty_name,
        entry.counterparty_account,
    )


def _statement_fingerprint(statement: ParsedStatement, keys: list[tuple[object, ...]]) -> str:
    """`keys`: the statement's `_entry_key`s."""
    return _fingerprint(
        _identification(statement.account_identification),
        statement.statement_reference,
        statement.sequence,
        statement.opening_date,
        statement.opening_balance,
        statement.closing_date,
        statement.closing_balance,
        *keys,
    )


def _entry_fingerprints(keys: list[tuple[object, ...]]) -> list[str]:
    """Identical entries within one statement (two equal transfers the same day) are told apart
    by their occurrence number; the same entry in an overlapping statement gets the same one.
    `keys`: the statement's `_entry_key`s."""
    # A plain dict: a Counter calls its __missing__ for every new key, which is nearly all.
    seen: dict[tuple[object, ...], int] = {}
    prints = []
    for key in keys:
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        prints.append(_fingerprint(*key, occurrence))
    return prints


def statements_parse(
    *, data: bytes, bank_account: BankAccount | None, fmt: str | None = None
) -> tuple[str, list[ParsedStatement]]:
    """Parse and check a file against the account it is imported into."""
    fmt = fmt or detect_format(data)
    mapping = None
    if fmt == "csv":
        stored = getattr(bank_account, "csv_mapping", None) if bank_account else None
        if stored is None:
            raise StatementFormatError(
                "", _("A CSV statement needs the bank account's column mapping; set it up first.")
            )
        mapping = CsvMapping.from_dict(stored.mapping)
    statements = parse_statement_file(data, fmt=fmt, csv_mapping=mapping)
    if not statements:
        raise StatementFormatError("", _("The file holds no statement."))
    return fmt, statements


def _account_check(statements: list[ParsedStatement], bank_account: BankAccount) -> None:
    expected = _identification(bank_account.statement_identification)
    for statement in statements:
        found = _identification(statement.account_identification)
        if expected and found and found != expected:
            raise StatementRefused(
                _("%(where)s is a statement of account %(found)s, not of %(code)s (%(expected)s).")
                % {
                    "where": statement.location,
                    "found": statement.account_identification,
                    "code": bank_account.code,
                    "expected": bank_account.statement_identification,
                }
            )
        if statement.currency != bank_account.currency:
            raise StatementRefused(
                _("%(where)s is in %(found)s; account %(code)s is in %(currency)s.")
                % {
                    "where": statement.location,
                    "found": statement.currency,
                    "code": bank_account.code,
                    "currency": bank_account.currency,
                }
            )


def _summary(
    fmt: str, file_name: str, statements: list[ParsedStatement], *, dry_run: bool
) -> dict[str, Any]:
    credits = [e for s in statements for e in s.entries if e.amount > 0]
    debits = [e for s in statements for e in s.entries if e.amount < 0]
    return {
        "file": file_name,
        "format": fmt,
        "dry_run": dry_run,
        "statements": [_statement_summary(s) for s in statements],
        "credits": len(credits),
        "credit_total": str(sum((e.amount for e in credits), ZERO)),
        "debits": len(debits),
        "debit_total": str(-sum((e.amount for e in debits), ZERO)),
        "duplicates_skipped": 0,
        "imported": 0,
        "auto_confirmed": 0,
        "suggested": 0,
        "unbalanced_accepted": 0,
    }


def _unbalanced_message(unbalanced: list[ParsedStatement]) -> str:
    parts = [
        _(
            "%(where)s (%(account)s, %(opening)s to %(closing)s) is off by %(difference)s %(currency)s"
        )
        % {
            "where": s.location,
            "account": s.account_identification,
            "opening": s.opening_date,
            "closing": s.closing_date,
            "difference": s.difference,
            "currency": s.currency,
        }
        for s in unbalanced
    ]
    return _(
        "Opening balance plus entries does not equal the closing balance: %(details)s. "
        "The file may be misread or damaged; import it only if you accept it for review."
    ) % {"details": "; ".join(parts)}


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector (process-wide) off for the duration: an import builds hundreds
    of thousands of long-lived objects (parsed entries, the matcher's indexes, rows to insert),
    and each collection would walk all of them again to find no garbage (reference counting
    frees them; they hold no cycles). It runs again afterwards, as before."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def statement_import(
    *,
    data: bytes,
    file_name: str,
    bank_account: BankAccount | None,
    actor: User | None,
    fmt: str | None = None,
    accept_unbalanced: bool = False,
    dry_run: bool = False,
) -> ImportResult:
    """Import a statement file into `bank_account` (or only check it when `dry_run`).

    Raises StatementFormatError for a file that cannot be read and StatementRefused for one that
    must not be imported (another account, unbalanced without acceptance)."""
    sha256 = hashlib.sha256(data).hexdigest()
    writes = not dry_run and bank_account is not None and not _imported_before(sha256, bank_account)
    with _collector_paused(), matching_process_for(data, writes=writes) as helper:
        return _statement_import(
            data=data,
            sha256=sha256,
            file_name=file_name,
            bank_account=bank_account,
            actor=actor,
            fmt=fmt,
            accept_unbalanced=accept_unbalanced,
            dry_run=dry_run,
            helper=helper,
        )


def _imported_before(sha256: str, bank_account: BankAccount) -> bool:
    """The very same file was imported into this account: it has nothing new to match."""
    return StatementImport.objects.filter(bank_account=bank_account, sha256=sha256).exists()


def _statement_import(
    *,
    data: bytes,
    sha256: str,
    file_name: str,
    bank_account: BankAccount | None,
    actor: User | None,
    fmt: str | None,
    accept_unbalanced: bool,
    dry_run: bool,
    helper: MatchingProcess | None,
) -> ImportResult:
    fmt, statements = statements_parse(data=data, bank_account=bank_account, fmt=fmt)
    summary = _summary(fmt, file_name, statements, dry_run=dry_run)
    unbalanced = [s for s in statements if not s.balanced]
    if bank_account is not None:
        _account_check(statements, bank_account)
    if unbalanced and not accept_unbalanced:
        raise StatementRefused(_unbalanced_message(unbalanced), summary)
    if dry_run:
        return ImportResult(summary=summary, unbalanced=unbalanced)
    if bank_account is None:
        raise StatementRefused(_("Choose the bank account the statement belongs to."), summary)
    with transaction.atomic():
        record = StatementImport.objects.create(
            bank_account=bank_account,
            file_name=file_name[:200],
            sha256=sha256,
            file_format=fmt,
            imported_by=actor,
            imported_at=timezone.now(),
        )
        new_credits = _store(record, statements, summary)
        result = ImportResult(summary=summary, statement_import=record, unbalanced=unbalanced)
        _match(new_credits, result, helper)
        record.summary = summary
        record.save(update_fields=["summary"])
        audit_event_record(
            action="statement.imported",
            actor=actor,
            obj=record,
            details={k: v for k, v in summary.items() if k != "statements"},
        )
    return result


def _store(
    record: StatementImport, statements: list[ParsedStatement], summary: dict[str, Any]
) -> list[dict[str, Any]]:
    """Write the statements and entries not seen before; return the new credits (as rows)."""
    account = record.bank_account
    known_statements = set(
        BankStatement.objects.filter(bank_account=account).values_list("fingerprint", flat=True)
    )
    new_credits: list[dict[str, Any]] = []
    for parsed, part in zip(statements, summary["statements"], strict=True):
        keys = [_entry_key(entry) for entry in parsed.entries]
        fingerprint = _statement_fingerprint(parsed, keys)
        if fingerprint in known_statements:
            part["duplicate"] = True
            summary["duplicates_skipped"] += len(parsed.entries)
            continue
        known_statements.add(fingerprint)
        part["duplicate"] = False
        statement = BankStatement.objects.create(
            statement_import=record,
            bank_account=account,
            account_identification=parsed.account_identification[:60],
            reference=parsed.statement_reference[:60],
            sequence=parsed.sequence[:30],
            currency=parsed.currency,
            opening_date=parsed.opening_date,
            opening_balance=parsed.opening_balance,
            closing_date=parsed.closing_date,
            closing_balance=parsed.closing_balance,
            entry_count=len(parsed.entries),
            difference=parsed.difference,
            needs_review=not parsed.balanced,
            fingerprint=fingerprint,
        )
        summary["unbalanced_accepted"] += int(not parsed.balanced)
        prints = _entry_fingerprints(keys)
        seen = _known_fingerprints(account.pk, prints)
        rows = [
            _transaction_row(statement, entry, fp)
            for entry, fp in zip(parsed.entries, prints, strict=True)
            if fp not in seen
        ]
        summary["duplicates_skipped"] += len(parsed.entries) - len(rows)
        summary["imported"] += len(rows)
        rows_insert(BankTransaction, rows)
        new_credits += [row for row in rows if row["amount"] > 0]
    return new_credits


def _known_fingerprints(bank_account_id: int, prints: list[str]) -> set[str]:
    """Those of `prints` the account already has.

    In plain SQL: the ORM prepares and compiles every value of a 900-long IN list, which costs
    several times what the database takes to answer."""
    quote = connection.ops.quote_name
    table = quote(BankTransaction._meta.db_table)
    known: set[str] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(prints), 900):
            chunk = prints[start : start + 900]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT fingerprint FROM {table} "  # noqa: S608
                f"WHERE bank_account_id = %s AND fingerprint IN ({marks})",
                [bank_account_id, *chunk],
            )
            known.update(fingerprint for (fingerprint,) in cursor.fetchall())
    return known


def _transaction_row(
    statement: BankStatement, entry: ParsedEntry, fingerprint: str
) -> dict[str, Any]:
    # Debits are the exporter's own payments (suppliers, refunds); they need no matching.
    credit = entry.amount > 0
    return {
        "statement_id": statement.pk,
        "bank_account_id": statement.bank_account_id,
        "booking_date": entry.booking_date,
        "value_date": entry.value_date,
        "amount": entry.amount,
        "currency": entry.currency,
        "bank_reference": entry.bank_reference[:100],
        "customer_reference": entry.customer_reference[:100],
        "remittance": entry.remittance,
        "counterparty_name": entry.counterparty_name[:200],
        "counterparty_account": entry.counterparty_account[:60],
        "transaction_code": entry.transaction_code[:40],
        "fingerprint": fingerprint,
        "status": BankTransaction.Status.UNMATCHED if credit else BankTransaction.Status.IGNORED,
        "ignored_reason": "" if credit else "outgoing payment" if entry.amount else "zero amount",
    }


def credit_facts(txn: BankTransaction | dict[str, Any]) -> CreditFacts:
    row = txn if isinstance(txn, dict) else txn.__dict__
    return CreditFacts(
        key=row["id"],
        amount=row["amount"],
        currency=row["currency"],
        booking_date=row["booking_date"],
        text=f"{row['remittance']} {row['customer_reference']}".strip(),
        payer_name=row["counterparty_name"],
        payer_account=row["counterparty_account"],
    )


@dataclass(frozen=True)
class AutoConfirm:
    """Accounting's rule for confirming a match without a person (None when it is off)."""

    threshold: int
    margin: int

    @classmethod
    def current(cls) -> AutoConfirm | None:
        row = PaymentSettings.current()
        if not row.auto_confirm:
            return None
        return cls(threshold=row.auto_confirm_threshold, margin=row.auto_confirm_margin)


@dataclass
class Decisions:
    """What matching decided for some credits: confirmations, and the suggestions kept for the
    credits that wait for a person (as MatchSuggestion rows)."""

    confirmations: list[Confirmation] = field(default_factory=list)
    suggestions: list[dict[str, Any]] = field(default_factory=list)


def credits_decide(
    matcher: Matcher, credits: list[CreditFacts], rule: AutoConfirm | None, *, every: int = 0
) -> Iterator[Decisions]:
    """Suggest candidates for each credit in turn and confirm the sure ones `rule` allows;
    yields the decisions every `every` credits (all at once for 0). In order: a credit
    confirmed for an order leaves only the rest of its balance to the credits after it."""
    decisions = Decisions()
    for count, credit in enumerate(credits, start=1):
        ranked = matcher.suggest(credit)
        chosen = (
            matcher.decide(ranked, threshold=rule.threshold, margin=rule.margin)
            if rule is not None
            else None
        )
        if chosen is not None and chosen.candidate.currency == credit.currency:
            decisions.confirmations.append(_confirmation_of(credit, chosen, matcher))
        else:
            # Only what waits for a person needs its suggestions kept.
            decisions.suggestions += suggestion_rows(credit.key, ranked)
        if every and count % every == 0:
            yield decisions
            decisions = Decisions()
    if decisions.confirmations or decisions.suggestions or not every:
        yield decisions


def _match(
    credits: list[dict[str, Any]], result: ImportResult, helper: MatchingProcess | None
) -> None:
    """Suggest candidates for every new credit; confirm the sure ones if accounting allows.
    With a helper process, it decides while this process confirms (`matching_process`)."""
    if not credits:
        return
    rule = AutoConfirm.current()
    facts = [credit_facts(txn) for txn in credits]
    written = {txn["id"]: txn for txn in credits}
    tally = None
    if helper is not None:
        try:
            # A savepoint: a helper failing half-way leaves nothing of what it decided.
            with transaction.atomic():
                tally = _decisions_record(helper.decided(facts, rule), written)
        except MatchingProcessFailed as failure:
            logger.warning("statement matching: the helper failed, matching here: %s", failure)
    if tally is None:
        tally = _decisions_record(credits_decide(matcher_load(), facts, rule), written)
    result.confirmed, suggested = tally
    result.suggested = len(suggested)
    result.summary["auto_confirmed"] = result.confirmed
    result.summary["suggested"] = result.suggested


def _decisions_record(
    batches: Iterable[Decisions], written: dict[int, dict[str, Any]]
) -> tuple[int, set[int]]:
    """Keep the suggestions and confirm the confirmations of each batch as it comes; return how
    many were confirmed and which credits got suggestions. `written`: the new credits' rows."""
    confirmed, suggested = 0, set[int]()
    for decisions in batches:
        rows_insert(MatchSuggestion, decisions.suggestions)
        credits_confirm(
            confirmations=decisions.confirmations, actor=None, read_back=False, written=written
        )
        confirmed += len(decisions.confirmations)
        suggested.update(row["transaction_id"] for row in decisions.suggestions)
    return confirmed, suggested


def suggestion_rows(transaction_id: int, ranked: list[Suggestion]) -> list[dict[str, Any]]:
    return [
        {
            "transaction_id": transaction_id,
            "rank": rank,
            "score": s.score,
            "customer_id": s.candidate.customer_id,
            "declaration_id": s.candidate.declaration_id,
            "order_id": s.candidate.order_ids[0] if len(s.candidate.order_ids) == 1 else None,
            "reasons": [str(r) for r in s.reasons],
            "third_party": s.third_party,
        }
        for rank, s in enumerate(ranked, start=1)
    ]


def _confirmation_of(credit: CreditFacts, chosen: Suggestion, matcher: Matcher) -> Confirmation:
    # An order keeps what is still owed on it: the second half of a split payment matches too.
    matcher.consume(chosen.candidate, amount=credit.amount)
    return Confirmation(
        transaction=credit.key,
        customer=chosen.candidate.customer_id,
        declaration=chosen.candidate.declaration_id,
        bank_charge=Decimal(chosen.bank_charge),
        third_party=chosen.third_party,
    )

"""Writing and verifying the audit chain."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Case, F, Model, QuerySet, Value, When
from django.utils import timezone

from exportdesk.core.bulk import rows_insert
from exportdesk.core.models import (
    GENESIS_HASH,
    HASHED_FIELDS,
    PERSONAL_FIELDS,
    AuditEvent,
    audit_hash,
    personal_digest,
)

# Any 64-bit number unique to this lock; PostgreSQL advisory locks serialise chain appends.
_AUDIT_LOCK_KEY = 0x45584445534B  # "EXDESK"


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_AUDIT_LOCK_KEY])
    # SQLite: the IMMEDIATE transaction mode already holds the database write lock.


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def _stored_as_is(value: Any) -> bool:
    """Whether JSON gives `value` back unchanged: strings without NUL, integers, booleans,
    None, and lists and string-keyed dicts of them (what almost every event's details are)."""
    kind = type(value)
    if kind is str:
        return "\x00" not in value
    if kind is int or kind is bool or value is None:
        return True
    if kind is dict:
        return all(
            type(k) is str and "\x00" not in k and _stored_as_is(v) for k, v in value.items()
        )
    if kind is list:
        return all(_stored_as_is(v) for v in value)
    return False


def _normalise(details: dict[str, Any]) -> dict[str, Any]:
    """Round-trip through JSON so the hash covers exactly what the database stores.

    PostgreSQL's jsonb cannot hold the NUL character, so it becomes U+FFFD (the replacement
    character) on every database alike. Details that JSON would give back unchanged skip the
    round trip (a statement import writes thousands of events).
    """
    if _stored_as_is(details):
        return {**details}
    result: dict[str, Any] = _without_nul(json.loads(json.dumps(details, cls=DjangoJSONEncoder)))
    return result


@dataclass(frozen=True)
class AuditDraft:
    """One event to append, for `audit_events_record` (many events under one lock)."""

    action: str
    actor: Any = None
    obj: Model | None = None
    object_type: str = ""
    object_id: str = ""
    subject_id: int | None = None
    ip_address: str | None = None
    details: dict[str, Any] | None = None


def audit_event_record(
    *,
    action: str,
    actor: Any = None,
    obj: Model | None = None,
    object_type: str = "",
    object_id: str = "",
    subject_id: int | None = None,
    ip_address: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event; call inside the transaction of the change it describes."""
    draft = AuditDraft(action, actor, obj, object_type, object_id, subject_id, ip_address, details)
    row = audit_events_record([draft])[0]
    # As if read back from the database: a written event is not new, so saving it again raises.
    names = [f.attname for f in AuditEvent._meta.concrete_fields]
    return AuditEvent.from_db(transaction.get_connection().alias, names, [row[n] for n in names])


def audit_events_record(drafts: list[AuditDraft]) -> list[dict[str, Any]]:
    """Append events in order, chained, with one lock and one insert (bulk operations such as a
    bank statement confirming thousands of payments). Returns the rows written."""
    with transaction.atomic():
        _lock_chain()
        last = AuditEvent.objects.order_by("-seq").only("seq", "hash").first()
        seq, prev_hash = (last.seq, last.hash) if last else (0, GENESIS_HASH)
        now = timezone.now()
        rows = []
        for draft in drafts:
            seq += 1
            obj = draft.obj
            row: dict[str, Any] = {
                "seq": seq,
                "created_at": now,
                "actor_id": getattr(draft.actor, "pk", None) if draft.actor is not None else None,
                "actor_label": _actor_label(draft.actor),
                "action": draft.action,
                "object_type": draft.object_type
                or (obj._meta.label_lower if obj is not None else ""),
                "object_id": draft.object_id or (str(obj.pk) if obj is not None else ""),
                "subject_id": draft.subject_id,
                "ip_address": draft.ip_address,
                "details": _normalise(draft.details or {}),
                "redacted_at": None,
                "prev_hash": prev_hash,
            }
            row["personal_digest"] = personal_digest({n: row[n] for n in PERSONAL_FIELDS})
            # Microseconds survive every backend: the hashed values equal the stored ones.
            row["hash"] = prev_hash = audit_hash({n: row[n] for n in HASHED_FIELDS})
            rows.append(row)
        rows_insert(AuditEvent, rows)
        return rows


def _actor_label(actor: Any) -> str:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return "system" if actor is None else "anonymous"
    return str(getattr(actor, "email", actor))


def audit_events_redact(rows: QuerySet[AuditEvent], *, actor_label: str) -> int:
    """Blank the personal fields of these events (an erasure); the chain still verifies.

    The person's own actions get `actor_label` as their label; staff actors keep theirs, since
    who did what to the record is not the erased person's data.
    """
    return QuerySet.update(
        rows.filter(redacted_at__isnull=True),
        ip_address=None,
        details={},
        actor_label=Case(
            When(actor_id=F("subject_id"), then=Value(actor_label)), default=F("actor_label")
        ),
        redacted_at=timezone.now(),
    )


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


def audit_chain_verify(*, batch_size: int = 2000) -> ChainBreak | None:
    """Return the first broken link, or None when every row matches its hash and predecessor."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    for event in _iter_events(batch_size):
        if event.seq != expected_seq:
            return ChainBreak(expected_seq, f"row #{expected_seq} is missing")
        if event.prev_hash != expected_prev:
            return ChainBreak(event.seq, f"row #{event.seq} does not link to the row before it")
        if event.compute_hash() != event.hash:
            return ChainBreak(event.seq, f"row #{event.seq} was altered after it was written")
        expected_prev = event.hash
        expected_seq += 1
    return None


def _iter_events(batch_size: int) -> Iterator[AuditEvent]:
    last_seq = 0
    while True:
        batch = list(AuditEvent.objects.filter(seq__gt=last_seq).order_by("seq")[:batch_size])
        if not batch:
            return
        yield from batch
        last_seq = batch[-1].seq

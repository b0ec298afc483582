from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from exportdesk.core.audit import audit_chain_verify, audit_event_record
from exportdesk.core.models import AppendOnlyError, AuditEvent


def _write(n: int) -> list[AuditEvent]:
    return [
        audit_event_record(action="test.event", object_type="x", object_id=str(i), details={"i": i})
        for i in range(n)
    ]


@pytest.mark.django_db
def test_it_links_each_event_to_the_one_before():
    events = _write(3)
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    assert audit_chain_verify() is None


@pytest.mark.django_db
def test_it_refuses_to_change_or_delete_an_event_through_the_orm():
    (event,) = _write(1)
    event.action = "forged"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="forged")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


@pytest.mark.django_db
def test_verify_audit_names_the_row_edited_in_the_database(capsys):
    _write(5)
    call_command("verify_audit")
    assert "audit chain intact: 5 events" in capsys.readouterr().out
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditevent SET action = 'nothing.to.see' WHERE seq = 3")
    with pytest.raises(CommandError, match=r"row #3: row #3 was altered"):
        call_command("verify_audit")


@pytest.mark.django_db
def test_verify_audit_names_a_deleted_row():
    _write(4)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE seq = 2")
    with pytest.raises(CommandError, match=r"row #2 is missing"):
        call_command("verify_audit")


@pytest.mark.django_db
def test_verify_audit_detects_a_row_rewritten_with_a_fresh_hash():
    """A forger who recomputes the edited row's own hash still breaks the next link."""
    events = _write(3)
    forged = AuditEvent.objects.get(seq=2)
    forged.details = {"i": 999}
    new_hash = forged.compute_hash()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_auditevent SET details = %s, hash = %s WHERE seq = 2",
            ['{"i": 999}', new_hash],
        )
    broken = audit_chain_verify()
    assert broken is not None and broken.seq == 3
    assert events[2].prev_hash != new_hash


class TestAuditChainProperties(HypothesisTestCase):
    @hsettings(max_examples=25, deadline=None)
    @given(
        details=st.lists(
            st.dictionaries(
                st.text(min_size=1, max_size=8),
                st.one_of(st.integers(), st.text(max_size=20), st.booleans(), st.none()),
                max_size=4,
            ),
            min_size=1,
            max_size=6,
        ),
        data=st.data(),
    )
    def test_any_chain_verifies_and_any_single_edit_is_found(self, details, data):
        for d in details:
            audit_event_record(action="prop.event", details=d)
        assert audit_chain_verify() is None
        target = data.draw(st.integers(min_value=1, max_value=len(details)))
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE core_auditevent SET object_id = 'tampered' WHERE seq = %s", [target]
            )
        broken = audit_chain_verify()
        assert broken is not None and broken.seq == target


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_unbroken_chain():
    """Four request threads writing at once must not fork the chain (advisory lock / IMMEDIATE)."""
    import threading

    from django.db import connections

    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(10):
                audit_event_record(action="concurrent.event", object_id=f"{n}-{i}")
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert AuditEvent.objects.count() == 40
    assert list(AuditEvent.objects.values_list("seq", flat=True)) == list(range(1, 41))
    assert audit_chain_verify() is None


@pytest.mark.django_db
def test_a_nul_character_in_details_is_stored_on_every_database_and_the_chain_holds():
    event = audit_event_record(action="odd.input", details={"name\x00": "a\x00b"})
    event.refresh_from_db()
    assert event.details == {"name\ufffd": "a\ufffdb"}
    assert audit_chain_verify() is None


_JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(alphabet=st.characters(codec="utf-8") | st.just("\x00")),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.floats(allow_nan=False, allow_infinity=False),
    st.dates(),
)
_DETAILS = st.dictionaries(
    st.text() | st.integers(),
    st.recursive(
        _JSON_LEAVES,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
        max_leaves=8,
    ),
    max_size=5,
)


@given(details=_DETAILS)
@hsettings(max_examples=300, deadline=None)
def test_details_are_hashed_exactly_as_json_stores_them(details):
    """The shortcut for details JSON gives back unchanged (`_stored_as_is`) must agree with the
    round trip it skips, whatever the details hold: NUL characters, decimals, dates, int keys."""
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    from exportdesk.core.audit import _normalise, _without_nul

    expected = _without_nul(json.loads(json.dumps(details, cls=DjangoJSONEncoder)))
    normalised = _normalise(details)
    assert normalised == expected
    assert json.dumps(normalised, sort_keys=True) == json.dumps(expected, sort_keys=True)


@pytest.mark.django_db
def test_many_events_at_once_verify_and_read_back_as_written():
    from decimal import Decimal

    from exportdesk.core.audit import AuditDraft, audit_events_record

    drafts = [
        AuditDraft(
            action="bulk.event",
            object_type="x",
            object_id=str(i),
            subject_id=i,
            details={"amount": Decimal("12.50"), "n": i} if i % 2 else {"n": i, "ok": True},
        )
        for i in range(50)
    ]
    rows = audit_events_record(drafts)
    stored = {e.seq: e for e in AuditEvent.objects.all()}
    assert [stored[row["seq"]].hash for row in rows] == [row["hash"] for row in rows]
    assert stored[rows[1]["seq"]].details == {"amount": "12.50", "n": 1}
    assert stored[rows[0]["seq"]].details == {"n": 0, "ok": True}
    assert audit_chain_verify() is None


@pytest.mark.django_db
@pytest.mark.parametrize("uniform", [True, False])
def test_bulk_rows_are_stored_as_the_orm_would_store_them(uniform):
    """`core.bulk.rows_insert`, which the audit log and the statement import write through:
    rows with the same columns take the quick path, rows that leave some out get the field's
    default; timestamps, IP addresses and JSON go through the field's conversion."""
    from datetime import timedelta

    from django.utils import timezone

    from exportdesk.core.bulk import rows_insert

    now = timezone.now()
    rows = []
    for i in range(6):
        row = {
            "seq": 1000 + i,
            "created_at": now + timedelta(seconds=i % 2),
            "actor_id": None,
            "actor_label": "system",
            "action": "bulk.row",
            "object_type": "x",
            "object_id": str(i),
            "subject_id": i,
            "ip_address": "192.0.2.7" if i % 3 == 0 else None,
            "details": {"i": i, "name": "Müller"},
            "redacted_at": None,
            "personal_digest": "d" * 64,
            "prev_hash": "p" * 64,
            "hash": f"{i:064d}",
        }
        if not uniform and i % 2:
            del row["details"], row["redacted_at"]
        rows.append(row)
    with transaction.atomic():
        rows_insert(AuditEvent, rows)
    stored = {e.seq: e for e in AuditEvent.objects.filter(action="bulk.row")}
    for i, row in enumerate(rows):
        event = stored[1000 + i]
        assert event.created_at == now + timedelta(seconds=i % 2)
        assert event.ip_address == row["ip_address"]
        assert event.details == row.get("details", {})
        assert event.redacted_at is None
        assert event.hash == row["hash"]

"""`core.bulk`: many rows written in a few statements, exactly as the ORM would write them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import transaction

from exportdesk.core.bulk import rows_insert, rows_update
from exportdesk.messaging.models import ContactEvent

pytestmark = pytest.mark.django_db


def _events(count: int) -> list[int]:
    rows = [
        {
            "email": f"buyer{n}@example.com",
            "kind": ContactEvent.Kind.NOTICE,
            "direction": ContactEvent.Direction.OUTBOUND,
            "subject": f"Notice {n}",
            "created_at": datetime(2026, 11, 1, tzinfo=UTC),
        }
        for n in range(count)
    ]
    with transaction.atomic():
        rows_insert(ContactEvent, rows)
    return [row["id"] for row in rows]


def test_rows_update_sets_the_values_on_exactly_the_rows_named_beyond_one_in_list():
    ids = _events(2000)
    chosen = ids[:1500]  # more than one IN list's worth
    moment = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    rows_update(ContactEvent, chosen, {"visible_to_customer": False, "created_at": moment})

    hidden = ContactEvent.objects.filter(visible_to_customer=False)
    assert sorted(hidden.values_list("pk", flat=True)) == sorted(chosen)
    assert {event.created_at for event in hidden} == {moment}
    assert ContactEvent.objects.filter(visible_to_customer=True).count() == 500


def test_rows_update_of_no_rows_writes_nothing():
    _events(3)
    rows_update(ContactEvent, [], {"visible_to_customer": False})
    assert not ContactEvent.objects.filter(visible_to_customer=False).exists()

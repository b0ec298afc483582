"""Erasure from the inventory: the plan, its execution, and the proof that nothing of the erased
person survives outside declared holds while everyone else is untouched (issue 5, done means)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, models

from exportdesk.accounts.models import User
from exportdesk.core.audit import audit_chain_verify
from exportdesk.core.personal_data import ErasureAction, declarations
from exportdesk.payments.selectors import ledger_check
from exportdesk.privacy.erasure import erasure_execute, erasure_plan
from exportdesk.privacy.models import DisputeHold, ErasureRecord
from exportdesk.privacy.subjects import subject_for_email, subject_for_user, subject_rows
from tests.factories import staff
from tests.privacy.people import Person, person_everywhere

pytestmark = pytest.mark.django_db

# Not reachable through a path to the person: the session (its user id is inside encoded data;
# it cannot sign in again once the password is unusable), the journal (its memos name documents,
# not people), destination rules (the staff member who edited one), and the erasure record (the
# erasure writes it).
UNREACHABLE = {
    "sessions.Session",
    "payments.JournalEntry",
    "stock.DestinationRule",
    "privacy.ErasureRecord",
}


@pytest.fixture
def accountant() -> User:
    return staff("acc.erasure@exporter.example", "accounting")


@pytest.fixture
def pair(accountant: User) -> tuple[Person, Person]:
    return (
        person_everywhere("amara", accountant=accountant, n=1),
        person_everywhere("bisi", accountant=accountant, n=2),
    )


def _text_columns() -> list[tuple[str, str, type[models.Model]]]:
    found = []
    for model in apps.get_models(include_auto_created=True):
        for f in model._meta.concrete_fields:
            if isinstance(f, models.CharField | models.TextField | models.JSONField):
                found.append((model._meta.db_table, f.column, model))
    return found


def _occurrences(value: str) -> set[tuple[str, str, int]]:
    """Every (table, column, primary key) whose text contains `value`, case-insensitively."""
    hits = set()
    with connection.cursor() as cursor:
        for table, column, model in _text_columns():
            pk = model._meta.pk.column
            quoted = connection.ops.quote_name
            cursor.execute(
                f"SELECT {quoted(pk)} FROM {quoted(table)} "
                f"WHERE LOWER(CAST({quoted(column)} AS TEXT)) LIKE %s",
                [f"%{value.lower()}%"],
            )
            hits.update((table, column, row[0]) for row in cursor.fetchall())
    return hits


def _held_columns() -> set[tuple[str, str]]:
    """Columns a declaration keeps under a legal hold (whole-row holds keep every column)."""
    held = set()
    for declaration in declarations().values():
        table = declaration.model._meta.db_table
        for name, spec in declaration.personal.items():
            if spec.erasure is ErasureAction.HOLD or declaration.held_when is not None:
                held.add((table, declaration.model._meta.get_field(name).column))
    return held


def _stored_files_containing(value: str) -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    return [str(p) for p in root.rglob("*") if p.is_file() and value.encode() in p.read_bytes()]


def test_every_declared_model_holds_data_about_the_test_person(pair):
    amara, _ = pair
    subject = subject_for_user(amara.user)
    missing = [
        label
        for label, declaration in sorted(declarations().items())
        if declaration.personal
        and label not in UNREACHABLE
        and not subject_rows(declaration, subject).exists()
    ]
    assert missing == [], f"add data for {missing} to tests/privacy/people.py"


def test_erasure_leaves_nothing_outside_declared_holds_and_the_other_person_untouched(
    pair, committed
):
    amara, bisi = pair
    bisi_before = {value: _occurrences(value) for value in bisi.identifying}
    assert all(bisi_before.values())
    officer = staff("privacy.officer@exporter.example", "privacy_officer")

    with committed():  # files leave storage once the erasure commits
        erasure_execute(subject_for_user(amara.user), actor=officer)

    held = _held_columns()
    for value in amara.identifying:
        leftovers = {(t, c) for t, c, _ in _occurrences(value)} - held
        assert leftovers == set(), f"{value!r} survives in {sorted(leftovers)}"
    # Stored files: only the slip of the confirmed payment (part of the books) still names them.
    for value in amara.identifying:
        assert set(_stored_files_containing(value)) <= {
            str(Path(settings.MEDIA_ROOT) / amara.slip_names[0])
        }
    # The unconfirmed declaration's slip is gone; the confirmed one is part of the books.
    assert not default_storage.exists(amara.slip_names[1])
    assert default_storage.exists(amara.slip_names[0])
    for value, before in bisi_before.items():
        assert _occurrences(value) == before
    for name in bisi.slip_names:
        assert default_storage.exists(name)

    user = User.objects.get(pk=amara.user.pk)
    assert not user.is_active and user.erased_at is not None
    assert not user.has_usable_password()
    assert audit_chain_verify() is None
    assert ledger_check() == []


def test_the_plan_is_a_dry_run_that_names_each_hold_and_its_end(pair):
    amara, _ = pair
    subject = subject_for_user(amara.user)
    plan = erasure_plan(subject)
    actions = {(i.model, i.field): i for i in plan.items}
    assert actions[("accounts.CustomerProfile", "phone")].action == "delete"
    assert actions[("accounts.User", "email")].action == "anonymise"
    order = actions[("sales.Order", "customer")]
    assert order.action == "hold" and order.hold_name == "accounting records"
    assert order.until is not None and order.until.year >= 2033
    assert "Corporation Tax Act" in order.reason
    assert {k.hold_name for k in plan.kept} >= {"accounting records"}
    # The officer sees what is still open with the person before erasing.
    assert any("awaiting payment" in reason for reason in plan.obligations)
    assert any("not used for an order or refunded" in r for r in plan.obligations)
    # Nothing changed.
    assert User.objects.get(pk=amara.user.pk).email == amara.identifying[0]


def test_running_erasure_twice_changes_nothing_the_second_time(pair):
    amara, _ = pair
    officer = staff("privacy.officer@exporter.example", "privacy_officer")
    first = erasure_execute(subject_for_user(amara.user), actor=officer)
    user = User.objects.get(pk=amara.user.pk)
    assert erasure_plan(subject_for_user(user)).is_empty
    second = erasure_execute(subject_for_user(user), actor=officer)
    assert second == first
    assert ErasureRecord.objects.count() == 1
    # By the original address, only held records remain, and erasing again changes nothing.
    assert erasure_plan(subject_for_email(amara.identifying[0])).is_empty


def test_an_open_dispute_keeps_communications_and_transactions(pair):
    amara, _ = pair
    officer = staff("privacy.officer@exporter.example", "privacy_officer")
    from django.utils import timezone

    DisputeHold.objects.create(
        user=amara.user,
        reason="Claim about damage in transit",
        opened_at=timezone.now(),
        opened_by=officer,
    )
    plan = erasure_plan(subject_for_user(amara.user))
    contact = [i for i in plan.items if i.model == "messaging.ContactEvent"]
    assert contact and all(i.action == "hold" for i in contact)
    assert any(k.hold_name == "open disputes and claims" for k in plan.kept)
    erasure_execute(subject_for_user(amara.user), actor=officer)
    said = amara.user.contact_events.filter(subject=f"Hello {amara.identifying[1]}")
    assert said.get().body == f"Dear {amara.identifying[1]}"
    assert not hasattr(User.objects.get(pk=amara.user.pk), "customer_profile") or not (
        User.objects.get(pk=amara.user.pk).customer_profile.phone
    )

"""Erasing a customer while accounting imports a statement that pays them (issue 5, attacks), on
PostgreSQL with two real connections: neither fails, the ledger agrees, and the outcome is one
of the two orders in which they could have run.

Either the import confirmed the customer's declaration first (it is then part of the books and
the erasure keeps it under the accounting hold), or the erasure removed the declaration first
(the import then confirms the credit by the order's proforma number, without a declaration, or
leaves it for accounting). Run: `scripts/with-postgres.sh .venv/bin/pytest
tests/privacy/test_erasure_concurrency.py`.
"""

from __future__ import annotations

import threading
import time
from datetime import date
from typing import Any

import pytest
from django.db import connection, transaction

from exportdesk.accounts.models import User
from exportdesk.payments.imports import statement_import
from exportdesk.payments.models import Deposit, PaymentDeclaration, PaymentSettings
from exportdesk.payments.selectors import ledger_check
from exportdesk.payments.services import DeclarationDraft, declaration_submit
from exportdesk.privacy.erasure import erasure_execute
from exportdesk.privacy.subjects import subject_for_user
from tests.conftest import ensure_reference_data
from tests.factories import customer, staff
from tests.payments.factories import bank_account, mt940, order_for

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 30
ROUNDS = 4


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: two connections and row locks (scripts/with-postgres.sh)")
    ensure_reference_data()


def _both_at_once(first: Any, second: Any) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(2, timeout=WAIT)

    def run(work: Any) -> None:
        try:
            barrier.wait()
            work()
        except BaseException as error:  # reported by the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(w,), daemon=True) for w in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not any(t.is_alive() for t in threads), "a thread is stuck"
    return errors


def _paying_customer(round_number: int) -> tuple[User, User, User, Any, PaymentDeclaration, bytes]:
    PaymentSettings.objects.update_or_create(pk=1, defaults={"auto_confirm": True})
    accountant = staff(f"acc.{round_number}@exporter.example", "accounting")
    officer = staff(f"officer.{round_number}@exporter.example", "privacy_officer")
    person = customer(f"kofi.{round_number}@example.com", name="Kofi Mensah")
    order = order_for(person)
    declaration = declaration_submit(
        customer=person,
        draft=DeclarationDraft(
            amount=order.total,
            currency="USD",
            paid_on=date.today(),
            payer_name="Kofi Mensah",
            payer_bank="GCB Bank",
            reference=order.proforma.number,
            orders=[order],
        ),
        slip=None,
    )
    statement = mt940(
        [(order.total, "KOFI MENSAH", f"PAYMENT {order.proforma.number}")],
        reference=f"RACE{round_number}",
    )
    return person, accountant, officer, order, declaration, statement


@pytest.mark.parametrize("round_number", range(ROUNDS))
def test_erasure_and_a_paying_statement_at_the_same_moment(round_number: int) -> None:
    person, accountant, officer, _order, declaration, statement = _paying_customer(round_number)

    errors = _both_at_once(
        lambda: erasure_execute(subject_for_user(person), actor=officer),
        lambda: statement_import(
            data=statement,
            file_name=f"race{round_number}.sta",
            bank_account=bank_account(),
            actor=accountant,
        ),
    )

    assert errors == []
    assert ledger_check() == []
    erased = User.objects.get(pk=person.pk)
    assert erased.erased_at is not None and not erased.is_active
    kept = PaymentDeclaration.objects.filter(pk=declaration.pk).first()
    deposit = Deposit.objects.filter(customer=person).first()
    if kept is not None:
        # The import came first: the confirmed declaration is part of the books.
        assert kept.status == PaymentDeclaration.Status.CONFIRMED
        assert deposit is not None and deposit.declaration_id == kept.pk
    elif deposit is not None:
        # The erasure came first: the credit was still recognised by the proforma number.
        assert deposit.declaration_id is None


def _waiting_on_accounts() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
        )
        return bool(cursor.fetchone()[0])


def test_an_import_waits_for_an_erasure_in_progress_and_still_books_the_money() -> None:
    """The erasure holds the account when the import reaches it: the import waits, then
    confirms the credit by the proforma number, the declaration having been erased."""
    person, accountant, officer, order, declaration, statement = _paying_customer(99)
    locked, errors = threading.Event(), []

    def erasure() -> None:
        try:
            with transaction.atomic():
                User.objects.select_for_update().get(pk=person.pk)
                locked.set()
                deadline = time.monotonic() + WAIT
                while not _waiting_on_accounts():
                    assert time.monotonic() < deadline, "the import never waited"
                    time.sleep(0.02)
                erasure_execute(subject_for_user(person), actor=officer)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    def payment() -> None:
        try:
            assert locked.wait(WAIT)
            statement_import(
                data=statement,
                file_name="forced.sta",
                bank_account=bank_account(),
                actor=accountant,
            )
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=w, daemon=True) for w in (erasure, payment)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 2)
    assert errors == []
    assert not PaymentDeclaration.objects.filter(pk=declaration.pk).exists()
    deposit = Deposit.objects.get(customer=person)
    assert deposit.declaration_id is None and deposit.amount == order.total
    assert ledger_check() == []

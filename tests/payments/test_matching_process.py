"""A large statement is matched by a helper process while the import confirms (issue 4, part 10):
it must decide exactly what the import decides alone, and the import must never depend on it.

The helper reads the database through its own connection, so it sees only committed data: these
tests commit (transactional tests), on SQLite and on PostgreSQL alike. The size from which a
statement gets a helper, and the batches it answers in, are lowered so a statement of a few
credits exercises every part: several batches, batches merged, a split payment whose second half
is decided after the first was confirmed.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from exportdesk.messaging.models import ContactEvent
from exportdesk.payments import matching_process
from exportdesk.payments.imports import StatementRefused, statement_import
from exportdesk.payments.matching_process import MatchingProcess, MatchingProcessFailed
from exportdesk.payments.models import (
    BankTransaction,
    Deposit,
    MatchSuggestion,
    PaymentDeclaration,
    PaymentSettings,
)
from exportdesk.payments.selectors import ledger_check
from exportdesk.payments.services import DeclarationDraft, declaration_submit
from tests.conftest import ensure_reference_data
from tests.factories import customer
from tests.payments.factories import bank_account, mt940, order_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _reference_data() -> None:
    ensure_reference_data()  # transactional tests before this one may have flushed it


@pytest.fixture
def helpers_used(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement worth matching gets a helper, answering two credits at a time; returns
    what the helpers did: "started", and "decided N" for N credits sent to one."""
    monkeypatch.setattr(matching_process, "MIN_STATEMENT_BYTES", 0)
    monkeypatch.setattr(matching_process, "BATCH_CREDITS", 2)
    used: list[str] = []
    start, decided = MatchingProcess.__init__, MatchingProcess.decided

    def started(self: MatchingProcess) -> None:
        used.append("started")
        start(self)

    def counted(self: MatchingProcess, credits: list[Any], rule: Any) -> Iterator[Any]:
        used.append(f"decided {len(credits)}")
        yield from decided(self, credits, rule)

    monkeypatch.setattr(MatchingProcess, "__init__", started)
    monkeypatch.setattr(MatchingProcess, "decided", counted)
    return used


def _statement() -> bytes:
    """Credits of every kind: sure matches, a payment in two halves, a declared transfer, a
    relative paying, an amount with no reference, a payment for nobody."""
    PaymentSettings.objects.update_or_create(pk=1, defaults={"auto_confirm": True})
    alice = customer("alice@example.com", "KE", name="Alice Wanjiru")
    bob = customer("bob@example.com", "JM", name="Bob Campbell")
    carol = customer("carol@example.com", "TZ", name="Carol Mushi")
    alices, bobs, carols = order_for(alice), order_for(bob), order_for(carol)
    second = order_for(alice)
    declared = order_for(bob)
    declaration_submit(
        customer=bob,
        draft=DeclarationDraft(
            amount=declared.total,
            currency="USD",
            paid_on=timezone.localdate(),
            payer_name="Bob Campbell",
            payer_bank="NCB Jamaica",
            reference="car for Kingston",
            orders=[declared],
        ),
        slip=None,
    )
    half = (bobs.total / 2).quantize(Decimal("0.01"))
    return mt940([
        (alices.total, "ALICE WANJIRU", f"INV {alices.proforma.number}"),
        (half, "BOB CAMPBELL", f"part 1 {bobs.proforma.number}"),
        (declared.total, "BOB CAMPBELL", "car for Kingston"),
        (bobs.total - half, "BOB CAMPBELL", f"part 2 {bobs.proforma.number}"),
        (carols.total, "JOHN MUSHI", carols.proforma.number.replace("-", " ")),
        (second.total, "A WANJIRU", "payment"),
        (Decimal("12.34"), "INTEREST", "interest for the month"),
    ])  # fmt: skip


def _outcome() -> dict[str, Any]:
    """What matching decided, keyed by the bank's reference of each credit (ids differ between
    runs): its status, its deposit and its suggestions."""
    by_id = {t.pk: t.bank_reference for t in BankTransaction.objects.all()}
    return {
        "status": {by_id[t.pk]: t.status for t in BankTransaction.objects.all()},
        "deposits": sorted(
            (by_id[d.transaction_id], d.customer_id, d.declaration_id, d.amount, d.bank_charge,
             d.third_party)
            for d in Deposit.objects.all()
        ),
        "suggestions": sorted(
            (by_id[s.transaction_id], s.rank, s.score, s.customer_id, s.declaration_id,
             s.order_id, tuple(s.reasons), s.third_party)
            for s in MatchSuggestion.objects.all()
        ),
        "declarations": sorted(PaymentDeclaration.objects.values_list("pk", "status")),
        "told": ContactEvent.objects.filter(subject__startswith="Payment received").count(),
    }  # fmt: skip


class _Undone(Exception):
    pass


def _alone(data: bytes) -> dict[str, Any]:
    """The import as one process does it (inside a transaction a helper could not see into),
    then undone."""
    outcome: dict[str, Any] = {}
    with pytest.raises(_Undone), transaction.atomic():
        statement_import(data=data, file_name="s.sta", bank_account=bank_account(), actor=None)
        outcome = _outcome()
        raise _Undone
    assert not BankTransaction.objects.exists()
    return outcome


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_the_helper_decides_exactly_what_the_import_decides_alone(
    helpers_used, monkeypatch, method
):
    # A copy of this process, or a fresh interpreter (under a threaded web server).
    monkeypatch.setattr(matching_process, "start_method", lambda: method)
    data = _statement()
    alone = _alone(data)
    assert helpers_used == []  # inside a transaction already open: no helper

    result = statement_import(data=data, file_name="s.sta", bank_account=bank_account(), actor=None)

    assert helpers_used == ["started", "decided 7"]
    assert _outcome() == alone
    # The statement has every kind of outcome, so the comparison says something.
    assert result.summary["auto_confirmed"] >= 4
    assert result.summary["suggested"] >= 1
    assert len({deposit[1] for deposit in alone["deposits"]}) == 3
    assert alone["told"] == result.summary["auto_confirmed"]
    assert ledger_check() == []
    assert multiprocessing.active_children() == []

    # The same file again adds nothing, and starts no helper to find that out.
    again = statement_import(data=data, file_name="s.sta", bank_account=bank_account(), actor=None)
    assert again.summary["imported"] == 0
    assert helpers_used == ["started", "decided 7"]


def test_a_helper_failing_half_way_leaves_the_import_to_match_by_itself(helpers_used, monkeypatch):
    data = _statement()
    alone = _alone(data)
    decided = MatchingProcess.decided

    def failing(self: MatchingProcess, credits: list[Any], rule: Any) -> Iterator[Any]:
        batches = decided(self, credits, rule)
        yield next(batches)  # recorded by the import, then undone
        raise MatchingProcessFailed("the matching process has gone")

    monkeypatch.setattr(MatchingProcess, "decided", failing)

    statement_import(data=data, file_name="s.sta", bank_account=bank_account(), actor=None)

    # Nothing twice: the first batch's confirmations went with the helper.
    assert _outcome() == alone
    assert ledger_check() == []


def test_a_helper_that_cannot_read_its_orders_leaves_the_import_to_match_by_itself(
    helpers_used, monkeypatch
):
    data = _statement()
    alone = _alone(data)
    # What the helper is sent is not what it expects: it fails before deciding anything.
    monkeypatch.setattr(MatchingProcess, "_send", lambda self, message: self._pipe.send("?"))

    statement_import(data=data, file_name="s.sta", bank_account=bank_account(), actor=None)

    assert helpers_used == ["started", "decided 7"]
    assert _outcome() == alone


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_refused_statement_stops_its_helper_and_writes_nothing(
    helpers_used, monkeypatch, request, method
):
    monkeypatch.setattr(matching_process, "start_method", lambda: method)
    # As under a web server that stops gracefully: SIGTERM only sets a flag, here and in a copy.
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    request.addfinalizer(lambda: signal.signal(signal.SIGTERM, previous))
    _statement()
    unbalanced = mt940([(Decimal(100), "ALICE WANJIRU", "x")]).replace(b"USD100,00", b"USD99,00")
    with pytest.raises(StatementRefused):
        statement_import(
            data=unbalanced, file_name="s.sta", bank_account=bank_account(), actor=None
        )
    assert helpers_used == ["started"]
    assert not BankTransaction.objects.exists()
    assert multiprocessing.active_children() == []


def test_with_the_setting_off_the_import_matches_in_its_own_process(helpers_used, settings):
    settings.STATEMENT_MATCHING_PROCESS = False
    data = _statement()
    result = statement_import(data=data, file_name="s.sta", bank_account=bank_account(), actor=None)
    assert helpers_used == []
    assert result.summary["auto_confirmed"] >= 4


def test_a_small_statement_is_matched_in_the_import_s_own_process(monkeypatch):
    used: list[int] = []
    monkeypatch.setattr(MatchingProcess, "__init__", lambda self: used.append(1))
    data = _statement()
    assert len(data) < matching_process.MIN_STATEMENT_BYTES
    statement_import(data=data, file_name="s.sta", bank_account=bank_account(), actor=None)
    assert used == []
    assert Deposit.objects.count() >= 4

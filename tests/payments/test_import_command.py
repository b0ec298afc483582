"""`manage.py import_statement` on the real MT940 samples: every statement read and reported,
the unbalanced ones named, imports atomic and idempotent."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from exportdesk.payments.models import BankStatement, BankTransaction
from exportdesk.sales.models import BankAccount
from tests.samples import MT940_SAMPLES

SAMPLES = MT940_SAMPLES

# file: (statements, entries, positions of the statements that do not balance)
EXPECTED = {
    "ASNB/mt940.txt": (31, 8, []),
    "ASNB/mt940_with_spaces_for_entry_date.txt": (31, 8, []),
    "citi/mt940.txt": (1, 5, []),
    "jejik/abnamro.sta": (2, 10, [0, 1]),
    "jejik/generic.sta": (2, 2, []),
    "jejik/ing.sta": (1, 7, [0]),
    "jejik/knab.sta": (2, 3, [1]),
    "jejik/postfinance.sta": (2, 4, [1]),
    "jejik/rabobank-iban.sta": (2, 4, []),
    "jejik/rabobank.sta": (4, 5, [0, 2]),
    "jejik/sns.sta": (2, 2, []),
    "jejik/triodos.sta": (1, 2, [0]),
    "sberbank/171011_01234945.sta": (1, 3, []),
}

pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared samples not present")


def _run(*args: str) -> tuple[int, dict]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_statement", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    return code, json.loads(out.getvalue().strip().splitlines()[-1])


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_it_reads_every_sample_and_names_the_statements_that_do_not_balance(name):
    statements, entries, unbalanced = EXPECTED[name]
    code, summary = _run(str(SAMPLES / name), "--dry-run")
    assert len(summary["statements"]) == statements
    assert sum(s["entries"] for s in summary["statements"]) == entries
    assert [i for i, s in enumerate(summary["statements"]) if not s["balanced"]] == unbalanced
    # Banks also report zero-amount entries (fees waived, notices): neither credit nor debit.
    assert summary["credits"] + summary["debits"] <= entries
    # A dry run writes nothing; it fails exactly when the real import would be refused.
    assert code == (1 if unbalanced else 0)
    assert not BankTransaction.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_it_imports_each_sample_once_with_unbalanced_statements_flagged(name):
    statements, entries, unbalanced = EXPECTED[name]
    _, preview = _run(str(SAMPLES / name), "--dry-run")
    BankAccount.objects.create(
        code="sample",
        bank_name="Sample bank",
        swift_bic="SAMPLEXX",
        account_number="1",
        account_holder="Us",
        currency=preview["statements"][0]["currency"],
    )
    code, summary = _run(str(SAMPLES / name), "--account", "sample", "--accept-unbalanced")
    assert code == 0, summary
    assert summary["imported"] == entries
    assert BankStatement.objects.count() == statements
    assert BankStatement.objects.filter(needs_review=True).count() == len(unbalanced)
    # Credits wait for accounting (nobody here owes anything); debits are set aside.
    assert BankTransaction.objects.filter(status="unmatched").count() == summary["credits"]

    code, again = _run(str(SAMPLES / name), "--account", "sample", "--accept-unbalanced")
    assert code == 0
    assert again["imported"] == 0 and again["duplicates_skipped"] == entries
    assert BankTransaction.objects.count() == entries


@pytest.mark.django_db
def test_it_refuses_an_unbalanced_file_without_acceptance_and_writes_nothing():
    BankAccount.objects.create(
        code="eur",
        bank_name="B",
        swift_bic="ABNANL2A",
        account_number="1",
        account_holder="Us",
        currency="EUR",
    )
    code, summary = _run(str(SAMPLES / "jejik/abnamro.sta"), "--account", "eur")
    assert code == 1
    assert "does not equal the closing balance" in summary["error"]
    assert "2038.00" in summary["error"]
    assert not BankStatement.objects.exists()


@pytest.mark.django_db
def test_it_names_the_known_accounts_when_the_code_is_wrong():
    BankAccount.objects.create(
        code="eur",
        bank_name="B",
        swift_bic="ABNANL2A",
        account_number="1",
        account_holder="Us",
        currency="EUR",
    )
    code, summary = _run(str(SAMPLES / "citi/mt940.txt"), "--account", "nope")
    assert code == 1
    assert "no bank account with code 'nope'" in summary["error"] and "eur" in summary["error"]


@pytest.mark.django_db
def test_it_refuses_a_statement_in_another_currency_than_the_account(tmp_path):
    BankAccount.objects.create(
        code="usd",
        bank_name="B",
        swift_bic="BOTKJPJT",
        account_number="1",
        account_holder="Us",
        currency="USD",
    )
    code, summary = _run(str(SAMPLES / "jejik/generic.sta"), "--account", "usd")
    assert code == 1
    assert "account usd is in USD" in summary["error"]
    assert not BankTransaction.objects.exists()

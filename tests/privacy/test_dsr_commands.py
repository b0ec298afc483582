"""`dsr_export` and `dsr_erase` from the command line."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.management import call_command

from exportdesk.accounts.models import User
from exportdesk.privacy.models import ErasureRecord

pytestmark = pytest.mark.django_db


def _run(*args: str) -> tuple[list[str], dict]:
    out = io.StringIO()
    call_command(*args, stdout=out)
    lines = out.getvalue().strip().splitlines()
    return lines, json.loads(lines[-1])


def test_dsr_export_writes_the_package(alice, tmp_path):
    target = tmp_path / "alice.zip"
    _, summary = _run("dsr_export", "--email", alice.email.upper(), "--out", str(target))
    assert summary["subject"] == alice.customer_number
    with zipfile.ZipFile(target) as package:
        users = json.loads(package.read("data/accounts.json"))
    rows = next(s for s in users["records"] if s["model"] == "accounts.User")["rows"]
    assert rows[0]["email"] == alice.email


def test_dsr_erase_dry_run_changes_nothing_then_erases(alice):
    lines, summary = _run("dsr_erase", "--email", alice.email, "--dry-run")
    assert summary["dry_run"] is True and summary["delete"] >= 1
    assert any("accounts.CustomerProfile.phone" in line for line in lines)
    assert User.objects.get(pk=alice.pk).is_active
    _, summary = _run("dsr_erase", "--email", alice.email)
    user = User.objects.get(pk=alice.pk)
    assert not user.is_active and user.email.endswith("@erased.invalid")
    assert ErasureRecord.objects.get(pk=summary["erasure_record"]).subject_id == alice.pk


def test_an_unknown_address_gets_an_empty_plan_not_an_error():
    _, summary = _run("dsr_erase", "--email", "nobody@example.com", "--dry-run")
    assert summary == {
        "subject": "nobody@example.com",
        "dry_run": True,
        "delete": 0,
        "anonymise": 0,
        "kept": [],
    }

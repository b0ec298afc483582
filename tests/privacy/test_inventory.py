from __future__ import annotations

import csv
import dataclasses
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from exportdesk.core import personal_data
from exportdesk.core.personal_data import (
    DataCategory,
    ErasureAction,
    LegalBasis,
    PersonalField,
    Purpose,
)
from exportdesk.privacy.inventory import inventory_problems


def test_every_installed_model_field_is_declared():
    assert inventory_problems() == []
    out = io.StringIO()
    call_command("privacy_inventory", "--check", stdout=out)
    assert "every model field is declared" in out.getvalue()


def test_django_and_third_party_models_are_declared_too():
    labels = set(personal_data.declarations())
    assert {
        "sessions.Session",
        "admin.LogEntry",
        "auth.Group",
        "contenttypes.ContentType",
    } <= labels
    assert "accounts.User_groups" in labels


@pytest.fixture
def without_field(monkeypatch):
    """Pretend a developer added a field to CustomerProfile without declaring it."""
    registry = dict(personal_data._registry)
    original = registry["accounts.CustomerProfile"]
    personal = dict(original.personal)
    del personal["whatsapp"]
    registry["accounts.CustomerProfile"] = dataclasses.replace(original, personal=personal)
    del registry["sessions.Session"]
    monkeypatch.setattr(personal_data, "_registry", registry)


def test_check_names_every_undeclared_field_and_model(without_field):
    problems = inventory_problems()
    assert "accounts.CustomerProfile.whatsapp: field not declared" in problems
    assert "sessions.Session: model not declared in any privacy.py" in problems
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 inventory problem"):
        call_command("privacy_inventory", "--check", stderr=err)
    assert "accounts.CustomerProfile.whatsapp" in err.getvalue()


def test_the_inventory_prints_as_json_and_csv():
    out = io.StringIO()
    call_command("privacy_inventory", "--format", "json", stdout=out)
    rows = json.loads(out.getvalue())
    email = next(r for r in rows if r["model"] == "accounts.User" and r["field"] == "email")
    assert email["category"] == "contact"
    assert "account" in email["purposes"]
    assert email["legal_basis"] == "contract"
    assert email["retention"]

    out = io.StringIO()
    call_command("privacy_inventory", "--format", "csv", stdout=out)
    parsed = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(parsed) == len(rows)
    assert {"model", "field", "category", "purposes", "legal_basis", "erasure", "retention"} <= set(
        parsed[0]
    )


def test_a_legal_hold_must_be_named_when_a_field_is_kept():
    with pytest.raises(ValueError, match="legal hold"):
        PersonalField(
            DataCategory.FINANCIAL,
            purposes=(Purpose.PAYMENTS,),
            legal_basis=LegalBasis.LEGAL_OBLIGATION,
            erasure=ErasureAction.HOLD,
            retention="7 years",
        )

"""`manage.py ropa`: the record of processing activities, from the inventory and the registry."""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import json

import pytest
from django.core.management import CommandError, call_command

from exportdesk.core import personal_data
from exportdesk.core.personal_data import PURPOSE_LABELS, Purpose, declarations
from exportdesk.privacy.models import Recipient
from exportdesk.privacy.ropa import SECURITY_MEASURES

pytestmark = pytest.mark.django_db

DECLARED_RECIPIENT = "Harbour Inspection Partners"


def with_declared_recipient(
    monkeypatch: pytest.MonkeyPatch, name: str = DECLARED_RECIPIENT
) -> None:
    """A developer names a recipient on a field (the inquiry's message goes to an inspector)."""
    registry = dict(personal_data._registry)
    original = registry["sales.Inquiry"]
    personal = dict(original.personal)
    personal["message"] = dataclasses.replace(personal["message"], recipients=(name,))
    registry["sales.Inquiry"] = dataclasses.replace(original, personal=personal)
    monkeypatch.setattr(personal_data, "_registry", registry)


def declared_purposes() -> set[Purpose]:
    return {p for d in declarations().values() for s in d.personal.values() for p in s.purposes}


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("ropa", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def recipients(db) -> None:
    Recipient.objects.create(
        name="Blue Anchor Shipping",
        kind=Recipient.Kind.SHIPPING_LINE,
        country="KE",
        relationship=Recipient.Relationship.THIRD_PARTY,
        transfer_safeguard="Consent of the customer for each shipment (APPI Art. 28)",
    )
    Recipient.objects.create(
        name="Mombasa Clearing Agents",
        kind=Recipient.Kind.CUSTOMS_BROKER,
        country="KE",
        relationship=Recipient.Relationship.THIRD_PARTY,
    )
    Recipient.objects.create(
        name="Yokohama Trust Bank",
        kind=Recipient.Kind.BANK,
        country="JP",
        relationship=Recipient.Relationship.THIRD_PARTY,
    )
    Recipient.objects.create(
        name="Retired Forwarder",
        kind=Recipient.Kind.FORWARDER,
        country="JP",
        relationship=Recipient.Relationship.THIRD_PARTY,
        is_active=False,
    )


def test_json_has_one_activity_per_declared_purpose_with_its_details(recipients):
    document = json.loads(_run("--format", "json"))
    activities = {a["purpose"]: a for a in document["activities"]}

    # Every declared purpose, and shipping: the registered shipping line serves it.
    assert set(activities) == {p.value for p in declared_purposes()} | {"shipping"}
    assert document["controller"] == "Export Desk"
    assert document["security_measures"] == [str(m) for m in SECURITY_MEASURES]
    payments = activities["payments"]
    assert payments["name"] == str(PURPOSE_LABELS[Purpose.PAYMENTS])
    assert "financial" in payments["data_categories"]
    assert "legal obligation" in payments["legal_bases"]
    assert "people with an account (customers and staff)" in payments["subject_categories"]
    assert any("Corporation Tax Act" in hold for hold in payments["legal_holds"])
    assert any("7 years" in text for text in payments["retention"])
    assert [r["name"] for r in payments["recipients"]] == ["Yokohama Trust Bank"]
    assert payments["transfers"] == []  # a bank in Japan is no international transfer
    sales = activities["sales"]
    assert (
        "people who contact us without an account (inquiries, privacy requests)"
        in (sales["subject_categories"])
    )


def test_recipients_abroad_are_international_transfers_with_their_safeguard(recipients):
    shipping = next(a for a in json.loads(_run())["activities"] if a["purpose"] == Purpose.SHIPPING)
    registered = [r for r in shipping["recipients"] if not r["declared"]]
    names = [r["name"] for r in registered]
    assert names == ["Blue Anchor Shipping", "Mombasa Clearing Agents"]  # not the inactive one
    kenya = registered[0]
    assert (kenya["country"], kenya["country_name"], kenya["relationship"]) == (
        "KE",
        "Kenya",
        "Third party",
    )
    assert shipping["transfers"] == [
        "Blue Anchor Shipping (Kenya): Consent of the customer for each shipment (APPI Art. 28)",
        "Mombasa Clearing Agents (Kenya): no safeguard recorded",
    ]


def test_recipients_named_in_declarations_are_listed(db, monkeypatch):
    with_declared_recipient(monkeypatch)
    activities = {a["purpose"]: a for a in json.loads(_run())["activities"]}
    inquiry_purposes = personal_data.declarations()["sales.Inquiry"].personal["message"].purposes
    for purpose in inquiry_purposes:
        assert DECLARED_RECIPIENT in [r["name"] for r in activities[purpose]["recipients"]]


def test_csv_parses_into_one_row_per_activity(recipients):
    rows = list(csv.DictReader(io.StringIO(_run("--format", "csv"))))

    assert {row["purpose"] for row in rows} == {p.value for p in declared_purposes()} | {"shipping"}
    shipping = next(row for row in rows if row["purpose"] == Purpose.SHIPPING)
    assert "Blue Anchor Shipping (Shipping line, Kenya, Third party)" in shipping["recipients"]
    assert "hash-chained" in shipping["security_measures"]
    for row in rows:
        if row["purpose"] in {p.value for p in declared_purposes()}:
            assert row["legal_bases"] and row["data_categories"] and row["retention"], row


def test_html_names_every_purpose_and_the_security_measures(recipients):
    page = _run("--format", "html")

    assert page.startswith("<!doctype html>")
    assert "<h1>Record of processing activities</h1>" in page
    for purpose in declared_purposes():
        assert f"<h2>{html.escape(str(PURPOSE_LABELS[purpose]))}</h2>" in page
    for measure in SECURITY_MEASURES:
        assert html.escape(str(measure)) in page
    assert "Blue Anchor Shipping" in page


def test_html_escapes_what_staff_typed(db):
    Recipient.objects.create(
        name="<script>alert(1)</script> Lines",
        kind=Recipient.Kind.SHIPPING_LINE,
        country="US",
        relationship=Recipient.Relationship.THIRD_PARTY,
    )
    page = _run("--format", "html")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Lines" in page


def test_out_writes_a_file_and_a_bad_path_is_a_clear_error(recipients, tmp_path):
    target = tmp_path / "ropa.json"
    assert _run("--format", "json", "--out", str(target)) == ""
    assert json.loads(target.read_text(encoding="utf-8"))["activities"]

    with pytest.raises(CommandError, match="cannot write"):
        _run("--out", str(tmp_path / "missing" / "ropa.json"))


def test_an_unknown_format_is_refused(db):
    with pytest.raises(CommandError, match="invalid choice"):
        _run("--format", "xml")

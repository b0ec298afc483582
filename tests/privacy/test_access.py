"""The access package: every declared field about the person, their files, the legal context,
and nothing about anyone else."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from exportdesk.core.personal_data import declarations
from exportdesk.privacy.access import SKIPPED_MODELS, WITHHELD_FIELDS, access_package_write
from exportdesk.privacy.subjects import subject_for_user, subject_rows
from tests.factories import staff
from tests.privacy.people import person_everywhere

pytestmark = pytest.mark.django_db


@pytest.fixture
def package_and_people():
    accountant = staff("acc.access@exporter.example", "accounting")
    amara = person_everywhere("amara", accountant=accountant, n=1)
    bisi = person_everywhere("bisi", accountant=accountant, n=2)
    out = io.BytesIO()
    steps: list[int] = []
    access_package_write(subject_for_user(amara.user), out, progress=steps.append)
    return zipfile.ZipFile(io.BytesIO(out.getvalue())), amara, bisi, steps


def test_the_package_holds_every_declared_field_of_the_person(package_and_people):
    package, amara, _, steps = package_and_people
    subject = subject_for_user(amara.user)
    documents = {
        name: json.loads(package.read(name))
        for name in package.namelist()
        if name.startswith("data/") and name != "data/context.json"
    }
    sections = {
        section["model"]: section
        for document in documents.values()
        for section in document["records"]
    }
    for label, declaration in declarations().items():
        if not declaration.personal or label in SKIPPED_MODELS:
            continue
        expected_rows = subject_rows(declaration, subject).count()
        if not expected_rows:
            continue
        section = sections[label]
        assert len(section["rows"]) == expected_rows, label
        for name in declaration.personal:
            if name in WITHHELD_FIELDS:
                continue
            attname = declaration.model._meta.get_field(name).attname
            assert attname in section["keys"], f"{label}.{name} missing from the package"
            assert section["keys"][attname]["personal"] is True
            assert all(attname in row for row in section["rows"])
    assert steps[-1] == 100 and steps == sorted(steps)


def test_the_package_has_the_files_the_context_and_a_readable_index(package_and_people):
    package, amara, _, _ = package_and_people
    names = package.namelist()
    slips = [n for n in names if n.startswith("files/payments.PaymentDeclaration/")]
    assert len(slips) == 2
    assert amara.identifying[5].encode() in package.read(slips[0])
    context = json.loads(package.read("data/context.json"))
    assert context["purposes"] and context["legal_bases"] and context["retention"]
    assert context["recipients"][0]["name"] == "Blue Ocean RoRo Lines"
    index = package.read("index.html").decode()
    for area in {n.split("/")[1][:-5] for n in names if n.startswith("data/")}:
        if area != "context":
            assert f'href="data/{area}.json"' in index


def test_nothing_about_anyone_else_is_in_the_package(package_and_people):
    package, amara, bisi, _ = package_and_people
    everything = b"".join(package.read(name) for name in package.namelist())
    for value in bisi.identifying:
        assert value.encode() not in everything
    assert amara.identifying[0].encode() in everything
    # Credentials never leave.
    assert b"SECRETAMARA" not in everything

"""The access and portability package: everything the inventory holds about one person.

One ZIP: a JSON file per data area (an app of the system) with every declared field of every row
about the person and what each key means, the files they gave us (transfer slips, documents), the
context the law requires (purposes, legal bases, recipients, retention, sources, transfers
abroad, records of provision), and a readable HTML index linking all of it. Built from the same
declarations as the erasure plan, so what a person can see and what can be erased never differ.
"""

from __future__ import annotations

import json
import posixpath
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO

from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.template.loader import render_to_string
from django.utils import timezone

from exportdesk.core.models import AuditEvent
from exportdesk.core.personal_data import (
    CATEGORY_LABELS,
    LEGAL_BASIS_LABELS,
    PURPOSE_LABELS,
    ModelDeclaration,
    PersonalField,
)
from exportdesk.privacy.models import DataExport, Recipient
from exportdesk.privacy.subjects import Subject, personal_declarations, subject_rows

# Credentials and chain internals: about the person's account, but of no use to them and a risk
# if the package leaks.
WITHHELD_FIELDS = frozenset(
    {"password", "secret", "last_used_step", "token_hash", "hash", "prev_hash", "personal_digest"}
)
# Earlier copies of the package are not part of the package.
SKIPPED_MODELS = frozenset({DataExport._meta.label})
FORMAT_VERSION = 1


def access_package_write(
    subject: Subject, out: BinaryIO, *, progress: Callable[[int], None] | None = None
) -> None:
    declarations = [d for d in personal_declarations() if d.label not in SKIPPED_MODELS]
    areas: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as package:
        for done, declaration in enumerate(declarations, start=1):
            section = _section(declaration, subject, package)
            if section["rows"]:
                areas[declaration.model._meta.app_label].append(section)
            if progress is not None:
                progress(int(done * 90 / len(declarations)))
        for area, sections in sorted(areas.items()):
            _write_json(package, f"data/{area}.json", _area_document(area, sections))
        context = _context(declarations, areas)
        _write_json(package, "data/context.json", context)
        index = render_to_string(
            "privacy/access/index.html",
            {
                "subject": subject,
                "areas": sorted(areas.items()),
                "context": context,
                "generated_at": timezone.now(),
            },
        )
        package.writestr("index.html", index)
    if progress is not None:
        progress(100)


def _section(
    declaration: ModelDeclaration, subject: Subject, package: zipfile.ZipFile
) -> dict[str, Any]:
    model = declaration.model
    names = [f.attname for f in model._meta.concrete_fields if f.name not in WITHHELD_FIELDS]
    file_fields = {
        f.attname for f in model._meta.concrete_fields if isinstance(f, models.FileField)
    }
    rows = list(subject_rows(declaration, subject).order_by("pk").values(*names))
    for row in rows:
        for name in file_fields:
            row[name] = _file_copy(package, row[name], declaration.label)
        if model is AuditEvent:
            _actor_shown(row, subject)
    return {
        "model": declaration.label,
        "description": str(declaration.description),
        "keys": _keys(declaration, names),
        "rows": rows,
    }


def _actor_shown(row: dict[str, Any], subject: Subject) -> None:
    """The person sees that our staff acted, not which staff member's address did."""
    if subject.user is None or row.get("actor_id") != subject.user.pk:
        row["actor_label"] = "system" if row.get("actor_id") is None else "our staff"


def _file_copy(package: zipfile.ZipFile, name: str, label: str) -> str:
    if not name:
        return ""
    target = f"files/{label}/{posixpath.basename(name)}"
    try:
        with default_storage.open(name, "rb") as source:
            package.writestr(target, source.read())
    except FileNotFoundError:
        return f"(file no longer stored: {posixpath.basename(name)})"
    return target


def _keys(declaration: ModelDeclaration, names: Iterable[str]) -> dict[str, Any]:
    """What each key means: the declaration for personal fields, a plain note for the rest."""
    by_attname = {f.attname: f.name for f in declaration.model._meta.concrete_fields}
    keys: dict[str, Any] = {}
    for attname in names:
        name = by_attname[attname]
        spec = declaration.personal.get(name)
        keys[attname] = _field_doc(spec) if spec else {"personal": False}
    return keys


def _field_doc(spec: PersonalField) -> dict[str, Any]:
    return {
        "personal": True,
        "category": str(CATEGORY_LABELS[spec.category]),
        "purposes": [str(PURPOSE_LABELS[p]) for p in spec.purposes],
        "legal_basis": str(LEGAL_BASIS_LABELS[spec.legal_basis]),
        "retention": str(spec.retention),
        "recipients": list(spec.recipients),
        "source": str(spec.source),
        "on_erasure": str(spec.erasure),
        "legal_hold": (spec.hold.describe() if spec.hold else ""),
    }


def _area_document(area: str, sections: list[dict[str, Any]]) -> dict[str, Any]:
    return {"format_version": FORMAT_VERSION, "area": area, "records": sections}


def _context(
    declarations: list[ModelDeclaration], areas: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    held = {s["model"] for sections in areas.values() for s in sections}
    specs = [spec for d in declarations if d.label in held for spec in d.personal.values()]
    recipients = list(
        Recipient.objects.order_by("name").values(
            "name", "kind", "country", "relationship", "transfer_safeguard"
        )
    )
    return {
        "purposes": sorted({str(PURPOSE_LABELS[p]) for s in specs for p in s.purposes}),
        "legal_bases": sorted({str(LEGAL_BASIS_LABELS[s.legal_basis]) for s in specs}),
        "retention": sorted({str(s.retention) for s in specs}),
        "sources": sorted({str(s.source) for s in specs}),
        "declared_recipients": sorted({r for s in specs for r in s.recipients}),
        "recipients": recipients,
        "international_transfers": [r for r in recipients if r["country"] != "JP"],
        "records_of_provision": "see data/privacy.json, model privacy.ProvisionRecord",
    }


def _write_json(package: zipfile.ZipFile, name: str, document: dict[str, Any]) -> None:
    # No indentation: Python's fast C encoder only runs without it (four times faster on a
    # customer with thousands of records); the HTML index is the readable part.
    package.writestr(name, json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False))

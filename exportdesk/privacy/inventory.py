"""The inventory check and its printable form, from every app's declarations."""

from __future__ import annotations

from typing import Any

from django.apps import apps

from exportdesk.core.personal_data import ModelDeclaration, declarations


def inventory_problems() -> list[str]:
    """Every installed model and each of its concrete fields must be declared, and nothing more."""
    declared = declarations()
    problems: list[str] = []
    seen: set[str] = set()
    for model in apps.get_models(include_auto_created=True):
        label = model._meta.label
        seen.add(label)
        declaration = declared.get(label)
        if declaration is None:
            problems.append(f"{label}: model not declared in any privacy.py")
            continue
        names = {f.name for f in model._meta.concrete_fields}
        covered = set(declaration.personal) | declaration.not_personal
        problems.extend(f"{label}.{name}: field not declared" for name in sorted(names - covered))
        problems.extend(
            f"{label}.{name}: declared but the model has no such field"
            for name in sorted(covered - names)
        )
    problems.extend(
        f"{label}: declared but not an installed model" for label in sorted(set(declared) - seen)
    )
    return problems


def inventory_rows() -> list[dict[str, Any]]:
    """One row per personal-data field, the shape of the record of processing activities."""
    rows: list[dict[str, Any]] = []
    for label, declaration in sorted(declarations().items()):
        rows.extend(_rows_for(label, declaration))
    return rows


def _rows_for(label: str, declaration: ModelDeclaration) -> list[dict[str, Any]]:
    return [
        {
            "model": label,
            "model_description": str(declaration.description),
            "subject_path": declaration.subject,
            "field": name,
            "category": str(spec.category),
            "purposes": [str(p) for p in spec.purposes],
            "legal_basis": str(spec.legal_basis),
            "erasure": str(spec.erasure),
            "legal_hold": (spec.hold.describe() if spec.hold else ""),
            "retention": str(spec.retention),
            "recipients": list(spec.recipients),
            "source": str(spec.source),
        }
        for name, spec in sorted(declaration.personal.items())
    ]

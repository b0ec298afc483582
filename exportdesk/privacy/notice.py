"""The public privacy notice's sections, rendered from the inventory (issue 5 part 8).

"What we collect / why / legal basis / who receives it / how long / your rights" come from the
same declarations and recipient registry as the record of processing activities
(`privacy.ropa`), so the notice cannot promise one thing while the system does another. The
policy page includes `privacy/_notice_sections.html` with `notice_sections()` as context.

Call it while the visitor's language is active: the texts are translated as they are built.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from exportdesk.core.personal_data import (
    CATEGORY_LABELS,
    LEGAL_BASIS_LABELS,
    LegalBasis,
    ModelDeclaration,
    declarations,
)
from exportdesk.privacy.ropa import (
    Activity,
    RecipientEntry,
    hold_text,
    processing_activities,
)

# What each legal basis means for the person, in plain words.
_BASIS_MEANING = {
    LegalBasis.CONTRACT: gettext_lazy(
        "We need it to provide your account and to sell and ship your vehicles."
    ),
    LegalBasis.LEGITIMATE_INTEREST: gettext_lazy(
        "We need it to run the business safely (security, fraud prevention, records of who did "
        "what); you may object."
    ),
    LegalBasis.LEGAL_OBLIGATION: gettext_lazy(
        "The law requires it (tax, customs, export control, privacy law itself)."
    ),
    LegalBasis.CONSENT: gettext_lazy(
        "Only if you agreed; you can withdraw your consent at any time."
    ),
}


def _item(term: Any, details: list[Any]) -> dict[str, Any]:
    return {"term": term, "details": [d for d in details if d]}


def _section(key: str, title: str, intro: list[str], items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": f"notice-{key}", "title": title, "intro": intro, "items": items}


def _records() -> list[ModelDeclaration]:
    found = [d for d in declarations().values() if d.personal]
    return sorted(found, key=lambda d: str(d.description))


def _collect() -> dict[str, Any]:
    items = [
        _item(
            d.description,
            [", ".join(sorted({str(CATEGORY_LABELS[s.category]) for s in d.personal.values()}))],
        )
        for d in _records()
    ]
    intro = [
        _(
            "This list is generated from the system's own register of personal data, so it "
            "always matches what the system actually stores."
        )
    ]
    return _section("collect", _("What we collect"), intro, items)


def _why(activities: list[Activity]) -> dict[str, Any]:
    items = [
        _item(
            a.name,
            [
                _("Data used: %(categories)s") % {"categories": ", ".join(a.data_categories)},
                _("Legal basis: %(bases)s") % {"bases": ", ".join(a.legal_bases)},
            ],
        )
        for a in activities
    ]
    return _section("why", _("Why we use it"), [], items)


def _basis(activities: list[Activity]) -> dict[str, Any]:
    items = []
    for basis in LegalBasis:
        label = str(LEGAL_BASIS_LABELS[basis])
        purposes = [a.name for a in activities if label in a.legal_bases]
        if purposes:
            items.append(_item(label.capitalize(), [str(_BASIS_MEANING[basis]), *purposes]))
    return _section("legal-basis", _("Our legal basis"), [], items)


def _recipient_details(entry: RecipientEntry, purposes: list[str]) -> list[str]:
    details = [", ".join(purposes)]
    if not entry.declared:
        details.append(f"{entry.kind} · {entry.country_name} · {entry.relationship}")
    if entry.abroad:
        safeguard = entry.safeguard or _("no safeguard recorded")
        details.append(_("Transfer outside Japan: %(safeguard)s") % {"safeguard": safeguard})
    return details


def _recipients(activities: list[Activity]) -> dict[str, Any]:
    entries: dict[str, RecipientEntry] = {}
    purposes: dict[str, list[str]] = {}
    for activity in activities:
        for entry in activity.recipients:
            entries.setdefault(entry.name, entry)
            purposes.setdefault(entry.name, []).append(activity.name)
    items = [
        _item(name, _recipient_details(entries[name], purposes[name])) for name in sorted(entries)
    ]
    intro = [
        _(
            "We give your data to others only as listed here, and we record every disclosure: "
            "the Privacy section of My Page shows who received your data, when and what."
        )
    ]
    if not items:
        intro.append(_("At present no one outside our company receives your data."))
    return _section("recipients", _("Who receives it"), intro, items)


def _retention() -> dict[str, Any]:
    items = []
    for declaration in _records():
        specs = declaration.personal.values()
        texts = sorted({str(s.retention) for s in specs})
        holds = {s.hold for s in specs if s.hold is not None}
        if declaration.held_under is not None:
            holds.add(declaration.held_under)
        texts += [_("Kept by law: %(hold)s") % {"hold": hold_text(h)} for h in holds]
        items.append(_item(declaration.description, texts))
    return _section("retention", _("How long we keep it"), [], items)


def _all_holds() -> list[str]:
    holds = set()
    for declaration in declarations().values():
        holds |= {s.hold for s in declaration.personal.values() if s.hold is not None}
        if declaration.held_under is not None:
            holds.add(declaration.held_under)
    return sorted(hold_text(h) for h in holds)


def _rights() -> dict[str, Any]:
    days = getattr(settings, "PRIVACY_REQUEST_DAYS", 30)
    intro = [
        _("You can use each of these rights at no cost. We answer within %(days)d days.")
        % {"days": days},
    ]
    erasure_kept = _(
        "Records the law requires us to keep are kept only for that purpose, and we tell you "
        "what was kept and why:"
    )
    items = [
        _item(
            _("Access"),
            [
                _(
                    "See a copy of all the data we hold about you, with why we hold it, who "
                    "received it and how long we keep it."
                )
            ],
        ),
        _item(_("Correction"), [_("Have wrong or incomplete data corrected.")]),
        _item(
            _("Deletion"),
            [_("Have your account and data deleted."), erasure_kept, *_all_holds()],
        ),
        _item(
            _("Restriction"),
            [
                _(
                    "Have the use of your data restricted: we keep it but do not use it for "
                    "marketing, analytics or new disclosures."
                )
            ],
        ),
        _item(_("Objection"), [_("Object to marketing or analytics; it takes effect at once.")]),
        _item(
            _("Portability"),
            [_("Download your data in a machine-readable format (JSON) to take elsewhere.")],
        ),
        _item(
            _("Withdrawal of consent"),
            [_("Withdraw any consent you gave, at any time, as easily as you gave it.")],
        ),
        _item(
            _("Complaint"),
            [
                _(
                    "Complain to Japan's Personal Information Protection Commission (PPC), or to "
                    "the data protection authority of the EU country where you live or work."
                )
            ],
        ),
    ]
    return _section("rights", _("Your rights"), intro, items)


def notice_sections() -> list[dict[str, Any]]:
    """The notice's sections in reading order: each has an id, a title, intro paragraphs and
    items (a term and its details)."""
    activities = processing_activities()
    # Why and on which basis: only what declared fields are used for.
    declared = [a for a in activities if a.data_categories]
    return [
        _collect(),
        _why(declared),
        _basis(declared),
        _recipients(activities),
        _retention(),
        _rights(),
    ]

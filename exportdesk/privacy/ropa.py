"""The record of processing activities (GDPR Art. 30), derived from the inventory.

One activity per purpose: what is processed for it, on which legal basis, about whom, who
receives it (declared recipients and the recipient registry), which transfers leave Japan, how
long it is kept, and how it is protected. Nothing here is typed by hand except the security
measures, which describe what this system really does; everything else follows the
declarations, so the record cannot drift from the code.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django_countries import countries

from exportdesk.core.personal_data import (
    CATEGORY_LABELS,
    LEGAL_BASIS_LABELS,
    PURPOSE_LABELS,
    LegalHold,
    ModelDeclaration,
    PersonalField,
    Purpose,
    Text,
    declarations,
)
from exportdesk.privacy.models import Recipient

# The exporter is in Japan: a recipient elsewhere means an international transfer.
HOME_COUNTRY = "JP"

SECURITY_MEASURES: tuple[Text, ...] = (
    gettext_lazy(
        "An append-only audit log of staff access to personal data and of every privacy action, "
        "hash-chained so that any change or deletion is detectable (manage.py verify_audit)."
    ),
    gettext_lazy(
        "Uploaded and generated files (transfer slips, documents, data exports) are kept in "
        "private storage and served only after a permission check."
    ),
    gettext_lazy(
        "Staff sign in with a password and a second factor (authenticator-app codes, which "
        "cannot be replayed); passwords are stored as Argon2 hashes and failed sign-ins are "
        "throttled."
    ),
    gettext_lazy(
        "In production: HTTPS only with HSTS, secure and HTTP-only cookies, and a content "
        "security policy."
    ),
    gettext_lazy(
        "Role permissions: each staff role reaches only its own desks, and customers see only "
        "their own records."
    ),
    gettext_lazy(
        "A register of every stored field; the test suite fails when a field has no declared "
        "purpose, legal basis and retention."
    ),
)

# Which purposes each kind of registered recipient serves. IT and cloud processors host
# everything, so they serve every purpose.
_KIND_PURPOSES: dict[str, tuple[Purpose, ...]] = {
    Recipient.Kind.SHIPPING_LINE: (Purpose.SHIPPING,),
    Recipient.Kind.FORWARDER: (Purpose.SHIPPING,),
    Recipient.Kind.CUSTOMS_BROKER: (Purpose.SHIPPING, Purpose.LEGAL_COMPLIANCE),
    Recipient.Kind.INSPECTION_AGENCY: (Purpose.SHIPPING, Purpose.LEGAL_COMPLIANCE),
    Recipient.Kind.BANK: (Purpose.PAYMENTS,),
    Recipient.Kind.AUCTION_HOUSE: (Purpose.SALES,),
    Recipient.Kind.ADVISER: (Purpose.LEGAL_COMPLIANCE,),
    Recipient.Kind.PROCESSOR: tuple(Purpose),
    Recipient.Kind.COURIER: (Purpose.SHIPPING,),
}

SUBJECTS_WITH_ACCOUNT = gettext_lazy("people with an account (customers and staff)")
SUBJECTS_BY_EMAIL = gettext_lazy(
    "people who contact us without an account (inquiries, privacy requests)"
)
SUBJECTS_OTHER = gettext_lazy("site visitors and other people named in our records")


@dataclass
class RecipientEntry:
    name: str
    kind: str
    country: str
    country_name: str
    relationship: str
    safeguard: str
    declared: bool = False  # named in a declaration rather than the registry

    @property
    def abroad(self) -> bool:
        return bool(self.country) and self.country != HOME_COUNTRY


@dataclass
class Activity:
    purpose: str
    name: str
    legal_bases: list[str] = field(default_factory=list)
    subject_categories: list[str] = field(default_factory=list)
    data_categories: list[str] = field(default_factory=list)
    records: list[str] = field(default_factory=list)
    recipients: list[RecipientEntry] = field(default_factory=list)
    transfers: list[str] = field(default_factory=list)
    retention: list[str] = field(default_factory=list)
    legal_holds: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


def hold_text(hold: LegalHold) -> str:
    return _("%(name)s: %(statute)s, %(years)d years from %(starts)s") % {
        "name": hold.name,
        "statute": hold.statute,
        "years": hold.years,
        "starts": hold.starts,
    }


def subject_category(declaration: ModelDeclaration) -> str:
    if declaration.subject is not None:
        return str(SUBJECTS_WITH_ACCOUNT)
    return str(SUBJECTS_OTHER)


def _subject_categories(declaration: ModelDeclaration) -> set[str]:
    found = {subject_category(declaration)}
    if declaration.subject_email is not None:
        found.add(str(SUBJECTS_BY_EMAIL))
    return found


def registry_recipients() -> list[RecipientEntry]:
    return [
        RecipientEntry(
            name=r.name,
            kind=str(r.get_kind_display()),
            country=r.country,
            country_name=str(countries.name(r.country) or r.country),
            relationship=str(r.get_relationship_display()),
            safeguard=r.transfer_safeguard,
        )
        for r in Recipient.objects.filter(is_active=True).order_by("name")
    ]


def _registry_by_purpose() -> dict[Purpose, list[RecipientEntry]]:
    by_purpose: dict[Purpose, list[RecipientEntry]] = {p: [] for p in Purpose}
    kinds = {r.name: r.kind for r in Recipient.objects.filter(is_active=True)}
    for entry in registry_recipients():
        for purpose in _KIND_PURPOSES.get(kinds[entry.name], ()):
            by_purpose[purpose].append(entry)
    return by_purpose


def _declared_recipient(name: str) -> RecipientEntry:
    return RecipientEntry(
        name=name,
        kind="",
        country="",
        country_name="",
        relationship="",
        safeguard="",
        declared=True,
    )


def _fields_by_purpose() -> dict[Purpose, list[tuple[ModelDeclaration, PersonalField]]]:
    found: dict[Purpose, list[tuple[ModelDeclaration, PersonalField]]] = {p: [] for p in Purpose}
    for _label, declaration in sorted(declarations().items()):
        for spec in declaration.personal.values():
            for purpose in spec.purposes:
                found[purpose].append((declaration, spec))
    return found


def _sorted_texts(values: Iterable[object]) -> list[str]:
    return sorted({str(v) for v in values})


def _transfer_text(entry: RecipientEntry) -> str:
    safeguard = entry.safeguard or _("no safeguard recorded")
    return _("%(name)s (%(country)s): %(safeguard)s") % {
        "name": entry.name,
        "country": entry.country_name,
        "safeguard": safeguard,
    }


def _holds(uses: list[tuple[ModelDeclaration, PersonalField]]) -> set[LegalHold]:
    """Holds of single fields, and of whole rows kept under a hold (a confirmed payment)."""
    holds = {spec.hold for _d, spec in uses if spec.hold is not None}
    return holds | {d.held_under for d, _s in uses if d.held_under is not None}


def _activity(
    purpose: Purpose,
    uses: list[tuple[ModelDeclaration, PersonalField]],
    registered: list[RecipientEntry],
) -> Activity:
    specs = [spec for _d, spec in uses]
    declared = _sorted_texts(name for spec in specs for name in spec.recipients)
    recipients = [_declared_recipient(name) for name in declared] + registered
    return Activity(
        purpose=purpose.value,
        name=str(PURPOSE_LABELS[purpose]),
        legal_bases=_sorted_texts(LEGAL_BASIS_LABELS[s.legal_basis] for s in specs),
        subject_categories=sorted({c for d, _s in uses for c in _subject_categories(d)}),
        data_categories=_sorted_texts(CATEGORY_LABELS[s.category] for s in specs),
        records=_sorted_texts(d.description for d, _s in uses),
        recipients=recipients,
        transfers=[_transfer_text(r) for r in registered if r.abroad],
        retention=_sorted_texts(s.retention for s in specs),
        legal_holds=_sorted_texts(hold_text(h) for h in _holds(uses)),
        sources=_sorted_texts(s.source for s in specs),
    )


def processing_activities() -> list[Activity]:
    """Every purpose some declared field or registered recipient serves, in the vocabulary's
    order. A purpose only a recipient serves (a shipping line before any shipping record is
    declared) still gets its activity: the record must show where data goes, and the empty
    categories point at the missing declarations."""
    uses = _fields_by_purpose()
    registered = _registry_by_purpose()
    return [_activity(p, uses[p], registered[p]) for p in Purpose if uses[p] or registered[p]]


# --- the three formats ----------------------------------------------------------------------------


def ropa_document() -> dict[str, Any]:
    return {
        "controller": settings.SITE_NAME,
        "generated_at": timezone.now().isoformat(timespec="seconds"),
        "activities": [asdict(a) for a in processing_activities()],
        "recipients": [asdict(r) for r in registry_recipients()],
        "security_measures": [str(m) for m in SECURITY_MEASURES],
    }


def ropa_json() -> str:
    return json.dumps(ropa_document(), indent=2, ensure_ascii=False) + "\n"


CSV_COLUMNS = (
    "purpose",
    "name",
    "legal_bases",
    "subject_categories",
    "data_categories",
    "records",
    "recipients",
    "transfers",
    "retention",
    "legal_holds",
    "sources",
    "security_measures",
)


def _recipient_text(entry: RecipientEntry) -> str:
    if entry.declared:
        return entry.name
    return f"{entry.name} ({entry.kind}, {entry.country_name}, {entry.relationship})"


def _registry_text(entry: RecipientEntry) -> str:
    text = _recipient_text(entry)
    if entry.abroad:
        return f"{text}: {entry.safeguard or _('no safeguard recorded')}"
    return text


def ropa_csv() -> str:
    """One row per activity; lists are joined with "; " so a spreadsheet shows one cell each."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    measures = "; ".join(str(m) for m in SECURITY_MEASURES)
    for activity in processing_activities():
        row = {k: v for k, v in asdict(activity).items() if k != "recipients"}
        row = {k: "; ".join(v) if isinstance(v, list) else v for k, v in row.items()}
        row["recipients"] = "; ".join(_recipient_text(r) for r in activity.recipients)
        writer.writerow({**row, "security_measures": measures})
    return out.getvalue()


def _items(values: list[str]) -> SafeString:
    if not values:
        return format_html('<span class="none">{}</span>', _("none"))
    return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((v,) for v in values)))


def _activity_html(activity: Activity) -> SafeString:
    rows = [
        (_("Legal basis"), _items(activity.legal_bases)),
        (_("Categories of people"), _items(activity.subject_categories)),
        (_("Categories of data"), _items(activity.data_categories)),
        (_("Records"), _items(activity.records)),
        (_("Recipients"), _items([_recipient_text(r) for r in activity.recipients])),
        (_("Transfers outside Japan"), _items(activity.transfers)),
        (_("Retention"), _items(activity.retention)),
        (_("Legal holds"), _items(activity.legal_holds)),
        (_("Sources"), _items(activity.sources)),
    ]
    return format_html(
        '<section id="{}"><h2>{}</h2><table>{}</table></section>',
        f"purpose-{activity.purpose}",
        activity.name,
        format_html_join("", '<tr><th scope="row">{}</th><td>{}</td></tr>', rows),
    )


def ropa_html() -> str:
    title = _("Record of processing activities")
    activities = format_html_join(
        "\n", "{}", ((_activity_html(a),) for a in processing_activities())
    )
    measures = _items([str(m) for m in SECURITY_MEASURES])
    recipients = _items([_registry_text(r) for r in registry_recipients()])
    return str(
        format_html(
            '<!doctype html>\n<html lang="{}"><head><meta charset="utf-8"><title>{}</title></head>'
            "<body><h1>{}</h1><p>{}: {} · {}: {}</p>\n{}\n<h2>{}</h2>{}<h2>{}</h2>{}</body></html>\n",
            get_language() or settings.LANGUAGE_CODE,
            title,
            title,
            _("Controller"),
            settings.SITE_NAME,
            _("Generated"),
            timezone.localtime().strftime("%Y-%m-%d %H:%M %Z"),
            activities,
            _("Recipient registry"),
            recipients,
            _("Security measures"),
            measures,
        )
    )


RENDERERS = {"json": ropa_json, "csv": ropa_csv, "html": ropa_html}

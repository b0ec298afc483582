"""The personal-data inventory: what each model holds about people, and why (DESIGN.md §4).

Each app declares its models in its own `privacy.py`; the privacy app discovers those modules
and derives the inventory check, access exports, erasure plans and notices from them. This
module only holds the vocabulary and the registry, so every app may import it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class DataCategory(StrEnum):
    IDENTITY = "identity"
    CONTACT = "contact"
    FINANCIAL = "financial"
    IDENTIFICATION_DOCUMENT = "identification_document"
    TRANSACTION = "transaction"
    COMMUNICATION = "communication"
    TECHNICAL = "technical"
    PREFERENCE = "preference"


class LegalBasis(StrEnum):
    CONTRACT = "contract"
    LEGITIMATE_INTEREST = "legitimate_interest"
    LEGAL_OBLIGATION = "legal_obligation"
    CONSENT = "consent"


class ErasureAction(StrEnum):
    DELETE = "delete"  # the value (or the row) goes
    ANONYMISE = "anonymise"  # replaced by a stable pseudonym or blanked; the row stays
    HOLD = "hold"  # kept unchanged under a named legal hold, restricted to the legal purpose


class Purpose(StrEnum):
    ACCOUNT = "account"
    SECURITY = "security"
    SALES = "sales"
    PAYMENTS = "payments"
    SHIPPING = "shipping"
    LEGAL_COMPLIANCE = "legal_compliance"
    CUSTOMER_SUPPORT = "customer_support"
    PREFERENCES = "preferences"
    CONSENT_PROOF = "consent_proof"
    ACCOUNTABILITY = "accountability"
    MARKETING = "marketing"
    ANALYTICS = "analytics"


# Text shown to people: a plain string or a lazily translated one.
Text = str | Promise

CATEGORY_LABELS: dict[DataCategory, Promise] = {
    DataCategory.IDENTITY: _("identity"),
    DataCategory.CONTACT: _("contact details"),
    DataCategory.FINANCIAL: _("financial"),
    DataCategory.IDENTIFICATION_DOCUMENT: _("identification documents"),
    DataCategory.TRANSACTION: _("transactions"),
    DataCategory.COMMUNICATION: _("communications"),
    DataCategory.TECHNICAL: _("technical"),
    DataCategory.PREFERENCE: _("preferences and choices"),
}

LEGAL_BASIS_LABELS: dict[LegalBasis, Promise] = {
    LegalBasis.CONTRACT: _("contract"),
    LegalBasis.LEGITIMATE_INTEREST: _("legitimate interest"),
    LegalBasis.LEGAL_OBLIGATION: _("legal obligation"),
    LegalBasis.CONSENT: _("consent"),
}

PURPOSE_LABELS: dict[Purpose, Promise] = {
    Purpose.ACCOUNT: _("Providing and managing your account"),
    Purpose.SECURITY: _("Keeping accounts and the site secure, preventing fraud"),
    Purpose.SALES: _("Answering inquiries, quoting and selling vehicles"),
    Purpose.PAYMENTS: _("Receiving, confirming and refunding payments"),
    Purpose.SHIPPING: _("Shipping vehicles and their export documents"),
    Purpose.LEGAL_COMPLIANCE: _("Meeting legal duties (tax, customs, export control)"),
    Purpose.CUSTOMER_SUPPORT: _("Answering your questions and requests"),
    Purpose.PREFERENCES: _("Remembering your choices, such as language"),
    Purpose.CONSENT_PROOF: _("Proving which choices you made about your data"),
    Purpose.ACCOUNTABILITY: _("Keeping a tamper-evident record of who did what"),
    Purpose.MARKETING: _("Sending offers you agreed to receive"),
    Purpose.ANALYTICS: _("Understanding how the site is used, with your consent"),
}


@dataclass(frozen=True)
class LegalHold:
    """A law that requires keeping a record; it beats an erasure request until it ends."""

    # Shown to the person whose data is kept, in their language.
    name: Text
    statute: Text
    years: int
    starts: Text  # what the period counts from
    # Accounting books count from the end of the fiscal year the record belongs to.
    from_fiscal_year_end: bool = False

    def describe(self) -> str:
        """ "accounting records: Corporation Tax Act (Japan), 7 years from the end of the fiscal
        year", in the current language."""
        return gettext("%(name)s: %(statute)s, %(years)s years from %(starts)s") % {
            "name": self.name,
            "statute": self.statute,
            "years": self.years,
            "starts": self.starts,
        }


ACCOUNTING_HOLD = LegalHold(
    _("accounting records"),
    _("Corporation Tax Act (Japan)"),
    7,
    _("the end of the fiscal year"),
    from_fiscal_year_end=True,
)
EXPORT_HOLD = LegalHold(_("export records"), _("Customs Act (Japan)"), 5, _("the export permit"))
PROVISION_RECORD_HOLD = LegalHold(
    _("records of provision to third parties"), _("APPI Art. 29 (Japan)"), 3, _("the provision")
)
RECEIPT_RECORD_HOLD = LegalHold(
    _("records of receipt from third parties"), _("APPI Art. 30 (Japan)"), 3, _("the receipt")
)
REQUEST_PROOF_HOLD = LegalHold(
    _("proof of how a privacy request was handled"),
    _("GDPR Art. 5(2) and APPI Art. 37 (accountability)"),
    3,
    _("the request's completion"),
)
BREACH_RECORD_HOLD = LegalHold(
    _("breach records"), _("GDPR Art. 33(5); APPI Art. 26 (Japan)"), 3, _("the breach")
)
DISPUTE_HOLD = LegalHold(
    _("open disputes and claims"),
    _("Civil Code limitation periods (Japan)"),
    5,
    _("the dispute's closure"),
)


class ExpiryAction(StrEnum):
    DELETE = "delete"  # the rows go
    ANONYMISE = "anonymise"  # the rows stay; their fields' erasure actions are applied


@dataclass(frozen=True)
class Expiry:
    """A retention rule the daily sweep carries out: rows past their period are deleted or
    anonymised.

    The period is `settings.PRIVACY_RETENTION[setting]` (e.g. "3y", "90d"), so an exporter can
    change it without touching code; several models may share one setting (all accounting books).
    """

    setting: str
    # The date the period counts from; rows without one never expire under this rule.
    date_path: str
    action: ExpiryAction
    # Only rows matching this condition (an inquiry from someone without an account).
    when: Q | None = None
    # Count from the latest date among the rows sharing this field's value (the last contact
    # from one address), so an old message stays while the conversation goes on.
    latest_per: str | None = None
    # Count from the end of the fiscal year the date falls in (settings.FISCAL_YEAR_START_MONTH).
    from_fiscal_year_end: bool = False
    # Values set along with the action (an export whose file is deleted becomes "expired").
    mark: tuple[tuple[str, Any], ...] = ()
    # Dotted path of `f(now=...) -> int` that carries the rule out instead of the sweep, for
    # records whose owner keeps their own purge (records of provision).
    performed_by: str | None = None


@dataclass(frozen=True)
class KeptWhile:
    """No clock of its own: kept as long as something else lasts, and erased with it."""

    reason: Text


KEPT_WITH_ACCOUNT = KeptWhile(_("kept for the life of the account and erased with it"))


@dataclass(frozen=True)
class PersonalField:
    category: DataCategory
    purposes: tuple[Purpose, ...]
    legal_basis: LegalBasis
    erasure: ErasureAction
    retention: Text
    recipients: tuple[str, ...] = ()
    source: Text = "the person"
    hold: LegalHold | None = None

    def __post_init__(self) -> None:
        if (self.erasure is ErasureAction.HOLD) != (self.hold is not None):
            raise ValueError("a field is kept under a legal hold exactly when it names that hold")
        if not self.purposes:
            raise ValueError("a personal-data field needs at least one purpose")


@dataclass(frozen=True)
class ModelDeclaration:
    model: type[models.Model]
    description: Text
    # Path from this model to the user it is about ("" for the user model itself, None when the
    # model holds no personal data or its subject is not a user of the site).
    subject: str | None
    personal: dict[str, PersonalField] = field(default_factory=dict)
    not_personal: frozenset[str] = frozenset()
    # Path to an e-mail address that identifies the subject when there is no account (a visitor's
    # inquiry); a user's own rows are also found by it.
    subject_email: str | None = None
    # Path to the date a legal hold's period counts from (the date of the record); without one,
    # a held row is kept for as long as the records that refer to it.
    held_from: str | None = None
    # Rows matching this condition are kept whole under `held_under` (a confirmed payment
    # declaration becomes part of the books); other rows follow their fields' erasure actions.
    held_when: Q | None = None
    held_under: LegalHold | None = None
    # When the rows go without anyone asking: retention rules, or what they are kept for.
    expiry: tuple[Expiry | KeptWhile, ...] = ()

    @property
    def label(self) -> str:
        return self.model._meta.label

    @property
    def expiry_rules(self) -> tuple[Expiry, ...]:
        return tuple(rule for rule in self.expiry if isinstance(rule, Expiry))


_registry: dict[str, ModelDeclaration] = {}


def declare(
    model: type[models.Model],
    *,
    description: Text,
    subject: str | None,
    personal: dict[str, PersonalField],
    not_personal: Iterable[str] = (),
    subject_email: str | None = None,
    held_from: str | None = None,
    held_when: Q | None = None,
    held_under: LegalHold | None = None,
    expiry: Expiry | KeptWhile | Iterable[Expiry | KeptWhile] = (),
) -> None:
    """Declare a model that holds personal data, field by field."""
    overlap = set(personal) & set(not_personal)
    if overlap:
        raise ValueError(f"{model._meta.label}: {sorted(overlap)} declared both ways")
    _registry[model._meta.label] = ModelDeclaration(
        model=model,
        description=description,
        subject=subject,
        personal=dict(personal),
        not_personal=frozenset(not_personal),
        subject_email=subject_email,
        held_from=held_from,
        held_when=held_when,
        held_under=held_under,
        expiry=(expiry,) if isinstance(expiry, Expiry | KeptWhile) else tuple(expiry),
    )


def declare_no_personal_data(model: type[models.Model], *, description: Text) -> None:
    """Declare a model whose fields are all free of personal data."""
    _registry[model._meta.label] = ModelDeclaration(
        model=model,
        description=description,
        subject=None,
        not_personal=frozenset(f.name for f in model._meta.concrete_fields),
    )


def declarations() -> dict[str, ModelDeclaration]:
    return dict(_registry)


# What an app still owes a person or owes to finish with them (unspent money, an order not
# delivered, a bid at auction): the privacy app cannot look into the apps above it, so each
# registers a check here. `check(user_ids)` answers {user id: [reasons, in the person's terms]}.
ObligationCheck = Callable[[list[int]], dict[int, list[str]]]
_obligation_checks: list[ObligationCheck] = []


def declare_open_obligations(check: ObligationCheck) -> None:
    if check not in _obligation_checks:
        _obligation_checks.append(check)


def open_obligations(user_ids: Iterable[int]) -> dict[int, list[str]]:
    """Everything the registered apps still have open with these people."""
    ids = list(user_ids)
    found: dict[int, list[str]] = {}
    for check in _obligation_checks:
        for user_id, reasons in check(ids).items():
            found.setdefault(user_id, []).extend(reasons)
    return found

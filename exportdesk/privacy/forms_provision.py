"""Forms of the recipient registry and of manual records of provision and receipt (staff)."""

from __future__ import annotations

import datetime
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from exportdesk.accounts.models import User
from exportdesk.core.forms import NoLabelSuffix
from exportdesk.core.personal_data import LEGAL_BASIS_LABELS
from exportdesk.privacy.models import Recipient
from exportdesk.privacy.provision import customer_find, recipient_check


def _country_choices() -> list[tuple[str, str]]:
    return [("", "---------"), *((str(c.code), str(c.name)) for c in countries)]


class RecipientForm(NoLabelSuffix, forms.ModelForm):
    country = forms.ChoiceField(label=_("Country"), choices=_country_choices)

    class Meta:
        model = Recipient
        fields = [
            "name",
            "kind",
            "country",
            "relationship",
            "transfer_safeguard",
            "contact",
            "is_active",
        ]
        labels = {
            "name": _("Name"),
            "kind": _("Kind"),
            "relationship": _("Relationship"),
            "transfer_safeguard": _("Transfer safeguard"),
            "contact": _("Contact"),
            "is_active": _("Active (may receive data)"),
        }
        help_texts = {
            "transfer_safeguard": _(
                "Required outside Japan: the adequacy decision, contract clauses or consent "
                "that makes the transfer lawful."
            ),
            "contact": _(
                "Where notices of erasure or correction go; an e-mail address gets them at once."
            ),
        }
        widgets = {"transfer_safeguard": forms.Textarea(attrs={"rows": 3})}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        try:
            recipient_check(
                country=cleaned.get("country") or "",
                transfer_safeguard=cleaned.get("transfer_safeguard") or "",
            )
        except ValidationError as error:
            self.add_error(None, error)
        return cleaned


def _basis_choices() -> list[tuple[str, Any]]:
    return [
        ("", "---------"),
        *((basis.value, label) for basis, label in LEGAL_BASIS_LABELS.items()),
    ]


def _items(text: str) -> list[str]:
    return [item for item in (part.strip() for part in re.split(r"[,\n]", text)) if item]


class _SubjectForm(NoLabelSuffix, forms.Form):
    """Who the data is about: a customer, or a person without an account."""

    customer = forms.CharField(
        label=_("Customer"),
        required=False,
        max_length=254,
        help_text=_('E-mail address or customer number, e.g. "C000042".'),
    )
    subject_name = forms.CharField(
        label=_("Or: name of a person without an account"), required=False, max_length=200
    )
    subject_email = forms.EmailField(
        label=_("Their e-mail address"), required=False, max_length=254
    )
    data_items = forms.CharField(
        label=_("Data items"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line or separated by commas, e.g. name, address, passport number."),
    )

    def clean_customer(self) -> User | None:
        text = str(self.cleaned_data.get("customer") or "").strip()
        if not text:
            return None
        found = customer_find(text)
        if found is None:
            raise ValidationError(_("No customer has that e-mail address or customer number."))
        return found

    def clean_data_items(self) -> list[str]:
        items = _items(str(self.cleaned_data.get("data_items") or ""))
        if not items:
            raise ValidationError(_("Name at least one item of data."))
        return items

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        customer = cleaned.get("customer")
        named = bool(cleaned.get("subject_name") or cleaned.get("subject_email"))
        if customer is not None and named:
            self.add_error(
                "customer",
                _("Choose a customer or name someone without an account, not both."),
            )
        elif customer is None and not named and "customer" not in self.errors:
            self.add_error(
                "customer",
                _(
                    "Name the person: a customer, or the name or e-mail of someone without an account."
                ),
            )
        return cleaned


def _moment(day: datetime.date) -> datetime.datetime:
    """Today means now; an earlier day is recorded at noon, so it reads as that day anywhere."""
    if day == timezone.localdate():
        return timezone.now()
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))


def _not_future(day: datetime.date) -> datetime.date:
    if day > timezone.localdate():
        raise ValidationError(_("The date cannot be in the future."))
    return day


class ProvisionForm(_SubjectForm):
    field_order = [
        "customer",
        "subject_name",
        "subject_email",
        "recipient",
        "data_items",
        "legal_basis",
        "consent_reference",
        "purpose",
        "provided_at",
    ]

    recipient = forms.ModelChoiceField(
        label=_("Recipient"), queryset=Recipient.objects.filter(is_active=True).order_by("name")
    )
    legal_basis = forms.ChoiceField(label=_("Legal basis"), choices=_basis_choices)
    consent_reference = forms.CharField(
        label=_("Consent reference"),
        required=False,
        max_length=100,
        help_text=_("Required when the basis is consent: where the consent is recorded."),
    )
    purpose = forms.CharField(label=_("Purpose"), required=False, max_length=200)
    provided_at = forms.DateField(
        label=_("Date given"),
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean_provided_at(self) -> datetime.datetime:
        return _moment(_not_future(self.cleaned_data["provided_at"]))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("legal_basis") == "consent" and not cleaned.get("consent_reference"):
            self.add_error(
                "consent_reference",
                _("A disclosure based on consent needs the reference of that consent."),
            )
        return cleaned


class ReceiptForm(_SubjectForm):
    field_order = [
        "provider_name",
        "provider_address",
        "how_obtained",
        "customer",
        "subject_name",
        "subject_email",
        "data_items",
        "received_at",
    ]

    provider_name = forms.CharField(label=_("Provided by"), max_length=200)
    provider_address = forms.CharField(
        label=_("Provider's address"), required=False, max_length=300
    )
    how_obtained = forms.CharField(
        label=_("How the provider obtained the data"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    received_at = forms.DateField(
        label=_("Date received"),
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean_received_at(self) -> datetime.datetime:
        return _moment(_not_future(self.cleaned_data["received_at"]))


class ProvisionFilterForm(NoLabelSuffix, forms.Form):
    recipient = forms.ModelChoiceField(
        label=_("Recipient"), queryset=Recipient.objects.order_by("name"), required=False
    )
    subject = forms.CharField(label=_("Person"), required=False, max_length=254)


class ReceiptFilterForm(NoLabelSuffix, forms.Form):
    provider = forms.CharField(label=_("Provided by"), required=False, max_length=200)
    subject = forms.CharField(label=_("Person"), required=False, max_length=254)

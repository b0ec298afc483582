from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from exportdesk.accounts.models import User, normalise_email
from exportdesk.core.forms import NoLabelSuffix
from exportdesk.core.money import UnknownCurrency, currency_check
from exportdesk.sales.models import BankAccount, Incoterm
from exportdesk.sales.services import ExtraCharge
from exportdesk.stock.models import Port, ShippingMethod, Vehicle


class InquiryForm(NoLabelSuffix, forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=150)
    email = forms.EmailField(label=_("E-mail address"))
    country = forms.ChoiceField(label=_("Country"), choices=lambda: [("", "—"), *countries])
    port = forms.ModelChoiceField(
        label=_("Destination port"),
        queryset=Port.objects.all(),
        required=False,
        empty_label=_("Not sure yet"),
    )
    message = forms.CharField(
        label=_("Message"), max_length=4000, widget=forms.Textarea(attrs={"rows": 5})
    )
    # A field people never see (hidden by CSS and labelled for screen readers): bots fill it in.
    website = forms.CharField(label=_("Leave this field empty"), required=False)

    def clean_website(self) -> str:
        value: str = self.cleaned_data.get("website", "")
        if value:
            raise forms.ValidationError(_("This field must be left empty."), code="honeypot")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        port, country = cleaned.get("port"), cleaned.get("country")
        if port is not None and country and port.country.code != country:
            self.add_error("port", _("That port is not in the country you chose."))
        return cleaned


class ReplyForm(NoLabelSuffix, forms.Form):
    body = forms.CharField(
        label=_("Reply"), max_length=8000, widget=forms.Textarea(attrs={"rows": 8})
    )


class ProformaForm(NoLabelSuffix, forms.Form):
    """Staff issue a proforma: who, which cars, which terms; prices come from the stock tables."""

    customer_email = forms.EmailField(label=_("Customer's e-mail address"))
    stock_numbers = forms.CharField(
        label=_("Stock numbers"),
        max_length=500,
        help_text=_("One or more, separated by spaces or commas"),
    )
    incoterm = forms.ChoiceField(label=_("Terms"), choices=Incoterm.choices)
    destination_country = forms.ChoiceField(
        label=_("Destination country"), choices=lambda: [("", "—"), *countries]
    )
    port = forms.ModelChoiceField(
        label=_("Port of discharge"),
        queryset=Port.objects.order_by("country", "name"),
        required=False,
        help_text=_("Needed for C&F and CIF"),
    )
    method = forms.ChoiceField(
        label=_("Shipping method"), choices=ShippingMethod.choices, initial=ShippingMethod.RORO
    )
    bank_account = forms.ModelChoiceField(
        label=_("Bank account for payment"),
        queryset=BankAccount.objects.filter(is_active=True),
        help_text=_("The proforma is in this account's currency"),
    )
    extra_charges = forms.CharField(
        label=_("Other charges"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line: description = amount, e.g. Radiator guard = 150"),
    )
    due_date = forms.DateField(
        label=_("Due date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty: the default number of business days from today"),
    )
    notes = forms.CharField(
        label=_("Notes on the proforma"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_customer_email(self) -> User:
        email = normalise_email(self.cleaned_data["customer_email"])
        customer = User.objects.filter(email=email, is_staff=False, is_active=True).first()
        if customer is None:
            raise forms.ValidationError(_("No active customer account has this address."))
        return customer

    def clean_stock_numbers(self) -> list[Vehicle]:
        numbers = [n for n in re.split(r"[\s,;]+", self.cleaned_data["stock_numbers"].upper()) if n]
        if len(numbers) > 20:
            raise forms.ValidationError(_("At most 20 vehicles on one proforma."))
        found = {v.stock_number: v for v in Vehicle.objects.filter(stock_number__in=numbers)}
        unknown = [n for n in numbers if n not in found]
        if unknown:
            raise forms.ValidationError(
                _("Unknown stock numbers: %(list)s") % {"list": ", ".join(unknown)}
            )
        return [found[n] for n in dict.fromkeys(numbers)]

    def clean_extra_charges(self) -> list[ExtraCharge]:
        charges = []
        for number, line in enumerate(self.cleaned_data["extra_charges"].splitlines(), start=1):
            if not line.strip():
                continue
            description, _sep, amount = line.rpartition("=")
            try:
                value = Decimal(amount.strip().replace(",", ""))
            except InvalidOperation:
                value = Decimal(-1)
            if not description.strip() or not value.is_finite() or value <= 0:
                raise forms.ValidationError(
                    _("Line %(number)s: write it as description = amount (more than zero).")
                    % {"number": number}
                )
            charges.append(ExtraCharge(description.strip(), value))
        return charges


class BankAccountForm(NoLabelSuffix, forms.ModelForm):
    class Meta:
        model = BankAccount
        fields = [
            "code",
            "bank_name",
            "branch_name",
            "bank_address",
            "swift_bic",
            "account_number",
            "iban",
            "account_holder",
            "currency",
            "statement_identification",
            "is_active",
        ]

    def clean_currency(self) -> str:
        try:
            return currency_check(self.cleaned_data["currency"])
        except UnknownCurrency as exc:
            raise forms.ValidationError(str(exc)) from exc

    def validate_unique(self) -> None:
        # The code is checked only for new accounts; the change applies after approval.
        if self.instance.pk is None:
            super().validate_unique()


class DecisionForm(NoLabelSuffix, forms.Form):
    reason = forms.CharField(
        label=_("Reason (shown in the audit log)"), required=False, max_length=300
    )


class VerifyForm(NoLabelSuffix, forms.Form):
    code = forms.CharField(
        label=_("Verification code"),
        max_length=30,
        help_text=_("Printed under the QR code, e.g. ABCD-EFGH-JKMN"),
    )

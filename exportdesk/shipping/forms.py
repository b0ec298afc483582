"""Forms of the address book, the consignee choice, shipping notices and change decisions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from exportdesk.accounts.models import User
from exportdesk.core.forms import NoLabelSuffix
from exportdesk.shipping.models import Party, Shipment
from exportdesk.shipping.parties import (
    PartyDraft,
    id_number_explained,
    id_number_problem,
    parties_for,
)


class PartyForm(NoLabelSuffix, forms.ModelForm):
    class Meta:
        model = Party
        fields = ["role", "name", "company", "address", "country", "phone", "email", "id_number"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}
        labels = {"role": _("This entry is a")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["id_number"].help_text = id_number_explained()
        self.fields["phone"].help_text = _("With the country code, e.g. +254 712 345678")
        self.fields["email"].help_text = _("The shipping line may send the arrival notice here")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if {"role", "country"} <= data.keys():
            problem = id_number_problem(
                role=data["role"],
                country=str(data["country"]),
                id_number=data.get("id_number", ""),
            )
            if problem:
                self.add_error("id_number", problem)
        return data

    def draft(self) -> PartyDraft:
        data = self.cleaned_data
        return PartyDraft(
            role=data["role"],
            name=data["name"],
            company=data["company"],
            address=data["address"],
            country=str(data["country"]),
            phone=data["phone"],
            email=data["email"],
            id_number=data["id_number"],
        )


class PartyField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Party) -> str:
        place = f"{obj.company}, " if obj.company else ""
        return f"{obj.name} ({place}{obj.country.name})"


class PartiesChoiceForm(NoLabelSuffix, forms.Form):
    consignee = PartyField(label=_("Consignee"), queryset=Party.objects.none())
    notify = PartyField(
        label=_("Notify party"),
        queryset=Party.objects.none(),
        required=False,
        empty_label=_("None"),
        help_text=_("Someone the shipping line tells when the car arrives, e.g. your agent"),
    )

    def __init__(self, *args: Any, customer: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        consignee, notify = self.fields["consignee"], self.fields["notify"]
        assert isinstance(consignee, PartyField) and isinstance(notify, PartyField)
        consignee.queryset = parties_for(customer, role=Party.Role.CONSIGNEE)
        notify.queryset = parties_for(customer, role=Party.Role.NOTIFY)


class NoticesForm(NoLabelSuffix, forms.Form):
    statuses = forms.MultipleChoiceField(
        label=_("E-mail me when my car is"),
        choices=Shipment.Status.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


class ChangeDecisionForm(NoLabelSuffix, forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", _("Approve")), ("reject", _("Reject"))],
        widget=forms.HiddenInput,
        error_messages={"required": _("Choose approve or reject.")},
    )
    reason = forms.CharField(
        label=_("Reason (sent to the customer)"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("E.g. how you confirmed it with the customer, or why it cannot be done"),
    )

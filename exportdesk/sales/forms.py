from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from exportdesk.core.forms import NoLabelSuffix
from exportdesk.stock.models import Port


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

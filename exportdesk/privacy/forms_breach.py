"""Forms of the breach register: the incident itself and the reports sent to authorities."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from exportdesk.core.forms import NoLabelSuffix
from exportdesk.core.personal_data import CATEGORY_LABELS, DataCategory
from exportdesk.privacy.breaches import BreachFacts
from exportdesk.privacy.models import Breach, BreachReport

if TYPE_CHECKING:  # a dev-only package: types only
    from django_stubs_ext import StrOrPromise

_MINUTE = "%Y-%m-%dT%H:%M"


def _when(label: StrOrPromise, help_text: StrOrPromise = "") -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        help_text=help_text,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=_MINUTE),
    )


class BreachForm(NoLabelSuffix, forms.Form):
    detected_at = _when(
        _("Detected at"), _("When we became aware of it: every deadline counts from here")
    )
    description = forms.CharField(
        label=_("What happened"),
        max_length=8000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Facts only, no names of the people affected"),
    )
    categories = forms.MultipleChoiceField(
        label=_("Kinds of personal data involved"),
        choices=[(c.value, CATEGORY_LABELS[c]) for c in DataCategory],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one kind of data.")},
    )
    systems = forms.CharField(
        label=_("Systems involved"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    occurred_from = _when(_("Window from"), _("The earliest time the data may have been exposed"))
    occurred_until = _when(_("Window until"), _("The latest time the data may have been exposed"))
    malicious = forms.BooleanField(
        label=_("Caused by an attack or wrongdoing"),
        required=False,
        help_text=_("The PPC final report is then due in 60 days instead of 30"),
    )
    high_risk = forms.BooleanField(
        label=_("Likely high risk to the people affected"),
        required=False,
        help_text=_("They must then be told without undue delay"),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("occurred_from"), cleaned.get("occurred_until")
        detected = cleaned.get("detected_at")
        if start and end and end < start:
            self.add_error("occurred_until", _("The window cannot end before it starts."))
        if detected and detected > timezone.now():
            self.add_error("detected_at", _("The detection time cannot be in the future."))
        if start and detected and start > detected:
            self.add_error("occurred_from", _("The incident cannot start after it was detected."))
        return cleaned

    def facts(self) -> BreachFacts:
        data = self.cleaned_data
        return BreachFacts(
            detected_at=data["detected_at"],
            description=data["description"],
            categories=list(data["categories"]),
            systems=data["systems"],
            occurred_from=data["occurred_from"],
            occurred_until=data["occurred_until"],
            malicious=data["malicious"],
            high_risk=data["high_risk"],
        )

    @staticmethod
    def initial_from(breach: Breach) -> dict[str, Any]:
        return {
            "detected_at": timezone.localtime(breach.detected_at),
            "description": breach.description,
            "categories": list(breach.categories),
            "systems": breach.systems,
            "occurred_from": timezone.localtime(breach.occurred_from),
            "occurred_until": timezone.localtime(breach.occurred_until),
            "malicious": breach.malicious,
            "high_risk": breach.high_risk,
            "status": breach.status,
        }


class BreachEditForm(BreachForm):
    status = forms.ChoiceField(label=_("Status"), choices=Breach.Status.choices)


class BreachReportForm(NoLabelSuffix, forms.Form):
    """A report sent to an authority; only the kinds not yet recorded are offered."""

    kind = forms.ChoiceField(label=_("Report"), choices=BreachReport.Kind.choices)
    sent_at = _when(_("Sent at"))
    reference = forms.CharField(
        label=_("Authority's reference"),
        max_length=100,
        required=False,
        help_text=_("The receipt or case number the authority gave, if any"),
    )
    notes = forms.CharField(
        label=_("Notes"), max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, breach: Breach, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.breach = breach
        done = set(breach.reports.values_list("kind", flat=True))
        self.remaining = [(k.value, k.label) for k in BreachReport.Kind if k.value not in done]
        # Only the missing kinds are offered; one typed in anyway gets a clear error below.
        self.fields["kind"].widget.choices = self.remaining
        if not self.is_bound:
            self.initial.setdefault(
                "sent_at", timezone.localtime().replace(second=0, microsecond=0)
            )

    def clean_kind(self) -> str:
        kind: str = self.cleaned_data["kind"]
        if self.breach.reports.filter(kind=kind).exists():
            raise ValidationError(_("A report of this kind is already recorded for this breach."))
        return kind

    def clean_sent_at(self) -> datetime:
        sent_at: datetime = self.cleaned_data["sent_at"]
        if sent_at > timezone.now():
            raise ValidationError(_("The sending time cannot be in the future."))
        if sent_at < self.breach.detected_at:
            raise ValidationError(_("A report cannot be sent before the breach was detected."))
        return sent_at

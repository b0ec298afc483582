from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from exportdesk.core.forms import NoLabelSuffix
from exportdesk.privacy.models import CookieCategory


class CookieChoiceForm(NoLabelSuffix, forms.Form):
    ACCEPT_ALL = "accept_all"
    REJECT_ALL = "reject_all"
    SAVE = "save"

    choice = forms.ChoiceField(choices=[(ACCEPT_ALL, ""), (REJECT_ALL, ""), (SAVE, "")])
    functional = forms.BooleanField(required=False, label=CookieCategory.FUNCTIONAL.label)
    statistics = forms.BooleanField(required=False, label=CookieCategory.STATISTICS.label)
    marketing = forms.BooleanField(required=False, label=CookieCategory.MARKETING.label)
    next = forms.CharField(required=False)

    def choices(self) -> dict[str, bool]:
        choice = self.cleaned_data["choice"]
        if choice in (self.ACCEPT_ALL, self.REJECT_ALL):
            granted = choice == self.ACCEPT_ALL
            return {c: granted for c in ("functional", "statistics", "marketing")}
        return {c: bool(self.cleaned_data[c]) for c in ("functional", "statistics", "marketing")}


class LanguageForm(NoLabelSuffix, forms.Form):
    language = forms.ChoiceField(choices=settings.LANGUAGES, label=_("Language"))
    next = forms.CharField(required=False)

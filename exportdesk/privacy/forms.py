from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from exportdesk.accounts.models import User
from exportdesk.core.forms import NoLabelSuffix
from exportdesk.privacy.models import CookieCategory, DataRequest


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


# --- data-subject requests ------------------------------------------------------------------

_DETAILS_WIDGET = forms.Textarea(attrs={"rows": 4, "maxlength": 4000})


class MyPageRequestForm(NoLabelSuffix, forms.Form):
    """A request from My Page: the customer proves it is them by entering the password again."""

    details = forms.CharField(
        label=_("Anything we should know (optional)"),
        required=False,
        max_length=4000,
        widget=_DETAILS_WIDGET,
    )
    password = forms.CharField(
        label=_("Your password"),
        help_text=_("We ask for it again to be sure the request comes from you."),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, user: User, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.kind = kind
        if kind == DataRequest.Kind.RECTIFICATION:
            self.fields["details"].required = True
            self.fields["details"].label = _("What is wrong, and what should it say?")

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("That is not your current password."))
        return password


class PublicRequestForm(NoLabelSuffix, forms.Form):
    """A request from someone who may have no account; the e-mail link proves the address."""

    name = forms.CharField(label=_("Your name"), max_length=150)
    email = forms.EmailField(
        label=_("Your e-mail address"),
        help_text=_(
            "We send a confirmation link to this address; the request counts once you open it."
        ),
    )
    kind = forms.ChoiceField(
        label=_("What would you like us to do?"),
        choices=DataRequest.Kind.choices,
        widget=forms.RadioSelect,
    )
    details = forms.CharField(
        label=_("Details (optional)"),
        help_text=_(
            "For example the data to correct, the use you object to, or how you were in touch with us."
        ),
        required=False,
        max_length=4000,
        widget=_DETAILS_WIDGET,
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("kind") == DataRequest.Kind.RECTIFICATION and not cleaned.get("details"):
            self.add_error("details", _("Tell us what is wrong and what it should say."))
        return cleaned


class ObjectionForm(forms.Form):
    """One click on My Page: object to marketing or analytics, restrict all, withdraw consent."""

    effect = forms.ChoiceField(
        choices=[("marketing", ""), ("analytics", ""), ("all", ""), ("consent", "")]
    )

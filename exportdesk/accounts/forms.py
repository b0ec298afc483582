from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from exportdesk.accounts.models import CustomerProfile, User, normalise_email
from exportdesk.core.forms import NoLabelSuffix


class RegistrationForm(NoLabelSuffix, forms.Form):
    name = forms.CharField(label=_("Full name"), max_length=150)
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    # A callable, so the country names follow the language of each request.
    country = forms.ChoiceField(
        label=_("Country of residence"),
        choices=lambda: [("", _("Choose your country")), *countries],
    )
    password = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters; not a common password."),
    )
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    address = forms.CharField(
        label=_("Address"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=32,
        required=False,
        validators=CustomerProfile._meta.get_field("phone").validators,
    )
    whatsapp = forms.CharField(
        label=_("WhatsApp"),
        max_length=32,
        required=False,
        validators=CustomerProfile._meta.get_field("whatsapp").validators,
    )
    fax = forms.CharField(
        label=_("Fax"),
        max_length=32,
        required=False,
        validators=CustomerProfile._meta.get_field("fax").validators,
    )
    adult = forms.BooleanField(
        label=_("I am an adult (18 years or older, or of full age where I live)."),
        required=True,
        error_messages={
            "required": _(
                "Only adults can open an account. Please confirm that you are an adult; "
                "nothing you entered has been stored."
            )
        },
    )

    def clean_email(self) -> str:
        return normalise_email(self.cleaned_data["email"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password = cleaned.get("password")
        if password:
            candidate = User(email=cleaned.get("email", ""), name=cleaned.get("name", ""))
            try:
                password_validation.validate_password(password, candidate)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


class LoginForm(NoLabelSuffix, forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    password = forms.CharField(
        label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class ProfileForm(NoLabelSuffix, forms.ModelForm):
    name = forms.CharField(label=_("Full name"), max_length=150)

    class Meta:
        model = CustomerProfile
        fields = ["country", "company", "address", "phone", "whatsapp", "fax"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}


class EmailChangeForm(NoLabelSuffix, forms.Form):
    new_email = forms.EmailField(label=_("New e-mail address"))
    password = forms.CharField(
        label=_("Current password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("That is not your current password."))
        return password

    def clean_new_email(self) -> str:
        email = normalise_email(self.cleaned_data["new_email"])
        if email == self.user.email:
            raise forms.ValidationError(_("That is already your e-mail address."))
        return email


class CloseAccountForm(NoLabelSuffix, forms.Form):
    password = forms.CharField(
        label=_("Current password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    confirm = forms.BooleanField(
        label=_("I understand that I will be signed out and cannot sign in again."),
        required=True,
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("That is not your current password."))
        return password


class OTPForm(NoLabelSuffix, forms.Form):
    code = forms.CharField(
        label=_("6-digit code from your authenticator app"),
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

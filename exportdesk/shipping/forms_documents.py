"""Forms of the export documents desk: upload, replace, and the release rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from exportdesk.core.forms import NoLabelSuffix
from exportdesk.shipping.documents import DocumentRefused, document_file_check
from exportdesk.shipping.models import DocumentKind


def _file_field() -> forms.FileField:
    return forms.FileField(
        label=_("File (PDF, JPEG or PNG, up to %(mb)s MB)")
        % {"mb": settings.EXPORT_DOCUMENT_MAX_BYTES // (1024 * 1024)},
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
    )


def _checked(upload: UploadedFile) -> UploadedFile:
    """The content check at the form, so a bad file re-renders the page with the reason."""
    try:
        document_file_check(upload)
    except DocumentRefused as refused:
        raise forms.ValidationError(str(refused)) from refused
    return upload


class DocumentUploadForm(NoLabelSuffix, forms.Form):
    kind = forms.ChoiceField(label=_("Document"), choices=DocumentKind.choices)
    title = forms.CharField(
        label=_("Title"),
        max_length=120,
        required=False,
        help_text=_("Optional, e.g. the B/L number or what “other” is"),
    )
    file = forms.FileField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"] = _file_field()

    def clean_file(self) -> UploadedFile:
        return _checked(self.cleaned_data["file"])


class DocumentReplaceForm(NoLabelSuffix, forms.Form):
    file = forms.FileField()
    title = forms.CharField(
        label=_("New title"),
        max_length=120,
        required=False,
        help_text=_("Leave empty to keep the current title"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"] = _file_field()

    def clean_file(self) -> UploadedFile:
        return _checked(self.cleaned_data["file"])


class DocumentRulesForm(NoLabelSuffix, forms.Form):
    """One box per kind of document: ticked means only after the order is fully paid."""

    def __init__(self, *args: Any, rules: dict[str, bool], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind, label in DocumentKind.choices:
            self.fields[kind] = forms.BooleanField(
                label=label,
                required=False,
                initial=rules.get(kind, False),
                help_text=_("Only after the order is fully paid"),
            )

    def rules(self) -> dict[str, bool]:
        return {kind: bool(self.cleaned_data.get(kind)) for kind in DocumentKind.values}

"""Sending e-mail from templates, in the recipient's language, after the transaction commits."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation


def mail_send_template(
    *, to: str, template: str, context: dict[str, Any], language: str = ""
) -> None:
    """Render `<template>_subject.txt` and `<template>.txt`; send once the data is committed."""
    lang = language or settings.LANGUAGE_CODE
    with translation.override(lang):
        full_context = {"site_name": settings.SITE_NAME, **context}
        subject = render_to_string(f"{template}_subject.txt", full_context).strip()
        body = render_to_string(f"{template}.txt", full_context)

    def _send() -> None:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])

    transaction.on_commit(_send)

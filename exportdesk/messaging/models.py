"""The contact history: one timeline of everything said and done between a customer and staff.

Every app writes to it (inquiries, replies, bids, payments, shipments); entries link to their
source record generically so this app never imports the apps above it.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class ContactEvent(models.Model):
    class Kind(models.TextChoices):
        INQUIRY = "inquiry", _("Inquiry")
        REPLY = "reply", _("Reply from staff")
        EMAIL = "email", _("E-mail")
        NOTICE = "notice", _("Notice")
        NOTE = "note", _("Note")

    class Direction(models.TextChoices):
        INBOUND = "in", _("From the customer")
        OUTBOUND = "out", _("To the customer")
        INTERNAL = "internal", _("Internal")

    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contact_events",
    )
    # People without an account (a visitor's inquiry) are found by address; once they register
    # and verify that address, the history is theirs.
    email = models.EmailField(db_index=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Internal notes are never shown to the customer.
    visible_to_customer = models.BooleanField(default=True)
    source_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.SET_NULL)
    source_id = models.CharField(max_length=64, blank=True)
    source = GenericForeignKey("source_type", "source_id")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["customer", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject}"

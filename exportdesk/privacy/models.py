"""Consent ledger and privacy-policy versions."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from exportdesk.core.models import AppendOnlyModel


class CookieCategory(models.TextChoices):
    NECESSARY = "necessary", _("Strictly necessary")
    FUNCTIONAL = "functional", _("Functional")
    STATISTICS = "statistics", _("Statistics")
    MARKETING = "marketing", _("Marketing")


# Categories a person can refuse; necessary cookies cannot be switched off.
OPTIONAL_CATEGORIES = (
    CookieCategory.FUNCTIONAL,
    CookieCategory.STATISTICS,
    CookieCategory.MARKETING,
)


class PolicyVersion(models.Model):
    """A published version of the privacy policy; the newest effective one is in force."""

    version = models.CharField(max_length=20, unique=True)
    effective_date = models.DateField()
    summary_of_changes = models.TextField(blank=True)
    body = models.TextField(help_text="The policy text (paragraphs separated by blank lines)")
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-effective_date", "-pk"]

    def __str__(self) -> str:
        return f"Privacy policy {self.version} (effective {self.effective_date})"


class ConsentRecord(AppendOnlyModel):
    """One choice about one purpose; the newest row per purpose is the person's current choice."""

    class Source(models.TextChoices):
        BANNER = "banner", "Cookie banner"
        SETTINGS = "settings", "Cookie settings page"
        PRIVACY_CENTRE = "privacy_centre", "Privacy centre"
        GPC = "gpc", "Global Privacy Control signal"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="consent_records",
    )
    visitor_id = models.UUIDField(null=True, blank=True, db_index=True)
    purpose = models.CharField(max_length=32, choices=CookieCategory.choices)
    granted = models.BooleanField()
    source = models.CharField(max_length=20, choices=Source.choices)
    policy_version = models.ForeignKey(
        PolicyVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | models.Q(visitor_id__isnull=False),
                name="consent_has_a_subject",
            )
        ]

    def __str__(self) -> str:
        state = "granted" if self.granted else "refused"
        return f"{self.purpose} {state} at {self.created_at:%Y-%m-%d %H:%M}"


class PolicyAcknowledgement(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="policy_acknowledgements"
    )
    policy_version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "policy_version"], name="one_ack_per_version")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} acknowledged {self.policy_version_id}"


def new_visitor_id() -> uuid.UUID:
    return uuid.uuid4()

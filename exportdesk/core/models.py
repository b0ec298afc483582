"""The audit log: append-only, hash-chained events written in the same transaction as the change.

Each row stores the hash of the row before it; `verify_audit` recomputes the chain and names the
first row whose content or link does not match, so an edited or deleted row is detected.
Actors and subjects are stored as plain ids and labels, not foreign keys, so deleting or
anonymising a user never rewrites the history that mentions them.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class AppendOnlyError(Exception):
    """Raised when code tries to change or delete a row of an append-only table."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError(f"{self.model.__name__} rows cannot be updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{self.model.__name__} rows cannot be deleted")


class AppendOnlyModel(models.Model):
    """A row is written once; corrections are new rows."""

    objects: ClassVar[models.Manager] = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{type(self).__name__} rows cannot be deleted")


GENESIS_HASH = "0" * 64


class AuditEvent(AppendOnlyModel):
    seq = models.PositiveBigIntegerField(unique=True, help_text="Gapless position in the chain")
    created_at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    subject_id = models.BigIntegerField(
        null=True, blank=True, db_index=True, help_text="The user the data is about"
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    # The hash covers the personal fields (actor label, IP address, details) through this digest,
    # so an erasure can blank them (`redacted_at`) and the chain still verifies every other field.
    personal_digest = models.CharField(max_length=64)
    redacted_at = models.DateTimeField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"

    def compute_hash(self) -> str:
        """The hash this row should carry. A redacted row's personal fields are gone, so its
        stored digest stands in for them; any other row's digest is recomputed from its fields."""
        values = {name: getattr(self, name) for name in HASHED_FIELDS}
        if self.redacted_at is None:
            values["personal_digest"] = personal_digest(
                {name: getattr(self, name) for name in PERSONAL_FIELDS}
            )
        return audit_hash(values)


# The fields the hash covers, in the order of the row; the stored hash itself is not among them.
HASHED_FIELDS = (
    "seq",
    "created_at",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "subject_id",
    "personal_digest",
    "prev_hash",
)
# Fields that may name a person: covered by `personal_digest`, blanked by an erasure.
PERSONAL_FIELDS = ("actor_label", "ip_address", "details")


# One encoder for every hash (json.dumps would build one per call: a statement import hashes
# tens of thousands of events).
_CANONICAL = DjangoJSONEncoder(sort_keys=True, ensure_ascii=False)


def _canonical(payload: dict[str, Any]) -> bytes:
    return _CANONICAL.encode(payload).encode()


def personal_digest(values: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(values)).hexdigest()


def audit_hash(values: dict[str, Any]) -> str:
    payload = {**values, "created_at": values["created_at"].isoformat()}
    return hashlib.sha256(_canonical(payload)).hexdigest()

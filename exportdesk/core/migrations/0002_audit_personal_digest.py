"""The audit hash now covers the personal fields through a digest, so an erasure can blank them.

Every existing row is rehashed in chain order under the new scheme; run `manage.py verify_audit`
before migrating if the old chain must be checked first.
"""

import hashlib
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import migrations, models

GENESIS_HASH = "0" * 64


def _digest(payload):
    canonical = json.dumps(payload, sort_keys=True, cls=DjangoJSONEncoder, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def rehash(apps, schema_editor):
    AuditEvent = apps.get_model("core", "AuditEvent")
    prev = GENESIS_HASH
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=2000):
        event.personal_digest = _digest(
            {"actor_label": event.actor_label, "ip_address": event.ip_address,
             "details": event.details}
        )
        event.prev_hash = prev
        event.hash = prev = _digest(
            {
                "seq": event.seq,
                "created_at": event.created_at.isoformat(),
                "actor_id": event.actor_id,
                "action": event.action,
                "object_type": event.object_type,
                "object_id": event.object_id,
                "subject_id": event.subject_id,
                "personal_digest": event.personal_digest,
                "prev_hash": event.prev_hash,
            }
        )
        # The historical model is a plain model: no append-only guard applies here.
        AuditEvent.objects.filter(pk=event.pk).update(
            personal_digest=event.personal_digest, prev_hash=event.prev_hash, hash=event.hash
        )


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="personal_digest",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="redacted_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(rehash, migrations.RunPython.noop),
    ]

"""Background jobs of the privacy centre: building access packages and expiring what lapsed."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable

from django.core.files import File
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from exportdesk.privacy.access import access_package_write
from exportdesk.privacy.models import DataExport
from exportdesk.privacy.requests import (
    export_fail,
    export_finish,
    export_progress_set,
    export_start,
    exports_expired_delete,
    requests_unverified_expire,
)
from exportdesk.privacy.subjects import Subject, subject_for_email, subject_for_user

logger = logging.getLogger(__name__)


def _subject_of(export: DataExport) -> Subject:
    data_request = export.request
    if data_request.user is not None:
        return subject_for_user(data_request.user)
    return subject_for_email(data_request.email)


def _progress_reporter(export_id: int) -> Callable[[int], None]:
    """Write progress only when the percentage changes: one UPDATE per step, not per row."""
    last = -1

    def report(percent: int) -> None:
        nonlocal last
        if percent != last:
            last = percent
            export_progress_set(export_id=export_id, percent=percent)

    return report


@db_task()
def export_build(export_id: int) -> None:
    """Build the access/portability ZIP for a queued export; a second run finds nothing to do."""
    export = export_start(export_id=export_id)
    if export is None:
        return
    try:
        with tempfile.TemporaryFile() as out:
            access_package_write(_subject_of(export), out, progress=_progress_reporter(export_id))
            size = out.tell()
            out.seek(0)
            export_finish(export_id=export_id, content=File(out), size=size)
    # Whatever went wrong, the person's request must not wait silently: the export is marked
    # failed with the reason, and the request stays open on the privacy officer's queue.
    except Exception as error:
        logger.exception("Building data export %s failed", export_id)
        export_fail(export_id=export_id, error=f"{type(error).__name__}: {error}")


@db_periodic_task(crontab(minute="41"))
def expire_privacy_links() -> dict[str, int]:
    """Hourly: unconfirmed public requests past their link expire; packages past their
    download period lose their file. Both are idempotent."""
    return {
        "requests_expired": requests_unverified_expire(),
        "exports_expired": exports_expired_delete(),
    }


# Huey's workers load only `tasks` modules; the privacy centre's other jobs live beside the code
# they run and are registered by importing them here.
from exportdesk.privacy import retention_tasks  # noqa: E402, F401
from exportdesk.privacy.breaches import breach_notices_task  # noqa: E402, F401
from exportdesk.privacy.officer_tasks import send_privacy_reminders  # noqa: E402, F401

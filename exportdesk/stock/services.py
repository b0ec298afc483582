"""Writes on stock: vehicles, status changes, photos (with thumbnails) and the CSV import."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from exportdesk.accounts.models import User
from exportdesk.core.audit import audit_event_record
from exportdesk.stock.models import (
    LIVE_STATUSES,
    InvalidTransition,
    Vehicle,
    VehiclePhoto,
    live_vehicle_with_chassis,
)

PHOTO_MAX_SIDE = 2000
THUMB_SIZE = (640, 480)
_ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}


def vehicle_save(*, vehicle: Vehicle, actor: User, changed: list[str] | None = None) -> Vehicle:
    """Create or update a vehicle validated by a form; the audit names the changed fields."""
    creating = vehicle.pk is None
    with transaction.atomic():
        vehicle.save()
        audit_event_record(
            action="vehicle.created" if creating else "vehicle.updated",
            actor=actor,
            obj=vehicle,
            details={"stock_number": vehicle.stock_number, "fields": changed or []},
        )
    return vehicle


def vehicle_status_change(*, vehicle: Vehicle, new_status: str, actor: User | None) -> Vehicle:
    """Move a vehicle through its life (available → reserved → sold → shipped); raises
    InvalidTransition for a move the business does not allow. `actor` None is a system job."""
    with transaction.atomic():
        locked = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        old = locked.status
        locked.change_status(new_status)
        if old not in LIVE_STATUSES and new_status in LIVE_STATUSES:
            other = live_vehicle_with_chassis(locked.chassis_number, exclude_pk=locked.pk)
            if other is not None:
                raise InvalidTransition(
                    _("Vehicle %(other)s in stock already has chassis number %(chassis)s.")
                    % {"other": other.stock_number, "chassis": locked.chassis_number}
                )
        locked.save(update_fields=["status", "updated_at"])
        audit_event_record(
            action="vehicle.status_changed",
            actor=actor,
            obj=locked,
            details={"from": old, "to": new_status},
        )
    return locked


def _read_image(upload: UploadedFile) -> Image.Image:
    """Check the upload by its content, not its name: size, a real image, an accepted format."""
    if upload.size is not None and upload.size > settings.PHOTO_MAX_BYTES:
        limit_mb = settings.PHOTO_MAX_BYTES / (1024 * 1024)
        raise ValidationError(_("The photo is larger than %(mb)s MB.") % {"mb": f"{limit_mb:.3g}"})
    try:
        probe = Image.open(upload)
        probe.verify()
        upload.seek(0)
        image = Image.open(upload)
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise ValidationError(
            _("That file is not a photo we can read (JPEG, PNG or WebP).")
        ) from None
    if image.format not in _ACCEPTED_FORMATS:
        raise ValidationError(_("Photos must be JPEG, PNG or WebP."))
    return image


def _jpeg(image: Image.Image, size: tuple[int, int]) -> tuple[bytes, tuple[int, int]]:
    copy = ImageOps.exif_transpose(image).convert("RGB")
    copy.thumbnail(size)
    out = BytesIO()
    # Re-encoding drops EXIF, including any GPS position the camera recorded.
    copy.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    return out.getvalue(), copy.size


def photo_add(
    *, vehicle: Vehicle, upload: UploadedFile, actor: User | None, caption: str = ""
) -> VehiclePhoto:
    image = _read_image(upload)
    name = get_random_string(12).lower()
    with transaction.atomic():
        position = vehicle.photos.count()
        full, (width, height) = _jpeg(image, (PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
        thumb, _ = _jpeg(image, THUMB_SIZE)
        photo = VehiclePhoto(
            vehicle=vehicle, position=position, caption=caption[:120], width=width, height=height
        )
        photo.image.save(f"{name}.jpg", ContentFile(full), save=False)
        photo.thumbnail.save(f"{name}-thumb.jpg", ContentFile(thumb), save=False)
        photo.save()
        audit_event_record(
            action="vehicle.photo_added", actor=actor, obj=vehicle, details={"photo": photo.pk}
        )
    return photo


def photo_remove(*, photo: VehiclePhoto, actor: User) -> None:
    with transaction.atomic():
        vehicle = photo.vehicle
        photo.delete()
        audit_event_record(action="vehicle.photo_removed", actor=actor, obj=vehicle)

        def _delete_files() -> None:
            photo.image.delete(save=False)
            photo.thumbnail.delete(save=False)

        transaction.on_commit(_delete_files)


def vehicle_fields_changed(before: dict[str, Any], after: Vehicle) -> list[str]:
    return [name for name, value in before.items() if getattr(after, name) != value]

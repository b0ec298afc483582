"""What an uploaded file really is, from its content: transfer slips, export documents and
inspection certificates all accept a PDF, JPEG or PNG, and never trust the file's name.

Each app words the refusal for its own people (a slip, a document), so the check says only what
is wrong (`UploadProblem`) and the caller chooses the sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

from django.core.files.uploadedfile import UploadedFile
from django.utils.functional import Promise
from PIL import Image, UnidentifiedImageError

# The first bytes of each accepted type.
_MAGIC = {
    b"%PDF-": "application/pdf",
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
}
EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


class UploadProblem(Enum):
    TOO_LARGE = "too_large"
    NOT_ACCEPTED = "not_accepted"  # not a PDF, JPEG or PNG, whatever its name says
    DAMAGED_PDF = "damaged_pdf"  # truncated, or something else behind a PDF header
    DAMAGED_IMAGE = "damaged_image"


class UploadRejected(Exception):
    def __init__(self, problem: UploadProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem

    def told_with(self, messages: Mapping[UploadProblem, str | Promise], max_bytes: int) -> str:
        """The caller's sentence for this problem; a message may name the limit as %(mb)s."""
        return str(messages[self.problem]) % {"mb": max_bytes // (1024 * 1024)}


def upload_content_type(upload: UploadedFile, *, max_bytes: int) -> str:
    """The upload's real type: "application/pdf", "image/jpeg" or "image/png". Raises
    UploadRejected with what is wrong. The file is left at its start."""
    if upload.size is None or upload.size > max_bytes:
        raise UploadRejected(UploadProblem.TOO_LARGE)
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    kind = next((t for magic, t in _MAGIC.items() if head.startswith(magic)), "")
    if not kind:
        raise UploadRejected(UploadProblem.NOT_ACCEPTED)
    if kind == "application/pdf":
        _pdf_check(upload, upload.size)
    else:
        _image_check(upload)
    return kind


def _pdf_check(upload: UploadedFile, size: int) -> None:
    # A PDF ends with %%EOF in its last kilobyte: a truncated upload or a disguised file does not.
    upload.seek(max(0, size - 1024))
    tail = upload.read()
    upload.seek(0)
    if b"%%EOF" not in tail:
        raise UploadRejected(UploadProblem.DAMAGED_PDF)


def _image_check(upload: UploadedFile) -> None:
    try:
        with Image.open(upload) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UploadRejected(UploadProblem.DAMAGED_IMAGE) from exc
    finally:
        upload.seek(0)

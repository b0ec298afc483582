"""QR codes as inline SVG (authenticator enrolment, invoice verification links)."""

from __future__ import annotations

from io import BytesIO

import qrcode
import qrcode.image.svg


def qr_svg(text: str, *, box_size: int = 8) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=box_size)
    buffer = BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()

"""Real image files made in memory for the job tests."""

from __future__ import annotations

import io

from PIL import Image


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 48), colour: str = "teal") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


def png(size: tuple[int, int] = (64, 48)) -> bytes:
    return image_bytes("PNG", size)

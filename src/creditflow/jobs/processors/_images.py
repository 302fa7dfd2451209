"""Reading a job's input and parameters, and encoding its outputs, the same way everywhere.

Decoding and parameter checks are the places a customer's mistake surfaces, so they are done
once here and fail with a sentence the customer can act on rather than a Pillow or NumPy error.
Everything works on bytes in memory, never on files.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError
from PIL.PngImagePlugin import PngInfo


def open_image(data: bytes) -> Image.Image:
    """Decode the input, upright, as RGB or (when it carries transparency) RGBA.

    Phone photos store their rotation in EXIF, so it is applied here rather than in every
    processor; and only two modes ever reach a processor, so none of them has to handle
    palettes, CMYK or 16-bit greyscale.
    """
    try:
        decoded = Image.open(io.BytesIO(data))
        decoded.load()
    except (UnidentifiedImageError, OSError) as exc:
        # Pillow's own message names a BytesIO object; the customer needs to know what to fix.
        raise ValueError("The input is not an image this site can read.") from exc
    image = ImageOps.exif_transpose(decoded)
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode in ("P", "L", "RGB") and "transparency" in image.info
    )
    return image.convert("RGBA" if has_alpha else "RGB")


def png_bytes(image: Image.Image, *, info: PngInfo | None = None) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def json_bytes(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, indent=2, sort_keys=True).encode("utf-8")


def number_param(
    params: Mapping[str, Any], name: str, default: float, *, minimum: float, maximum: float
) -> float:
    """A numeric parameter, rejected with a sentence a customer can act on when it is bad.

    Parameters come straight from a client's JSON, so a string, a boolean or NaN must fail the
    job with a clear message instead of a NumPy error deep inside a processor.
    """
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"The parameter {name!r} must be a number.")
    number = float(value)
    if not math.isfinite(number) or not minimum <= number <= maximum:
        raise ValueError(f"The parameter {name!r} must be between {minimum:g} and {maximum:g}.")
    return number


def integer_param(
    params: Mapping[str, Any], name: str, default: int, *, minimum: int, maximum: int
) -> int:
    value = params.get(name, default)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"The parameter {name!r} must be a whole number.")
    if not minimum <= value <= maximum:
        raise ValueError(f"The parameter {name!r} must be between {minimum} and {maximum}.")
    return value


def text_param(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    return None if value is None else str(value)

"""Rule 19: an input image is judged by what its bytes are, before any credit is spent.

The format comes from the content because a name or a declared type is whatever the client chose
to send. Every limit is checked as early as it can be, cheapest first: the size before Pillow
sees the bytes, the dimensions from the header before a single pixel is decoded, so a small file
that claims to unpack into gigabytes costs a few hundred bytes of reading, not the memory.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from creditflow.domain.catalog import Images
from creditflow.domain.errors import InvalidImage

# Pillow's name -> (the catalog's name, the content type we store and serve it with).
_FORMATS: dict[str, tuple[str, str]] = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpeg", "image/jpeg"),
    "BMP": ("bmp", "image/bmp"),
    "WEBP": ("webp", "image/webp"),
    "GIF": ("gif", "image/gif"),
}
# What Pillow may try: only these plugins, so a TIFF or a PSD is never parsed at all.
_PILLOW_FORMATS = tuple(_FORMATS)
# Pillow raises these when a file's bytes break its own format, on opening or on decoding.
_BROKEN = (OSError, SyntaxError, ValueError, EOFError)


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What was found in an accepted image, so later steps never have to open it to ask."""

    format: str
    width: int
    height: int
    bytes: int
    content_type: str


def inspect_image(data: bytes, rules: Images) -> ImageInfo:
    """The accepted image's facts, or InvalidImage naming the first limit it broke.

    Raising before any charge is what makes a refused image cost nothing.
    """
    if not data:
        raise InvalidImage("The file is empty.", reason="corrupt")
    if len(data) > rules.max_bytes:
        raise InvalidImage(
            f"The file is {len(data):,} bytes; the largest accepted is {rules.max_bytes:,} bytes.",
            reason="file_too_large",
            max_bytes=rules.max_bytes,
            bytes=len(data),
        )
    allowed = list(rules.formats)
    with warnings.catch_warnings():
        # Locally, whatever the process's filters: Pillow's hints about odd files are noise here,
        # but its bomb warning must stop us rather than scroll past in a log.
        warnings.filterwarnings("ignore", module=r"PIL(\.|$)")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS) as image:
                found = _FORMATS.get(image.format or "")
                if found is None:
                    raise UnidentifiedImageError(image.format)
                name, content_type = found
                if name not in rules.formats:
                    raise InvalidImage(
                        f"The file is a {name.upper()} image; this site accepts "
                        f"{', '.join(allowed)}.",
                        reason="unsupported_format",
                        format=name,
                        formats=allowed,
                    )
                width, height = image.size
                if max(width, height) > rules.max_side:
                    raise InvalidImage(
                        f"The image is {width}x{height} pixels; neither side may be longer "
                        f"than {rules.max_side} pixels.",
                        reason="dimensions_too_large",
                        max_side=rules.max_side,
                        width=width,
                        height=height,
                    )
                try:
                    image.load()  # the first frame is enough to know the file is whole
                except _BROKEN as exc:
                    raise InvalidImage(
                        f"The {name.upper()} image is damaged or cut short and cannot be read.",
                        reason="corrupt",
                        format=name,
                    ) from exc
        except UnidentifiedImageError as exc:
            if _looks_like_known_format(data):  # the right signature, then bytes that break it
                raise InvalidImage(
                    "The image's header is damaged or cut short and cannot be read.",
                    reason="corrupt",
                ) from exc
            raise InvalidImage(
                f"The file is not an image this site can read; it accepts {', '.join(allowed)}.",
                reason="unsupported_format",
                formats=allowed,
            ) from exc
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise InvalidImage(
                "The image claims more pixels than can be processed safely "
                f"(at most {Image.MAX_IMAGE_PIXELS:,}).",
                reason="dimensions_too_large",
                max_side=rules.max_side,
                max_pixels=Image.MAX_IMAGE_PIXELS,
            ) from exc
        except _BROKEN as exc:
            raise InvalidImage(
                "The image's header is damaged and cannot be read.", reason="corrupt"
            ) from exc
    return ImageInfo(
        format=name, width=width, height=height, bytes=len(data), content_type=content_type
    )


_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")


def _looks_like_known_format(data: bytes) -> bool:
    """True when the file starts as one of our formats does, so a failure means damage."""
    if data.startswith(_SIGNATURES):
        return True
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"

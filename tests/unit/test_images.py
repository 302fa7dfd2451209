"""Rule 19: an input image is judged by its content against `[images]`, bombs refused fast."""

from __future__ import annotations

import io
import random
import struct
import time
import warnings
import zlib

import pytest
from PIL import Image

from creditflow.domain.catalog import Images
from creditflow.domain.errors import InvalidImage
from creditflow.jobs.images import ImageInfo, inspect_image

RULES = Images(formats=("png", "jpeg", "bmp"), max_side=4096, max_bytes=10_485_760)


def picture(fmt: str, size: tuple[int, int] = (40, 30), *, noisy: bool = False) -> bytes:
    """A real image file made by Pillow; noise keeps it from compressing to almost nothing."""
    if noisy:
        pixels = random.Random(19).randbytes(size[0] * size[1] * 3)
        image = Image.frombytes("RGB", size, pixels)
    else:
        image = Image.new("RGB", size, (200, 40, 90))
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int, height: int) -> bytes:
    """A valid-looking PNG whose header claims `width` x `height`; its data is one row of zeros."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    data = zlib.compress(b"\x00" * (1 + width * 3), 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def refusal(data: bytes, rules: Images = RULES) -> InvalidImage:
    with pytest.raises(InvalidImage) as caught:
        inspect_image(data, rules)
    assert caught.value.code == "invalid_image"
    assert caught.value.message  # a sentence for a person, never empty
    return caught.value


@pytest.mark.parametrize(
    ("fmt", "name", "content_type"),
    [("PNG", "png", "image/png"), ("JPEG", "jpeg", "image/jpeg"), ("BMP", "bmp", "image/bmp")],
)
def test_rule_19_an_image_in_an_allowed_format_is_accepted_with_its_facts(
    fmt: str, name: str, content_type: str
) -> None:
    data = picture(fmt)
    assert inspect_image(data, RULES) == ImageInfo(
        format=name, width=40, height=30, bytes=len(data), content_type=content_type
    )


def test_rule_19_a_gif_is_refused_when_the_site_does_not_list_gif() -> None:
    error = refusal(picture("GIF"))
    assert error.reason == "unsupported_format"
    assert error.details["format"] == "gif"
    assert error.details["formats"] == ["png", "jpeg", "bmp"]


def test_rule_19_a_gif_is_accepted_when_the_site_lists_gif() -> None:
    rules = Images(formats=("gif",), max_side=4096, max_bytes=10_485_760)
    info = inspect_image(picture("GIF"), rules)
    assert (info.format, info.content_type, info.width, info.height) == ("gif", "image/gif", 40, 30)


def test_rule_19_an_animated_webp_is_accepted_when_the_site_lists_webp() -> None:
    frames = [Image.new("RGB", (20, 10), colour) for colour in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, format="WEBP", save_all=True, append_images=frames[1:])
    rules = Images(formats=("webp",), max_side=4096, max_bytes=10_485_760)
    info = inspect_image(out.getvalue(), rules)
    assert (info.format, info.content_type, info.width, info.height) == (
        "webp",
        "image/webp",
        20,
        10,
    )


def test_rule_19_the_format_is_judged_from_the_content_not_a_name() -> None:
    png_only = Images(formats=("png",), max_side=4096, max_bytes=10_485_760)
    assert inspect_image(picture("PNG"), png_only).format == "png"
    error = refusal(picture("JPEG"), png_only)
    assert error.reason == "unsupported_format"
    assert error.details["format"] == "jpeg"


def test_rule_19_bytes_that_are_not_an_image_are_an_unsupported_format() -> None:
    error = refusal(random.Random(7).randbytes(4096))
    assert error.reason == "unsupported_format"
    assert error.details["formats"] == ["png", "jpeg", "bmp"]


def test_rule_19_an_image_format_outside_the_five_is_an_unsupported_format() -> None:
    assert refusal(picture("TIFF")).reason == "unsupported_format"


def test_rule_19_an_empty_file_is_corrupt() -> None:
    error = refusal(b"")
    assert error.reason == "corrupt"
    assert error.message == "The file is empty."


def test_rule_19_a_truncated_png_is_corrupt() -> None:
    data = picture("PNG", (256, 256), noisy=True)
    error = refusal(data[: len(data) // 2])
    assert error.reason == "corrupt"
    assert error.details["format"] == "png"


def test_rule_19_a_truncated_jpeg_is_corrupt() -> None:
    data = picture("JPEG", (256, 256), noisy=True)
    error = refusal(data[: len(data) // 2])
    assert error.reason == "corrupt"
    assert error.details["format"] == "jpeg"


def test_rule_19_an_image_with_a_side_over_max_side_is_too_large() -> None:
    rules = Images(formats=("png",), max_side=64, max_bytes=10_485_760)
    assert inspect_image(picture("PNG", (64, 64)), rules).width == 64
    error = refusal(picture("PNG", (65, 10)), rules)
    assert error.reason == "dimensions_too_large"
    assert error.details == {
        "reason": "dimensions_too_large",
        "max_side": 64,
        "width": 65,
        "height": 10,
    }


def test_rule_19_a_file_over_max_bytes_is_too_large_before_it_is_opened() -> None:
    rules = Images(formats=("png",), max_side=4096, max_bytes=100)
    data = b"not even an image, but too long to look at" * 3  # size is judged first
    error = refusal(data, rules)
    assert error.reason == "file_too_large"
    assert (error.details["max_bytes"], error.details["bytes"]) == (100, len(data))


@pytest.mark.parametrize("side", [100_000, 8_000])  # past Pillow's own pixel limit, and within it
def test_rule_19_a_decompression_bomb_over_max_side_is_refused_from_its_header_fast(
    side: int,
) -> None:
    bomb = png_bomb(side, side)
    assert len(bomb) < 1_000
    started = time.perf_counter()
    error = refusal(bomb)
    assert time.perf_counter() - started < 0.5
    assert error.reason == "dimensions_too_large"


def test_rule_19_a_bomb_within_max_side_but_with_too_many_pixels_is_refused_fast() -> None:
    rules = Images(formats=("png",), max_side=20_000, max_bytes=10_485_760)
    started = time.perf_counter()
    error = refusal(png_bomb(19_000, 19_000), rules)  # over twice Pillow's pixel limit
    assert time.perf_counter() - started < 0.5
    assert error.reason == "dimensions_too_large"
    assert error.details["max_pixels"] == Image.MAX_IMAGE_PIXELS


def test_rule_19_pillows_bomb_warning_refuses_the_image_even_where_warnings_are_ignored() -> None:
    rules = Images(formats=("png",), max_side=20_000, max_bytes=10_485_760)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # as a production process might run
        error = refusal(png_bomb(10_000, 10_000), rules)  # over Pillow's limit, under twice it
    assert error.reason == "dimensions_too_large"

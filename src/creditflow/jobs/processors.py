"""Built-in processors, made with Pillow and NumPy only.

They are enough for a person to try the whole flow (hold credits, run a job, capture or refund)
on their own machine without a GPU or a model download. A real site registers its own processors
under the same operation names; these stay small, deterministic and dependency-free.

Every processor reads the input from memory and returns bytes: nothing here touches the disk, so
a processor cannot leave files behind or be tricked into writing somewhere it should not.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter, ImageOps, UnidentifiedImageError
from PIL.PngImagePlugin import PngInfo

__all__ = [
    "PROCESSORS",
    "Output",
    "Processor",
    "UnknownOperation",
    "process",
]


@dataclass(frozen=True, slots=True)
class Output:
    """One file a job produced, kept in memory until the worker uploads it."""

    data: bytes
    content_type: str
    name: str


Processor = Callable[[bytes, Mapping[str, Any]], list[Output]]


class UnknownOperation(ValueError):
    """The job names an operation no processor is registered for, so it can never succeed."""


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def _open(data: bytes) -> Image.Image:
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


def _png(image: Image.Image, *, info: PngInfo | None = None) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def _json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, indent=2, sort_keys=True).encode("utf-8")


def _number(
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


def _integer(
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


def _text(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    return None if value is None else str(value)


# --------------------------------------------------------------------------------------------
# upscale, enhance
# --------------------------------------------------------------------------------------------


def upscale(image: bytes, params: Mapping[str, Any]) -> list[Output]:
    """Twice the width and height with Lanczos: sharp enough to compare with a real upscaler."""
    source = _open(image)
    result = source.resize((source.width * 2, source.height * 2), Image.Resampling.LANCZOS)
    return [Output(_png(result), "image/png", "upscaled.png")]


def enhance(image: bytes, params: Mapping[str, Any]) -> list[Output]:
    """Stretch the contrast, then sharpen; the alpha channel is left as it was.

    Autocontrast works per channel from the histogram, so it would also stretch a soft alpha
    edge; the colour channels are therefore processed on their own and the alpha put back.
    """
    source = _open(image)
    alpha = source.getchannel("A") if source.mode == "RGBA" else None
    rgb = source.convert("RGB")
    result = ImageOps.autocontrast(rgb).filter(ImageFilter.SHARPEN)
    if alpha is not None:
        result.putalpha(alpha)
    return [Output(_png(result), "image/png", "enhanced.png")]


# --------------------------------------------------------------------------------------------
# remove_background
# --------------------------------------------------------------------------------------------


def _spread_along_rows(
    reached: npt.NDArray[np.bool_], passable: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    """Extend `reached` to every run of passable pixels in a row that already touches it.

    One pass fills a whole straight run at once, so alternating row and column passes
    converges in as many rounds as the background has turns, not as many as it has pixels:
    a plain 1024x1024 backdrop takes two or three rounds instead of hundreds of dilations.
    """
    starts = passable.copy()
    starts[:, 1:] &= ~passable[:, :-1]
    run_id = np.cumsum(starts.ravel())  # every passable pixel carries its run's number
    touched = np.zeros(int(run_id[-1]) + 1, dtype=np.bool_)
    touched[run_id[reached.ravel()]] = True
    spread: npt.NDArray[np.bool_] = touched[run_id].reshape(passable.shape) & passable
    return spread


def _flood_from_border(passable: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """The passable pixels connected (4-neighbourhood) to the image border through passable ones."""
    reached = np.zeros_like(passable)
    reached[0, :] = passable[0, :]
    reached[-1, :] = passable[-1, :]
    reached[:, 0] |= passable[:, 0]
    reached[:, -1] |= passable[:, -1]
    count = int(reached.sum())
    while True:
        reached = _spread_along_rows(reached, passable)
        reached = _spread_along_rows(reached.T, passable.T).T
        new_count = int(reached.sum())
        if new_count == count:
            return reached
        count = new_count


def remove_background(image: bytes, params: Mapping[str, Any]) -> list[Output]:
    """Make the plain backdrop around a subject transparent.

    The backdrop colour is the median of the border pixels (robust to a subject touching one
    edge), and only pixels connected to the border are cleared, so a white label inside a
    product on a white backdrop stays opaque. This is meant for product shots on plain
    backgrounds, not for photographs of scenes.
    """
    tolerance = _number(params, "tolerance", 30, minimum=0, maximum=442)
    source = _open(image).convert("RGBA")
    pixels = np.asarray(source, dtype=np.uint8)
    rgb = pixels[:, :, :3].astype(np.int32)
    border = np.concatenate([rgb[0, :], rgb[-1, :], rgb[:, 0], rgb[:, -1]])
    backdrop = np.median(border, axis=0)
    distance_sq = ((rgb - backdrop) ** 2).sum(axis=2)
    similar = distance_sq < tolerance * tolerance
    background = _flood_from_border(similar)
    result = pixels.copy()
    result[:, :, 3] = np.where(background, 0, pixels[:, :, 3])
    cutout = Image.fromarray(result, mode="RGBA")
    return [Output(_png(cutout), "image/png", "cutout.png")]


# --------------------------------------------------------------------------------------------
# tag
# --------------------------------------------------------------------------------------------

COLOUR_NAMES = (
    "black",
    "white",
    "grey",
    "red",
    "orange",
    "yellow",
    "green",
    "cyan",
    "blue",
    "purple",
    "pink",
    "brown",
)

# Hue bands in degrees, checked in order; red wraps around 0.
_HUE_BANDS = (
    (15.0, "red"),
    (45.0, "orange"),
    (70.0, "yellow"),
    (165.0, "green"),
    (200.0, "cyan"),
    (260.0, "blue"),
    (300.0, "purple"),
    (335.0, "pink"),
    (360.0, "red"),
)


def colour_name(red: int, green: int, blue: int) -> str:
    """The basic colour name a person would use for an sRGB colour.

    Nearest-neighbour in RGB calls navy "black" and olive "grey", so the name is chosen in HSV
    instead: darkness and greyness first, then the hue band, with brown as a dark orange and
    pink as a light, soft red.
    """
    hue, saturation, value = colorsys.rgb_to_hsv(red / 255, green / 255, blue / 255)
    if value < 0.2:
        return "black"
    if saturation < 0.18:
        if value > 0.85:
            return "white"
        return "black" if value < 0.25 else "grey"
    degrees = hue * 360
    name = next(band for limit, band in _HUE_BANDS if degrees < limit)
    if name == "orange" and value < 0.6:
        return "brown"
    if name == "red" and value > 0.8 and saturation < 0.5:
        return "pink"
    return name


def _size_class(width: int, height: int) -> str:
    longest = max(width, height)
    if longest < 512:
        return "small"
    if longest < 2048:
        return "medium"
    return "large"


def _orientation(width: int, height: int) -> str:
    """Square within 2 %, because crops and phone sensors are often a few pixels off."""
    if abs(width - height) <= 0.02 * max(width, height):
        return "square"
    return "landscape" if width > height else "portrait"


def tag(image: bytes, params: Mapping[str, Any]) -> list[Output]:
    """Dominant colours, size class and orientation, as JSON a site can index or filter on.

    The colours are counted on a thumbnail (the answer does not change, the time does) and
    transparent pixels are left out, so a cutout is tagged by its subject, not its backdrop.
    """
    source = _open(image)
    width, height = source.size
    thumbnail = source.copy()
    thumbnail.thumbnail((256, 256))
    quantized = thumbnail.convert("RGB").quantize(colors=5)
    indices = np.asarray(quantized, dtype=np.uint8)
    if thumbnail.mode == "RGBA":
        visible = np.asarray(thumbnail.getchannel("A"), dtype=np.uint8) > 0
        if visible.any():
            indices = indices[visible]
    counts = np.bincount(indices.ravel(), minlength=256)
    total = int(counts.sum())
    palette = quantized.getpalette() or []

    by_name: dict[str, tuple[int, str]] = {}  # name -> (pixel count, hex of its largest swatch)
    for index in np.argsort(counts)[::-1]:
        count = int(counts[index])
        if count == 0:
            break
        red, green, blue = palette[3 * int(index) : 3 * int(index) + 3]
        name = colour_name(red, green, blue)
        previous_count, hex_code = by_name.get(name, (0, f"#{red:02x}{green:02x}{blue:02x}"))
        by_name[name] = (previous_count + count, hex_code)

    ranked = sorted(by_name.items(), key=lambda item: -item[1][0])
    colours = [
        {"name": name, "hex": hex_code, "share": round(count / total, 4)}
        for name, (count, hex_code) in ranked
    ]
    # A colour covering less than 5 % is a detail, not something to search the image by.
    tags = [name for name, (count, _) in ranked if count >= 0.05 * total]
    tags += [_size_class(width, height), _orientation(width, height)]
    payload = {"tags": tags, "colors": colours, "width": width, "height": height}
    return [Output(_json(payload), "application/json", "tags.json")]


# --------------------------------------------------------------------------------------------
# image_to_stl
# --------------------------------------------------------------------------------------------

_STL_TRIANGLE = np.dtype(
    [("normal", "<f4", (3,)), ("vertices", "<f4", (3, 3)), ("attribute", "<u2")]
)
# Binary STL readers sniff for "solid" to detect ASCII files, so the header must not start so.
_STL_HEADER = b"creditflow image_to_stl height map, units: mm".ljust(80, b" ")


def _height_map_triangles(rows: int, cols: int) -> npt.NDArray[np.intp]:
    """Vertex indices of a closed solid over a grid: (n, 3) into top (first h*w) then bottom.

    Every triangle is wound counter-clockwise seen from outside, so normals from the cross
    product point outwards and slicers see a valid solid rather than an inside-out one.
    """
    bottom = rows * cols
    index = np.arange(rows * cols).reshape(rows, cols)
    # Row 0 is the image's top edge, placed at the largest y, so a cell's corners are:
    # a (top-left), b (top-right), c (bottom-left), d (bottom-right) as seen from above.
    a = index[:-1, :-1].ravel()
    b = index[:-1, 1:].ravel()
    c = index[1:, :-1].ravel()
    d = index[1:, 1:].ravel()
    top = np.concatenate([np.stack([c, d, b], axis=1), np.stack([c, b, a], axis=1)])
    base = np.concatenate([np.stack([c, b, d], axis=1), np.stack([c, a, b], axis=1)]) + bottom
    # The outline walked clockwise seen from above, so each wall faces outwards.
    ring = np.concatenate(
        [
            index[0, :],  # top edge, left to right
            index[1:, -1],  # right edge, downwards
            index[-1, -2::-1],  # bottom edge, right to left
            index[-2:0:-1, 0],  # left edge, upwards (the ring closes on index[0, 0])
        ]
    )
    p = ring
    q = np.roll(ring, -1)
    walls = np.concatenate(
        [np.stack([p + bottom, p, q], axis=1), np.stack([p + bottom, q, q + bottom], axis=1)]
    )
    return np.concatenate([top, base, walls])


def image_to_stl(image: bytes, params: Mapping[str, Any]) -> list[Output]:
    """A printable relief: the image's luminance becomes height over a solid base.

    The image is downscaled (never upscaled) so its longest side has at most `resolution`
    pixels, each pixel being one vertex of a w x h grid, `pixel_mm` apart. Height is
    `base_mm + luminance / 255 * max_height_mm`, so white is high and black is the bare base.

    The solid is closed (watertight), which slicers require. For a w x h grid it has
    `4*(w-1)*(h-1) + 4*(w-1) + 4*(h-1)` triangles:

    - top surface: `2*(w-1)*(h-1)` (two per grid cell),
    - bottom: `2*(w-1)*(h-1)` (the same grid, flat at z = 0, so its edges meet the walls'),
    - walls: `2*(w-1)` each along the top and bottom edges and `2*(h-1)` each along the left
      and right edges.

    The binary STL is written by hand with a NumPy structured array: an 80-byte header, a
    little-endian uint32 triangle count, then 50 bytes per triangle.
    """
    resolution = _integer(params, "resolution", 64, minimum=2, maximum=1024)
    max_height = _number(params, "max_height_mm", 5.0, minimum=0, maximum=1000)
    base_mm = _number(params, "base_mm", 1.0, minimum=0.01, maximum=1000)
    pixel_mm = _number(params, "pixel_mm", 1.0, minimum=0.001, maximum=1000)

    grey = _open(image).convert("L")
    scale = min(1.0, resolution / max(grey.size))
    cols = max(2, round(grey.width * scale))
    rows = max(2, round(grey.height * scale))
    if (cols, rows) != grey.size:
        grey = grey.resize((cols, rows), Image.Resampling.LANCZOS)
    luminance = np.asarray(grey, dtype=np.float64)
    heights = base_mm + luminance / 255.0 * max_height

    xs = np.arange(cols, dtype=np.float64) * pixel_mm
    ys = (rows - 1 - np.arange(rows, dtype=np.float64)) * pixel_mm
    grid_x, grid_y = np.meshgrid(xs, ys)
    top = np.stack([grid_x.ravel(), grid_y.ravel(), heights.ravel()], axis=1)
    bottom = top.copy()
    bottom[:, 2] = 0.0
    vertices = np.concatenate([top, bottom])

    corners = vertices[_height_map_triangles(rows, cols)]  # (n, 3, 3)
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    lengths = np.linalg.norm(normals, axis=1, keepdims=True)
    normals = np.divide(normals, lengths, out=np.zeros_like(normals), where=lengths > 0)

    triangles = np.zeros(len(corners), dtype=_STL_TRIANGLE)
    triangles["normal"] = normals
    triangles["vertices"] = corners
    data = _STL_HEADER + np.uint32(len(triangles)).astype("<u4").tobytes() + triangles.tobytes()
    return [Output(data, "model/stl", "model.stl")]


# --------------------------------------------------------------------------------------------
# Placeholders: generate, lora_training
# --------------------------------------------------------------------------------------------

_MAX_GENERATED_SIDE = 2048
_PLACEHOLDER_NOTE = "placeholder: no model was run; replace this processor with a real one"


def _label(image: Image.Image, text: str) -> None:
    """Write `text` in the corner on a dark box, so it reads on any background."""
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = draw.textbbox((6, 6), text)
    draw.rectangle((left - 3, top - 3, right + 3, bottom + 3), fill=(0, 0, 0))
    draw.text((6, 6), text, fill=(255, 255, 255))


def generate(image: bytes, params: Mapping[str, Any]) -> list[Output]:
    """PLACEHOLDER for text-to-image: a pattern seeded by the prompt, labelled "placeholder".

    It lets the credit flow (hold, run, capture) be tried without a model: the same prompt
    always gives the same picture, so a retried job is recognisable. When an input image is
    given it is blended in as a base, as an image-to-image model would use it.
    """
    width = min(_integer(params, "width", 512, minimum=1, maximum=2**31), _MAX_GENERATED_SIDE)
    height = min(_integer(params, "height", 512, minimum=1, maximum=2**31), _MAX_GENERATED_SIDE)
    prompt = _text(params, "prompt") or ""
    seed = hashlib.sha256(prompt.encode("utf-8")).digest()

    corners = np.frombuffer(seed[:12], dtype=np.uint8).reshape(4, 3).astype(np.float32)
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :, None]
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    pattern = (
        corners[0] * (1 - xs) * (1 - ys)
        + corners[1] * xs * (1 - ys)
        + corners[2] * (1 - xs) * ys
        + corners[3] * xs * ys
    )
    frequency_x, frequency_y = 1 + seed[12] % 8, 1 + seed[13] % 8
    stripes = np.sin(2 * np.pi * (xs * frequency_x + ys * frequency_y))
    pattern = np.clip(pattern * (0.85 + 0.15 * stripes), 0, 255).astype(np.uint8)
    result = Image.fromarray(pattern, mode="RGB")

    if image:
        base = _open(image).convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
        result = Image.blend(base, result, 0.5)
    _label(result, "placeholder")

    info = PngInfo()
    info.add_text("placeholder", "true")
    info.add_text("note", _PLACEHOLDER_NOTE)
    if prompt:
        info.add_itxt("prompt", prompt)
    return [Output(_png(result, info=info), "image/png", "placeholder.png")]


def lora_training(image: bytes, params: Mapping[str, Any]) -> list[Output]:
    """PLACEHOLDER for LoRA training: a model card saying so, and a small preview of the input.

    Training is the most expensive operation a site sells, so being able to walk through its
    hold and capture without a GPU is the point; the card must never pass for a real model.
    """
    source = _open(image)
    card = {
        "placeholder": True,
        "note": _PLACEHOLDER_NOTE,
        "name": _text(params, "name"),
        "trained_on": {"width": source.width, "height": source.height},
    }
    preview = source.convert("RGB")
    preview.thumbnail((128, 128))
    _label(preview, "placeholder")
    return [
        Output(_json(card), "application/json", "model_card.json"),
        Output(_png(preview), "image/png", "preview.png"),
    ]


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------

PROCESSORS: dict[str, Processor] = {
    "upscale": upscale,
    "enhance": enhance,
    "remove_background": remove_background,
    "tag": tag,
    "image_to_stl": image_to_stl,
    "generate": generate,
    "lora_training": lora_training,
}


def process(operation: str, image: bytes, params: Mapping[str, Any]) -> list[Output]:
    """Run the processor registered for `operation`.

    An unknown name raises UnknownOperation rather than KeyError, so the worker reports it as
    the job's failure and the held credits are released instead of the job retrying forever.
    """
    processor = PROCESSORS.get(operation)
    if processor is None:
        raise UnknownOperation(f"No processor is registered for the operation {operation!r}.")
    return processor(image, params)

"""Tags a site can index or filter images on: dominant colours by name, size and orientation.

Customers search with words, not hex codes, so colours are reported by the basic name a person
would use for them, alongside the swatch and the share of the image it covers.
"""

from __future__ import annotations

import colorsys
from collections.abc import Mapping
from typing import Any

import numpy as np

from creditflow.jobs.processors._images import json_bytes, open_image
from creditflow.jobs.processors.outputs import Output

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
    source = open_image(image)
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
    return [Output(json_bytes(payload), "application/json", "tags.json")]

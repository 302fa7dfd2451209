"""Edits that return the same picture, improved: larger, crisper, or cut out of its backdrop.

These are cheap, classical stand-ins for what a site would run a model for, good enough to see
the difference in a result. The background removal avoids SciPy's labelling by flooding with
NumPy alone, in as few passes as the backdrop has turns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFilter, ImageOps

from creditflow.jobs.processors._images import number_param, open_image, png_bytes
from creditflow.jobs.processors.outputs import Output


def upscale(image: bytes, params: Mapping[str, Any]) -> list[Output]:
    """Twice the width and height with Lanczos: sharp enough to compare with a real upscaler."""
    source = open_image(image)
    result = source.resize((source.width * 2, source.height * 2), Image.Resampling.LANCZOS)
    return [Output(png_bytes(result), "image/png", "upscaled.png")]


def enhance(image: bytes, params: Mapping[str, Any]) -> list[Output]:
    """Stretch the contrast, then sharpen; the alpha channel is left as it was.

    Autocontrast works per channel from the histogram, so it would also stretch a soft alpha
    edge; the colour channels are therefore processed on their own and the alpha put back.
    """
    source = open_image(image)
    alpha = source.getchannel("A") if source.mode == "RGBA" else None
    rgb = source.convert("RGB")
    result = ImageOps.autocontrast(rgb).filter(ImageFilter.SHARPEN)
    if alpha is not None:
        result.putalpha(alpha)
    return [Output(png_bytes(result), "image/png", "enhanced.png")]


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
    tolerance = number_param(params, "tolerance", 30, minimum=0, maximum=442)
    source = open_image(image).convert("RGBA")
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
    return [Output(png_bytes(cutout), "image/png", "cutout.png")]

"""A printable relief from an image: its brightness becomes height, written as binary STL.

The STL is written by hand with NumPy rather than with a mesh library, so the built-in
processors stay dependency-free; the tests check the result with numpy-stl instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from creditflow.jobs.processors._images import integer_param, number_param, open_image
from creditflow.jobs.processors.outputs import Output

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
    resolution = integer_param(params, "resolution", 64, minimum=2, maximum=1024)
    max_height = number_param(params, "max_height_mm", 5.0, minimum=0, maximum=1000)
    base_mm = number_param(params, "base_mm", 1.0, minimum=0.01, maximum=1000)
    pixel_mm = number_param(params, "pixel_mm", 1.0, minimum=0.001, maximum=1000)

    grey = open_image(image).convert("L")
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

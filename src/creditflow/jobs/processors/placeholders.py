"""Stand-ins for the operations that need a model: text-to-image generation and LoRA training.

They exist so the expensive operations' credit flow (hold, run, capture) can be walked through
without a GPU or a model download. Each result is deterministic and marked as a placeholder, in
its pixels and its metadata, so it can never pass for a real model's output.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np
from PIL import Image, ImageDraw
from PIL.PngImagePlugin import PngInfo

from creditflow.jobs.processors._images import (
    integer_param,
    json_bytes,
    open_image,
    png_bytes,
    text_param,
)
from creditflow.jobs.processors.outputs import Output

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
    width = min(integer_param(params, "width", 512, minimum=1, maximum=2**31), _MAX_GENERATED_SIDE)
    height = min(
        integer_param(params, "height", 512, minimum=1, maximum=2**31), _MAX_GENERATED_SIDE
    )
    prompt = text_param(params, "prompt") or ""
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
        base = open_image(image).convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
        result = Image.blend(base, result, 0.5)
    _label(result, "placeholder")

    info = PngInfo()
    info.add_text("placeholder", "true")
    info.add_text("note", _PLACEHOLDER_NOTE)
    if prompt:
        info.add_itxt("prompt", prompt)
    return [Output(png_bytes(result, info=info), "image/png", "placeholder.png")]


def lora_training(image: bytes, params: Mapping[str, Any]) -> list[Output]:
    """PLACEHOLDER for LoRA training: a model card saying so, and a small preview of the input.

    Training is the most expensive operation a site sells, so being able to walk through its
    hold and capture without a GPU is the point; the card must never pass for a real model.
    """
    source = open_image(image)
    card = {
        "placeholder": True,
        "note": _PLACEHOLDER_NOTE,
        "name": text_param(params, "name"),
        "trained_on": {"width": source.width, "height": source.height},
    }
    preview = source.convert("RGB")
    preview.thumbnail((128, 128))
    _label(preview, "placeholder")
    return [
        Output(json_bytes(card), "application/json", "model_card.json"),
        Output(png_bytes(preview), "image/png", "preview.png"),
    ]

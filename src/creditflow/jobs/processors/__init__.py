"""Built-in processors, made with Pillow and NumPy only, and the registry the worker runs them by.

They are enough for a person to try the whole flow (hold credits, run a job, capture or refund)
on their own machine without a GPU or a model download. A real site registers its own processors
under the same operation names; these stay small, deterministic and dependency-free.

Every processor reads the input from memory and returns bytes: nothing here touches the disk, so
a processor cannot leave files behind or be tricked into writing somewhere it should not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from creditflow.jobs.processors.height_map import image_to_stl as image_to_stl
from creditflow.jobs.processors.outputs import Output, UnknownOperation
from creditflow.jobs.processors.placeholders import generate as generate
from creditflow.jobs.processors.placeholders import lora_training as lora_training
from creditflow.jobs.processors.retouch import _flood_from_border as _flood_from_border
from creditflow.jobs.processors.retouch import enhance as enhance
from creditflow.jobs.processors.retouch import remove_background as remove_background
from creditflow.jobs.processors.retouch import upscale as upscale
from creditflow.jobs.processors.tagging import COLOUR_NAMES as COLOUR_NAMES
from creditflow.jobs.processors.tagging import colour_name as colour_name
from creditflow.jobs.processors.tagging import tag as tag

__all__ = [
    "PROCESSORS",
    "Output",
    "Processor",
    "UnknownOperation",
    "process",
]

Processor = Callable[[bytes, Mapping[str, Any]], list[Output]]

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

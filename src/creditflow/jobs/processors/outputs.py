"""What every processor returns, kept apart so each processor module can import it.

The registry in the package imports every processor, so these two types live here rather than
there: a processor importing them from the package would be an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Output:
    """One file a job produced, kept in memory until the worker uploads it."""

    data: bytes
    content_type: str
    name: str


class UnknownOperation(ValueError):
    """The job names an operation no processor is registered for, so it can never succeed."""

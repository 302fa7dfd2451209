"""Where job inputs and outputs live: addressed by the SHA-256 of their content.

A path is never built from anything a client sent, only from a hash we computed, so a file name
like `../../etc/passwd` cannot reach the disk. Storing the same bytes twice is a no-op, so a
file left behind by a rolled-back transaction is harmless and a retry stores nothing new.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol


class FileStore(Protocol):
    """What a bucket (S3, GCS) implements to hold job files instead of the local disk."""

    def put(self, data: bytes) -> str:
        """Store `data`; return its SHA-256 in hex, the only name it is known by."""
        ...

    def get(self, sha256: str) -> bytes:
        """The bytes stored under `sha256`; FileNotFoundError if there are none."""
        ...


class LocalFileStore:
    """Files under a data folder, fanned out as `ab/cd/abcd…` so no folder grows too large."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if path.exists():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write aside, flush to disk, then rename: a reader never sees half a file.
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return digest

    def get(self, sha256: str) -> bytes:
        return self._path(sha256).read_bytes()

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise FileNotFoundError(f"not a SHA-256 name: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

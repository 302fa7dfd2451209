"""Service settings from flags and the environment; the environment is an argument, so tests
pass a dict instead of patching `os.environ`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from creditflow.catalog_file import resolve_catalog_path
from creditflow.store.database import database_url

TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    database_url: str
    catalog_path: str | None
    test_clock: bool
    test_clock_start: datetime | None
    admin_key: str | None
    sqlite_synchronous: str
    data_dir: str = "data"
    """Job inputs and outputs (a content-addressed file store)."""
    due_work_interval: float = 1.0

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str],
        *,
        db: str | None = None,
        catalog: str | None = None,
        test_clock: bool = False,
        sqlite_synchronous: str | None = None,
        data_dir: str | None = None,
    ) -> Settings:
        start = environ.get("CREDITFLOW_TEST_CLOCK_START")
        return cls(
            database_url=database_url(db, environ),
            catalog_path=resolve_catalog_path(catalog, environ),
            test_clock=test_clock or environ.get("CREDITFLOW_TEST_CLOCK", "").lower() in TRUE,
            test_clock_start=_parse_start(start) if start else None,
            admin_key=environ.get("CREDITFLOW_ADMIN_KEY") or None,
            sqlite_synchronous=(
                sqlite_synchronous or environ.get("CREDITFLOW_SQLITE_SYNCHRONOUS") or "FULL"
            ).upper(),
            data_dir=data_dir or environ.get("CREDITFLOW_DATA_DIR") or "data",
        )


def _parse_start(raw: str) -> datetime:
    try:
        instant = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"CREDITFLOW_TEST_CLOCK_START={raw!r} is not an RFC 3339 time such as "
            "2026-11-22T10:00:00Z"
        ) from None
    if instant.tzinfo is None:
        raise ValueError(f"CREDITFLOW_TEST_CLOCK_START={raw!r} needs a timezone, such as Z")
    return instant

"""`creditflow serve --workers N`: each of uvicorn's worker processes builds its own app here.

The parent process resolves and checks the settings (flags, environment, the database, its
migrations) once, and hands them down in the environment: a worker is a fresh interpreter, so
that is the one channel uvicorn leaves. Every process has its own engine, connections and
group-commit writers over the one database; what must happen once (a due renewal, a claimed
provider call, an outgoing webhook) is claimed in the database, never in memory, so several
processes share the work without doing any of it twice.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from fastapi import FastAPI

from creditflow.api.app import create_app
from creditflow.catalog_file import CATALOG_ENV
from creditflow.engine import Engine
from creditflow.settings import Settings

WORKER_APP = "creditflow.api.workers:worker_app"


def environment_for_workers(settings: Settings) -> dict[str, str]:
    """The settings as the environment variables `Settings.load` reads back."""
    handed = {
        "CREDITFLOW_DATABASE_URL": settings.database_url,
        "CREDITFLOW_SQLITE_SYNCHRONOUS": settings.sqlite_synchronous,
        "CREDITFLOW_DATA_DIR": settings.data_dir,
    }
    if settings.catalog_path:
        handed[CATALOG_ENV] = settings.catalog_path
    return handed


def worker_app(environ: Mapping[str, str] | None = None) -> FastAPI:
    """uvicorn's factory, called once in each worker process."""
    settings = Settings.load(os.environ if environ is None else environ)
    engine = Engine(
        database_url=settings.database_url,
        catalog=settings.catalog_path,
        sqlite_synchronous=settings.sqlite_synchronous,
        data_dir=settings.data_dir,
        migrate=False,  # the parent migrated before starting any worker
    )
    return create_app(
        engine, admin_key=settings.admin_key, due_work_interval=settings.due_work_interval
    )

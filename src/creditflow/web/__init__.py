"""Server-rendered pages over the engine: the support console (and the customer portal)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from creditflow.web.layer import ASSETS, STATIC_DIR, error_page


def install_pages(app: FastAPI) -> None:
    """Mount the console, its assets, and its error pages (HTML, not the API's JSON)."""
    from creditflow.web.console import router as console_router
    from creditflow.web.console.session import CONSOLE

    app.mount(ASSETS, StaticFiles(directory=STATIC_DIR), name="web-assets")
    app.include_router(console_router)
    app.state.error_pages = {CONSOLE.path: error_page(CONSOLE)}

"""Server-rendered pages over the engine: the support console (and the customer portal)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from creditflow.web.layer import ASSETS, STATIC_DIR, error_page


def install_pages(app: FastAPI) -> None:
    """Mount the console and the portal, their assets, and their error pages (HTML, not the
    API's JSON)."""
    from creditflow.web.console import router as console_router
    from creditflow.web.console.session import CONSOLE
    from creditflow.web.portal import router as portal_router
    from creditflow.web.portal.session import PORTAL

    app.mount(ASSETS, StaticFiles(directory=STATIC_DIR), name="web-assets")
    app.include_router(console_router)
    app.include_router(portal_router)
    app.state.error_pages = {CONSOLE.path: error_page(CONSOLE), PORTAL.path: error_page(PORTAL)}

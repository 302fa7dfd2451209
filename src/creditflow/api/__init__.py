"""The HTTP service: FastAPI routers over `creditflow.Engine`."""

"""creditflow: a credits-and-subscriptions engine for AI image sites."""

from creditflow.client import AsyncClient, Client
from creditflow.engine import Engine

__all__ = ["AsyncClient", "Client", "Engine"]
__version__ = "0.1.0"

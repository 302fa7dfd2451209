"""creditflow: a credits-and-subscriptions engine for AI image sites."""

from creditflow.engine import Engine

__all__ = ["Engine"]
__version__ = "0.1.0"

"""Errors of calls to a payment provider's API."""


class ProviderError(Exception):
    """A provider could not be reached, or answered with an error; the message names both."""

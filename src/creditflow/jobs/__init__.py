"""Metered image jobs: input checks, file store, processors and the worker."""

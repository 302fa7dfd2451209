"""Prometheus metrics: requests, latencies, and credits granted and spent by kind."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from creditflow.domain.kinds import EntryType
from creditflow.domain.ledger import Transfer

_SPENT = (EntryType.CONSUME, EntryType.CAPTURE)


class Metrics:
    """One registry per engine, so two engines in one process (tests) never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "creditflow_http_requests",
            "HTTP requests answered, by method, route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "creditflow_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route.",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )
        self.granted = Counter(
            "creditflow_credits_granted",
            "Credits put into grants, by grant kind.",
            ["kind"],
            registry=self.registry,
        )
        self.spent = Counter(
            "creditflow_credits_spent",
            "Credits spent (consumed or captured), by grant kind.",
            ["kind"],
            registry=self.registry,
        )
        self.expired = Counter(
            "creditflow_credits_expired",
            "Credits that lapsed unspent, by grant kind.",
            ["kind"],
            registry=self.registry,
        )

        self._by_kind: dict[tuple[str, str], Any] = {}
        """Each counter's series of a kind, looked up once: `labels()` checks and locks on
        every call, and this runs on every spend."""

    def count_transfers(self, transfers: Sequence[Transfer]) -> None:
        for transfer in transfers:
            if transfer.type is EntryType.GRANT:
                counter = self.granted
            elif transfer.type in _SPENT:
                counter = self.spent
            elif transfer.type is EntryType.EXPIRE:
                counter = self.expired
            else:
                continue
            key = (transfer.type.value, transfer.kind.value)
            series = self._by_kind.get(key)
            if series is None:
                series = self._by_kind[key] = counter.labels(transfer.kind.value)
            series.inc(transfer.amount)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

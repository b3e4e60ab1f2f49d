"""Fault switches of the local EQC server: latency, error and 429 rates, hangs, token
expiry, and per-key rules — changed at runtime from any thread, drawn reproducibly.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

__all__ = ["DEFAULT_HANG_S", "FaultSwitches", "LatencyDistribution", "Rule"]

#: How long a hanging answer sleeps, far beyond any sensible client timeout (seconds).
DEFAULT_HANG_S = 300.0

LatencyDistribution = Literal["fixed", "uniform", "exponential"]


@dataclass(frozen=True, kw_only=True)
class Rule:
    """A per-key override for tests: answer ``status`` (and ``body``) for this key/targetId.

    ``times`` limits how often the rule fires (``None`` = always); ``hang`` makes the
    matching calls hang instead; ``retry_after`` adds the header to a 429.
    """

    status: int = 503
    body: Mapping[str, Any] | None = None
    times: int | None = None
    hang: bool = False
    retry_after: float | None = None


class FaultSwitches:
    """Fault injection settings, changed at runtime with :meth:`set` (thread-safe).

    * ``latency_ms`` — added to every answer; with ``latency_distribution`` ``"uniform"``
      drawn from ``[latency_ms, latency_max_ms]``, with ``"exponential"`` of mean
      ``latency_ms``;
    * ``error_rate`` — share of calls answered ``error_status`` (5xx);
    * ``rate_429`` — share of calls answered 429 with ``Retry-After: retry_after_s``;
    * ``token_expires_after`` — after this many authorized calls (counted from when it was
      set) every call answers ``{"error": "TokenExpired"}``;
    * ``hang_rate`` — share of calls that sleep ``hang_s`` before answering (interrupted
      when the server stops);
    * rules — per key/targetId overrides (:meth:`add_rule`), checked before the rates.

    Random draws come from one seeded generator, so a single-threaded test sees the same
    sequence of faults every run.
    """

    #: Every switch with its "off" value: the start state, and what :meth:`reset` restores.
    _DEFAULTS: ClassVar[dict[str, Any]] = {
        "latency_ms": 0.0,
        "latency_max_ms": None,
        "latency_distribution": "fixed",
        "error_rate": 0.0,
        "error_status": 503,
        "rate_429": 0.0,
        "retry_after_s": 1.0,
        "token_expires_after": None,
        "hang_rate": 0.0,
        "hang_s": DEFAULT_HANG_S,
    }
    latency_ms: float
    latency_max_ms: float | None
    latency_distribution: LatencyDistribution
    error_rate: float
    error_status: int
    rate_429: float
    retry_after_s: float | None
    token_expires_after: int | None
    hang_rate: float
    hang_s: float

    def __init__(self, *, seed: int = 0, **switches: Any) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)  # noqa: S311 - reproducible faults, not secrets
        self._authorized_calls = 0
        self._rules: dict[str, Rule] = {}
        self._rule_hits: dict[str, int] = {}
        self.set(**{**self._DEFAULTS, **switches})

    def set(self, **switches: Any) -> None:
        """Change switches by name; unknown names raise ``ValueError``."""
        unknown = sorted(set(switches) - set(self._DEFAULTS))
        if unknown:
            raise ValueError(f"unknown fault switches: {', '.join(unknown)}")
        with self._lock:
            for name, value in switches.items():
                setattr(self, name, value)
            if "token_expires_after" in switches:
                self._authorized_calls = 0

    def reset(self) -> None:
        """All switches off, rules cleared."""
        self.set(**self._DEFAULTS)
        self.clear_rules()

    def add_rule(self, key: str, rule: Rule | None = None, **fields: Any) -> None:
        """Answer calls for this search key or targetId per ``rule`` (or ``Rule(**fields)``)."""
        with self._lock:
            self._rules[key] = rule if rule is not None else Rule(**fields)
            self._rule_hits[key] = 0

    def clear_rules(self) -> None:
        with self._lock:
            self._rules.clear()
            self._rule_hits.clear()

    def snapshot(self) -> dict[str, Any]:
        """Current switch values (for display)."""
        with self._lock:
            return {name: getattr(self, name) for name in self._DEFAULTS}

    # -- decisions, each under the lock -------------------------------------------------

    def draw_latency_s(self) -> float:
        with self._lock:
            base = max(0.0, self.latency_ms)
            if self.latency_distribution == "uniform" and self.latency_max_ms is not None:
                value = self._rng.uniform(base, max(base, self.latency_max_ms))
            elif self.latency_distribution == "exponential" and base > 0:
                value = self._rng.expovariate(1.0 / base)
            else:
                value = base
        return value / 1000.0

    def count_authorized_call(self) -> bool:
        """Count one authorized call; ``True`` when the token has expired by now."""
        with self._lock:
            self._authorized_calls += 1
            limit = self.token_expires_after
            return limit is not None and self._authorized_calls > limit

    def match_rule(self, keys: tuple[str | None, ...]) -> Rule | None:
        with self._lock:
            for key in keys:
                if key is None or key not in self._rules:
                    continue
                rule = self._rules[key]
                if rule.times is not None and self._rule_hits[key] >= rule.times:
                    continue
                self._rule_hits[key] += 1
                return rule
        return None

    def draw(self) -> tuple[bool, bool, bool]:
        """(hang, 429, error) for one call."""
        with self._lock:
            hang = self.hang_rate > 0 and self._rng.random() < self.hang_rate
            limited = self.rate_429 > 0 and self._rng.random() < self.rate_429
            failed = self.error_rate > 0 and self._rng.random() < self.error_rate
            return hang, limited, failed

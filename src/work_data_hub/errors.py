"""The exception tree of the project.

Every error the project raises on purpose derives from :class:`WdhError`, so entry points
(CLI, Dagster) can tell a handled failure from a bug with one ``except``::

    WdhError
    ├── ConfigError          a setting is missing or invalid (names the variable)
    ├── InputError           an input file or frame cannot be used (names the column/file)
    ├── StorageError         the database failed (foreign driver errors are wrapped here)
    └── EqcError             the EQC registry failed
        ├── EqcAuthError     token missing, rejected or expired: stop using EQC for the run
        ├── EqcTransientError timeouts, 429 and 5xx after retries: worth trying again later
        └── EqcRateLimitWait no rate-limit slot within the wait allowed: nothing was sent

A class docstring doubles as the default message. Messages name variables, columns,
files and counts — never company names, temporary ids, tokens, salts or passwords.
Facts travel as attributes (``variable``, ``status_code``, ``retry_after``).
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "EqcAuthError",
    "EqcError",
    "EqcRateLimitWait",
    "EqcTransientError",
    "InputError",
    "StorageError",
    "WdhError",
]


class WdhError(Exception):
    """WorkDataHub enrichment failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__class__.__doc__ or "").strip())


class ConfigError(WdhError):
    """A setting is missing or invalid."""

    def __init__(self, message: str | None = None, *, variable: str | None = None) -> None:
        super().__init__(message)
        self.variable = variable


class InputError(WdhError):
    """The input cannot be used."""


class StorageError(WdhError):
    """The database operation failed."""

    def __init__(self, message: str | None = None, *, error_type: str | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type


class EqcError(WdhError):
    """The EQC registry request failed."""

    def __init__(
        self,
        message: str | None = None,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after


class EqcAuthError(EqcError):
    """The EQC token is missing, rejected or expired."""


class EqcTransientError(EqcError):
    """The EQC registry is temporarily unavailable."""


# Waiting is not failing: callers never spend an attempt, a budget unit or an error count
# on it (spec section 3).
class EqcRateLimitWait(EqcError):
    """No EQC rate-limit slot came free within the wait allowed; nothing was sent."""

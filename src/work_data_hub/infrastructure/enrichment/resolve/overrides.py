"""YAML company-id overrides: five files, one per priority level, read into plain dicts.

``<mappings_dir>/company_id_overrides_<level>.yml`` for the levels of
:data:`~work_data_hub.infrastructure.enrichment.types.YAML_LEVELS`:

* ``plan`` and ``account`` — ``code: company_id``; codes are trimmed;
* ``hardcode`` — ``plan_code: {customer name: company_id}``, flattened to
  ``"<plan code>|<normalized name>"`` keys (the alias form of ``company_mapping``);
* ``name`` and ``account_name`` — ``name: company_id``; names are stored normalized with
  :func:`~work_data_hub.infrastructure.enrichment.normalizer.normalize_for_temp_id`.

A value of :data:`EMPTY_VALUE` is kept as it is: it marks a known non-company, which the
resolver settles as excluded.

The files are configuration written by people, so the parser is strict where PyYAML is
forgiving: it is ``SafeLoader`` (``safe_load``'s loader) minus aliases (no "billion laughs"
expansion), minus implicit typing (an unquoted ``0012`` stays ``"0012"``, ``no`` stays
``"no"``, ids never become floats), and with duplicate keys refused; files above
:data:`MAX_OVERRIDE_FILE_BYTES` are refused unread (the loader is :mod:`_strict_yaml`,
imported when a file is read). Every problem is a ``ValueError`` naming
the file and, where there is one, the key. Messages may quote keys of the configuration;
logs never do — they carry counts only.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from work_data_hub.infrastructure.enrichment import company_ids, normalizer
from work_data_hub.infrastructure.enrichment.types import (
    EXCLUDED_MARKER,
    HARDCODE_SEPARATOR,
    YAML_LEVELS,
)
from work_data_hub.settings import Settings
from work_data_hub.utils import clock
from work_data_hub.utils.logging import get_logger

__all__ = [
    "EMPTY_VALUE",
    "MAX_OVERRIDE_FILE_BYTES",
    "OVERRIDE_FILE_TEMPLATE",
    "load_company_id_overrides",
    "override_file_name",
]

log = get_logger(__name__)

#: Marks a known non-company: the row is excluded, never looked up or queued.
EMPTY_VALUE = EXCLUDED_MARKER
OVERRIDE_FILE_TEMPLATE = "company_id_overrides_{level}.yml"
#: Larger files are refused before they are read (a real override file is a few hundred kB).
MAX_OVERRIDE_FILE_BYTES = 8 * 1024 * 1024

_NAME_LEVELS = frozenset({"name", "account_name"})


def override_file_name(level: str) -> str:
    """The file name of ``level``'s overrides, e.g. ``company_id_overrides_plan.yml``."""
    return OVERRIDE_FILE_TEMPLATE.format(level=level)


def load_company_id_overrides(
    mappings_dir: str | Path | None = None,
) -> dict[str, dict[str, str]]:
    """Read the five override levels from ``mappings_dir``; every level is in the result.

    ``mappings_dir`` defaults to ``Settings.from_env().mappings_dir`` (``WDH_MAPPINGS_DIR``,
    else ``data/mappings``). A missing directory or file is an empty level.
    """
    started = time.perf_counter()
    directory = Path(mappings_dir) if mappings_dir is not None else Settings.from_env().mappings_dir
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"{directory}: the mappings directory is not a directory")
    overrides = {
        level: _load_level(directory / override_file_name(level), level) for level in YAML_LEVELS
    }
    log.info(
        "overrides.loaded",
        **{level: len(entries) for level, entries in overrides.items()},
        excluded=sum(v == EMPTY_VALUE for entries in overrides.values() for v in entries.values()),
        elapsed_ms=clock.ms_since(started),
    )
    return overrides


def _load_level(path: Path, level: str) -> dict[str, str]:
    document = _read_yaml(path)
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise ValueError(f"{path}: expected a mapping of key to company id, got {_kind(document)}")
    merged = _Merged(path)
    if level == "hardcode":
        for raw_plan, names in document.items():
            plan = _code(path, raw_plan)
            if names is None:
                continue
            if not isinstance(names, Mapping):
                raise ValueError(
                    f"{path}: key {plan!r}: expected a mapping of customer name to company id,"
                    f" got {_kind(names)}"
                )
            for raw_name, value in names.items():
                label = f"{plan}{HARDCODE_SEPARATOR}{_text(path, raw_name)}"
                key = f"{plan}{HARDCODE_SEPARATOR}{_normalized(path, raw_name, label)}"
                merged.add(key, label, _company_id(path, label, value))
    else:
        for raw_key, value in document.items():
            label = _text(path, raw_key)
            key = (
                _normalized(path, raw_key, label) if level in _NAME_LEVELS else _code(path, raw_key)
            )
            merged.add(key, label, _company_id(path, label, value))
    return merged.entries


class _Merged:
    """Entries of one file, refusing two spellings of one key that disagree."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, str] = {}
        self._spelling: dict[str, str] = {}

    def add(self, key: str, label: str, company_id: str) -> None:
        known = self.entries.get(key)
        if known is not None and known != company_id:
            raise ValueError(
                f"{self.path}: keys {self._spelling[key]!r} and {label!r} name the same key"
                " with different company ids"
            )
        self.entries[key] = company_id
        self._spelling.setdefault(key, label)


def _read_yaml(path: Path) -> Any:
    if not path.exists():
        return None
    if not path.is_file():
        raise ValueError(f"{path}: not a regular file")
    size = path.stat().st_size
    if size > MAX_OVERRIDE_FILE_BYTES:
        raise ValueError(f"{path}: file has {size} bytes, more than {MAX_OVERRIDE_FILE_BYTES}")
    with path.open("rb") as handle:  # bounded even if the file grows after stat()
        data = handle.read(MAX_OVERRIDE_FILE_BYTES + 1)
    if len(data) > MAX_OVERRIDE_FILE_BYTES:  # pragma: no cover - grew after stat()
        raise ValueError(f"{path}: file has more than {MAX_OVERRIDE_FILE_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    # PyYAML loads with the first file read, not with the package.
    from work_data_hub.infrastructure.enrichment.resolve import _strict_yaml  # noqa: PLC0415

    return _strict_yaml.parse(path, text)


def _text(path: Path, raw_key: object) -> str:
    if isinstance(raw_key, bool) or not isinstance(raw_key, str | int | float):
        raise ValueError(f"{path}: key {raw_key!r} is not a string")
    return str(raw_key)


def _code(path: Path, raw_key: object) -> str:
    code = _text(path, raw_key).strip()
    if not code:
        raise ValueError(f"{path}: key {raw_key!r} is empty")
    return code


def _normalized(path: Path, raw_key: object, label: str) -> str:
    normalized = normalizer.normalize_for_temp_id(_text(path, raw_key))
    if not normalized:
        raise ValueError(f"{path}: key {label!r} normalizes to an empty name")
    return normalized


def _company_id(path: Path, label: str, value: object) -> str:
    if value is None:
        raise ValueError(f"{path}: key {label!r} has no company id")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{path}: key {label!r}: company id must be a scalar, got {_kind(value)}")
    if isinstance(value, str) and value.strip() == EXCLUDED_MARKER:
        return EXCLUDED_MARKER
    check = company_ids.check_company_id(value)
    if check.company_id is None:
        if check.problem is company_ids.IdProblem.MISSING and not str(value).strip():
            raise ValueError(f"{path}: key {label!r} has an empty company id")
        raise ValueError(f"{path}: key {label!r}: company id {check.problem}")
    return check.company_id


def _kind(value: object) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"

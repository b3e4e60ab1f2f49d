"""The file formats the tool reads and writes, named by a path's suffix."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from work_data_hub.errors import InputError

__all__ = ["DEFAULT_CHUNK_ROWS", "FileFormat", "detect_format"]

#: Rows per chunk for CSV and Parquet: a few hundred MB at most for typical annuity files.
DEFAULT_CHUNK_ROWS = 200_000
_SUFFIXES = {
    ".csv": "csv",
    ".txt": "csv",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
    ".ods": "excel",
    ".parquet": "parquet",
    ".pq": "parquet",
}


class FileFormat(StrEnum):
    """The file formats the tool reads and writes (Excel: read all kinds, write .xlsx)."""

    CSV = "csv"
    EXCEL = "excel"
    PARQUET = "parquet"


def detect_format(path: Path) -> FileFormat:
    """The format named by ``path``'s suffix."""
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputError(
            f"unsupported file type {path.suffix or '(none)'!r} for {path.name}: "
            "use .csv, .xlsx, .xls, .ods or .parquet"
        )
    return FileFormat(kind)

"""Monthly workbooks in: ``.xlsx``, ``.xlsm``, ``.xls`` and ``.ods`` through calamine.

python-calamine (the Rust reader behind pandas' ``engine="calamine"``) is used directly,
because this module needs what ``read_excel`` hides: every sheet's raw grid, to find the
header row under title rows and to copy the sheets that are not resolved into the output.

* Sheets are chosen by name or position (``"Data"``, ``"2"`` — a name wins over a
  position); ``all_sheets`` takes every sheet holding the required column.
* The header row is ``header_row`` (1-based) when given, else the first of the first
  :data:`HEADER_SEARCH_ROWS` rows holding the required column, else the first row.
* Blank header cells get positional names (``column_3``); duplicates are an error.
* Limits: a workbook whose parts inflate past :data:`MAX_INFLATED_BYTES`, or with more than
  :data:`MAX_CELLS` cells, is refused with one clear error before it can exhaust memory.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import python_calamine  # type: ignore[import-untyped,unused-ignore]

from work_data_hub.errors import InputError

__all__ = [
    "HEADER_SEARCH_ROWS",
    "MAX_CELLS",
    "MAX_INFLATED_BYTES",
    "SheetTable",
    "Workbook",
    "cell_text",
    "column_names",
    "read_workbook",
]

#: Rows searched for the header when title rows sit above it.
HEADER_SEARCH_ROWS = 20
#: Cells in one workbook (about 1 GB of memory as Python values).
MAX_CELLS = 20_000_000
#: Uncompressed size of a zip-based workbook's parts (a "zip bomb" is refused unread).
MAX_INFLATED_BYTES = 1 << 30

Row = list[Any]


def cell_text(value: Any) -> str | None:
    """A spreadsheet value as the text the resolver reads (``None`` for an empty cell)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def column_names(header: Sequence[Any], where: str) -> list[str]:
    """Header cells as column names: blanks positional (``column_3``), duplicates refused."""
    names = []
    for position, cell in enumerate(header, start=1):
        text = cell_text(cell)
        text = "" if text is None else text.strip()
        names.append(text or f"column_{position}")
    duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicates:
        raise InputError(f"duplicate column names in {where}: {', '.join(duplicates)}")
    return names


@dataclass(frozen=True, kw_only=True)
class SheetTable:
    """One sheet read as a table: rows above the header, the header, the rows as text."""

    name: str
    preamble: list[Row]
    columns: list[str]
    frame: pd.DataFrame


@dataclass(frozen=True, kw_only=True)
class Workbook:
    """The sheets to resolve, and every sheet's raw grid in workbook order (for the output)."""

    tables: list[SheetTable]
    grids: dict[str, list[Row]]


def _check_inflated_size(path: Path) -> None:
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"cannot read {path.name}: {type(exc).__name__}") from exc
    if inflated > MAX_INFLATED_BYTES:
        raise InputError(
            f"{path.name} inflates to {inflated // (1 << 20)} MB, above the "
            f"{MAX_INFLATED_BYTES // (1 << 20)} MB limit for workbooks: split it or export CSV"
        )


def _read_grids(path: Path) -> dict[str, list[Row]]:
    _check_inflated_size(path)
    grids: dict[str, list[Row]] = {}
    cells = 0
    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        try:
            for name in book.sheet_names:
                rows: list[Row] = []
                for row in book.get_sheet_by_name(name).iter_rows():
                    cells += len(row)
                    if cells > MAX_CELLS:
                        raise InputError(
                            f"{path.name} has more than {MAX_CELLS:,} cells: "
                            "split it or export the sheet as CSV"
                        )
                    rows.append(list(row))
                grids[str(name)] = rows
        finally:
            book.close()
    except InputError:
        raise
    except Exception as exc:  # calamine raises its own types and ValueError for bad files
        raise InputError(f"cannot read {path.name}: {type(exc).__name__}") from exc
    return grids


def _has_column(row: Row, column: str) -> bool:
    return any(isinstance(cell, str) and cell.strip() == column for cell in row)


def _header_index(rows: list[Row], column: str | None, header_row: int | None) -> int | None:
    if header_row is not None:
        return header_row - 1 if header_row <= len(rows) else None
    if column is None:
        return 0 if rows else None
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if _has_column(row, column):
            return index
    return 0 if rows else None


def _table(path: Path, name: str, rows: list[Row], index: int) -> SheetTable:
    where = f"{path.name} sheet {name!r}"
    header = rows[index]
    body = rows[index + 1 :]
    width = max([len(header), *(len(r) for r in body)]) if body else len(header)
    columns = column_names([*header, *[""] * (width - len(header))], where)
    data = {
        column: pd.array([cell_text(r[i]) if i < len(r) else None for r in body], dtype="string")
        for i, column in enumerate(columns)
    }
    return SheetTable(name=name, preamble=rows[:index], columns=columns, frame=pd.DataFrame(data))


def _pick_sheet(path: Path, names: list[str], sheet: str) -> str:
    if sheet in names:
        return sheet
    if sheet.isdigit() and 1 <= int(sheet) <= len(names):
        return names[int(sheet) - 1]
    raise InputError(
        f"sheet {sheet!r} not found in {path.name}; sheets: {', '.join(names)} "
        "(a name or a position from 1)"
    )


def read_workbook(
    path: Path,
    *,
    sheet: str | None = None,
    all_sheets: bool = False,
    required_column: str | None = None,
    header_row: int | None = None,
) -> Workbook:
    """Read ``path`` and pick the sheets to resolve (see the module doc).

    ``required_column`` (the customer-name column) finds the header row and, with
    ``all_sheets``, the sheets; a chosen sheet without it is an error naming the sheets
    that have it.
    """
    grids = _read_grids(path)
    names = list(grids)
    if not names:
        raise InputError(f"{path.name} has no sheets")
    headers = {
        name: _header_index(rows, required_column, header_row) for name, rows in grids.items()
    }
    holding = [
        name
        for name, index in headers.items()
        if index is not None
        and (required_column is None or _has_column(grids[name][index], required_column))
    ]
    if all_sheets:
        chosen = holding
        if not chosen:
            raise InputError(
                f"no sheet of {path.name} has a column {required_column!r} "
                f"in its first {HEADER_SEARCH_ROWS} rows; sheets: {', '.join(names)}"
            )
    else:
        chosen = [_pick_sheet(path, names, sheet) if sheet is not None else names[0]]
        if required_column is not None and chosen[0] not in holding:
            hint = (
                f"sheets with it: {', '.join(repr(h) for h in holding)} "
                "(choose one with --sheet, or --all-sheets)"
                if holding
                else "no sheet has it (map a column with --column-map 客户名称=<column>)"
            )
            raise InputError(
                f"sheet {chosen[0]!r} of {path.name} has no column {required_column!r}; {hint}"
            )
    tables = []
    for name in chosen:
        index = headers[name]
        if index is None:
            raise InputError(f"sheet {name!r} of {path.name} has no header row")
        tables.append(_table(path, name, grids[name], index))
    return Workbook(tables=tables, grids=grids)

"""CSV, Excel and Parquet in, with CSV and Parquet read in chunks; writers re-exported.

Every CSV and Excel cell is read as text, so identifiers such as ``00123`` keep their leading
zeros and only empty cells become missing values (``N/A`` stays ``N/A``: telling
placeholders apart is the resolver's job). Parquet keeps its column types, except the
columns a caller names as keys, which are turned into text. Output goes in the format of the
input (Excel as ``.xlsx``); CSV keeps the input's encoding.

UTF-8 CSV is parsed by pyarrow's multi-threaded reader (:mod:`~work_data_hub.io._arrow_csv`),
which gives the frames pandas' reader would; pandas reads other encodings, and the rest of a
file from where pyarrow gives up (short rows, which pandas pads; errors, which it names by
line). CSV encodings are decided with certainty (:mod:`~work_data_hub.io._encoding`); workbooks
(``.xlsx``, ``.xls``, ``.ods``) are read by :mod:`~work_data_hub.io.workbook`, which finds
the header under title rows and picks the sheets. Problems with a file (missing,
unreadable, undecodable, unknown sheet, duplicate column names, a ragged row) raise
:class:`~work_data_hub.errors.InputError` naming the file, sheet, column or line.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from work_data_hub.errors import InputError
from work_data_hub.io import workbook
from work_data_hub.io._arrow_csv import ARROW_ENCODINGS, ArrowFallback, arrow_csv_chunks
from work_data_hub.io._encoding import detect_csv_encoding, sniff_encoding
from work_data_hub.io._formats import DEFAULT_CHUNK_ROWS, FileFormat, detect_format
from work_data_hub.io.writer import FrameWriter, open_writer, write_frame

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "FileFormat",
    "FrameSource",
    "FrameWriter",
    "detect_csv_encoding",
    "detect_format",
    "open_source",
    "open_writer",
    "read_frame",
    "write_frame",
]

_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise InputError(f"input file not found: {path}")
    if not path.is_file():
        raise InputError(f"input is not a file: {path}")
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {type(exc).__name__}") from exc


def _as_text(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    for column in columns:
        if column in frame.columns and not pd.api.types.is_string_dtype(frame[column].dtype):
            values = frame[column]
            text = values.map(_cell_text, na_action="ignore")
            frame[column] = text.astype("string")
    return frame


def _cell_text(value: object) -> object:
    # Integral floats (Parquet columns with nulls) read as 123.0; the id is "123".
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _parse_error(path: Path, exc: Exception) -> InputError:
    # pandas names the line of a ragged row only in its message; it quotes no cell.
    ragged = _RAGGED.search(str(exc)) if isinstance(exc, pd.errors.ParserError) else None
    if ragged is not None:
        expected, line, saw = ragged.groups()
        return InputError(
            f"cannot parse {path.name}: line {line} has {saw} fields, the header has {expected}"
        )
    return InputError(f"cannot parse {path.name}: {type(exc).__name__}")


@dataclass(frozen=True)
class FrameSource:
    """An input file, opened lazily: its format, encoding or sheets, and its header.

    For a workbook, ``sheets`` are the sheets to resolve (``columns`` is the first one's
    header), ``grids`` every sheet's raw rows and ``preambles`` the rows above each
    resolved sheet's header, so the output can keep the whole workbook.
    """

    path: Path
    format: FileFormat
    columns: list[str]
    encoding: str | None = None
    sheet: str | None = None
    text_columns: tuple[str, ...] = ()
    total_rows: int | None = None
    encoding_errors: str = "strict"
    replaced_bytes: int = 0
    sheets: tuple[str, ...] = ()
    _excel: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    grids: dict[str, list[list[object]]] = field(default_factory=dict, repr=False)
    preambles: dict[str, list[list[object]]] = field(default_factory=dict, repr=False)

    def iter_parts(
        self, chunk_rows: int = DEFAULT_CHUNK_ROWS
    ) -> Iterator[tuple[str | None, pd.DataFrame]]:
        """``(sheet, frame)`` in order: one frame per sheet, or chunks (sheet ``None``)."""
        if chunk_rows <= 0:
            raise ValueError("chunk_rows must be positive")
        if self.format is FileFormat.EXCEL:
            for name in self.sheets:
                yield name, self._excel[name]
            return
        chunks = (
            self._parquet_chunks(chunk_rows)
            if self.format is FileFormat.PARQUET
            else self._csv_chunks(chunk_rows)
        )
        for chunk in chunks:
            yield None, chunk

    def iter_chunks(self, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[pd.DataFrame]:
        """The rows in order, in frames of at most ``chunk_rows`` (one frame per sheet)."""
        for _, frame in self.iter_parts(chunk_rows):
            yield frame

    def columns_of(self, sheet: str | None) -> list[str]:
        """The header of ``sheet`` (of the file when ``None``)."""
        if sheet is None:
            return self.columns
        return [str(c) for c in self._excel[sheet].columns]

    def _csv_chunks(self, chunk_rows: int) -> Iterator[pd.DataFrame]:
        if self.encoding not in ARROW_ENCODINGS or self.encoding_errors != "strict":
            yield from self._pandas_csv_chunks(chunk_rows)
            return
        try:
            yield from arrow_csv_chunks(self.path, self.columns, chunk_rows)
        except ArrowFallback as stop:
            # pandas reads the rest by its rules (short rows padded) or names the bad line.
            yield from self._pandas_csv_chunks(chunk_rows, skip=stop.rows_done)
        except OSError as exc:
            raise _parse_error(self.path, exc) from exc

    def _pandas_csv_chunks(self, chunk_rows: int, skip: int = 0) -> Iterator[pd.DataFrame]:
        """pandas' reader, from data row ``skip`` on (rows before it were read already)."""
        try:
            reader = pd.read_csv(
                self.path,
                encoding=self.encoding,
                encoding_errors=self.encoding_errors,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                chunksize=chunk_rows,
                header=0,
                names=self.columns,
            )
            with reader:
                for chunk in reader:
                    if skip and skip >= len(chunk):
                        skip -= len(chunk)
                        continue
                    yield chunk.iloc[skip:] if skip else chunk
                    skip = 0
        except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
            raise _parse_error(self.path, exc) from exc

    def _parquet_chunks(self, chunk_rows: int) -> Iterator[pd.DataFrame]:
        try:
            parquet = pq.ParquetFile(self.path)
            for batch in parquet.iter_batches(batch_size=chunk_rows):
                yield _as_text(batch.to_pandas(), self.text_columns)
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"cannot read {self.path.name}: {type(exc).__name__}") from exc


def open_source(
    path: Path | str,
    *,
    sheet: str | None = None,
    text_columns: Iterable[str] = (),
    encoding: str | None = None,
    all_sheets: bool = False,
    header_row: int | None = None,
    required_column: str | None = None,
) -> FrameSource:
    """Open ``path`` for reading; ``text_columns`` are read as text in Parquet files too.

    ``encoding`` forces a CSV's encoding; ``sheet`` (a name or a position from 1),
    ``all_sheets``, ``header_row`` (1-based) and ``required_column`` (the customer-name
    column: it finds the header row and the sheets) apply to workbooks.
    """
    path = Path(path)
    fmt = detect_format(path)
    _check_readable(path)
    if fmt is FileFormat.CSV:
        return _open_csv(path, encoding)
    if fmt is FileFormat.PARQUET:
        return _open_parquet(path, tuple(text_columns))
    book = workbook.read_workbook(
        path,
        sheet=sheet,
        all_sheets=all_sheets,
        required_column=required_column,
        header_row=header_row,
    )
    first = book.tables[0]
    return FrameSource(
        path=path,
        format=FileFormat.EXCEL,
        columns=first.columns,
        sheet=first.name,
        total_rows=sum(len(t.frame) for t in book.tables),
        sheets=tuple(t.name for t in book.tables),
        _excel={t.name: t.frame for t in book.tables},
        grids=book.grids,
        preambles={t.name: t.preamble for t in book.tables},
    )


def _open_csv(path: Path, forced: str | None) -> FrameSource:
    encoding = sniff_encoding(path, forced)
    with path.open(encoding=encoding.name, errors=encoding.errors, newline="") as handle:
        header = next(csv.reader(handle), None)
    if not header:
        raise InputError(f"{path.name} has no header row")
    columns = workbook.column_names(header, path.name)
    return FrameSource(
        path=path,
        format=FileFormat.CSV,
        columns=columns,
        encoding=encoding.name,
        encoding_errors=encoding.errors,
        replaced_bytes=encoding.replaced,
    )


def _open_parquet(path: Path, text_columns: tuple[str, ...]) -> FrameSource:
    try:
        with pq.ParquetFile(path) as parquet:  # one read of the footer, file closed after
            names = parquet.schema_arrow.names
            total_rows = parquet.metadata.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"cannot read {path.name}: {type(exc).__name__}") from exc
    return FrameSource(
        path=path,
        format=FileFormat.PARQUET,
        columns=workbook.column_names(names, path.name),
        text_columns=text_columns,
        total_rows=total_rows,
    )


def read_frame(
    path: Path | str,
    *,
    sheet: str | None = None,
    text_columns: Iterable[str] = (),
    encoding: str | None = None,
) -> pd.DataFrame:
    """The whole file as one frame (small files: reviewed mappings, remap inputs in tests)."""
    source = open_source(path, sheet=sheet, text_columns=text_columns, encoding=encoding)
    chunks = list(source.iter_chunks())
    if not chunks:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in source.columns})
    return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]

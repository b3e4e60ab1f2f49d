"""CSV, Excel and Parquet in and out, with CSV and Parquet read and written in chunks.

Every CSV and Excel cell is read as text, so identifiers such as ``00123`` keep their leading
zeros and only empty cells become missing values (``N/A`` stays ``N/A``: telling
placeholders apart is the resolver's job). Parquet keeps its column types, except the
columns a caller names as keys, which are turned into text. Output goes in the format of the
input; CSV keeps the input's encoding.

Problems with a file (missing, unreadable, undecodable, unknown sheet, duplicate column
names) raise :class:`~work_data_hub.errors.InputError` naming the file, sheet or column.
"""

from __future__ import annotations

import codecs
import csv
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from work_data_hub.errors import InputError
from work_data_hub.io._encoding import detect_csv_encoding

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

#: Rows per chunk for CSV and Parquet: a few hundred MB at most for typical annuity files.
DEFAULT_CHUNK_ROWS = 200_000
_ARROW_CSV_ENCODINGS = ("utf-8", "utf-8-sig")
_SUFFIXES = {
    ".csv": "csv",
    ".txt": "csv",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".parquet": "parquet",
    ".pq": "parquet",
}


class FileFormat(StrEnum):
    """The file formats the tool reads and writes."""

    CSV = "csv"
    EXCEL = "excel"
    PARQUET = "parquet"


def detect_format(path: Path) -> FileFormat:
    """The format named by ``path``'s suffix."""
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputError(
            f"unsupported file type {path.suffix or '(none)'!r} for {path.name}: "
            "use .csv, .xlsx or .parquet"
        )
    return FileFormat(kind)


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


def _check_columns(columns: Sequence[object], where: str) -> list[str]:
    names = ["" if c is None else str(c).strip() for c in columns]
    duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicates:
        raise InputError(f"duplicate column names in {where}: {', '.join(duplicates)}")
    return names


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


@dataclass(frozen=True)
class FrameSource:
    """An input file, opened lazily: its format, encoding or sheet, and its header."""

    path: Path
    format: FileFormat
    columns: list[str]
    encoding: str | None = None
    sheet: str | None = None
    text_columns: tuple[str, ...] = ()
    total_rows: int | None = None
    _excel: pd.DataFrame | None = field(default=None, repr=False)

    def iter_chunks(self, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[pd.DataFrame]:
        """The rows in order, in frames of at most ``chunk_rows`` (one frame for Excel)."""
        if chunk_rows <= 0:
            raise ValueError("chunk_rows must be positive")
        if self.format is FileFormat.EXCEL:
            assert self._excel is not None
            yield self._excel
            return
        if self.format is FileFormat.PARQUET:
            yield from self._parquet_chunks(chunk_rows)
            return
        yield from self._csv_chunks(chunk_rows)

    def _csv_chunks(self, chunk_rows: int) -> Iterator[pd.DataFrame]:
        try:
            reader = pd.read_csv(
                self.path,
                encoding=self.encoding,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                chunksize=chunk_rows,
                header=0,
                names=self.columns,
            )
            with reader:
                yield from reader
        except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
            raise InputError(f"cannot parse {self.path.name}: {type(exc).__name__}") from exc

    def _parquet_chunks(self, chunk_rows: int) -> Iterator[pd.DataFrame]:
        try:
            parquet = pq.ParquetFile(self.path)
            for batch in parquet.iter_batches(batch_size=chunk_rows):
                yield _as_text(batch.to_pandas(), self.text_columns)
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"cannot read {self.path.name}: {type(exc).__name__}") from exc


def open_source(
    path: Path | str, *, sheet: str | None = None, text_columns: Iterable[str] = ()
) -> FrameSource:
    """Open ``path`` for reading; ``text_columns`` are read as text in Parquet files too."""
    path = Path(path)
    fmt = detect_format(path)
    _check_readable(path)
    if fmt is FileFormat.CSV:
        return _open_csv(path)
    if fmt is FileFormat.PARQUET:
        return _open_parquet(path, tuple(text_columns))
    return _open_excel(path, sheet)


def _open_csv(path: Path) -> FrameSource:
    encoding = detect_csv_encoding(path)
    with path.open(encoding=encoding, newline="") as handle:
        header = next(csv.reader(handle), None)
    if not header:
        raise InputError(f"{path.name} has no header row")
    columns = _check_columns(header, path.name)
    return FrameSource(path=path, format=FileFormat.CSV, columns=columns, encoding=encoding)


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
        columns=_check_columns(names, path.name),
        text_columns=text_columns,
        total_rows=total_rows,
    )


def _open_excel(path: Path, sheet: str | None) -> FrameSource:
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for a bad workbook
        raise InputError(f"cannot read {path.name}: {type(exc).__name__}") from exc
    with book:
        sheets = [str(s) for s in book.sheet_names]
        if sheet is None:
            sheet = sheets[0]
        elif sheet not in sheets:
            raise InputError(
                f"sheet {sheet!r} not found in {path.name}; sheets: {', '.join(sheets)}"
            )
        raw = pd.read_excel(
            book, sheet_name=sheet, header=None, dtype=str, keep_default_na=False, na_values=[""]
        )
    if raw.empty:
        raise InputError(f"sheet {sheet!r} of {path.name} has no header row")
    columns = _check_columns(list(raw.iloc[0]), f"{path.name} sheet {sheet!r}")
    frame = raw.iloc[1:].reset_index(drop=True)
    frame.columns = pd.Index(columns)
    frame = frame.astype("string")
    return FrameSource(
        path=path,
        format=FileFormat.EXCEL,
        columns=columns,
        sheet=sheet,
        total_rows=len(frame),
        _excel=frame,
    )


def read_frame(
    path: Path | str, *, sheet: str | None = None, text_columns: Iterable[str] = ()
) -> pd.DataFrame:
    """The whole file as one frame (small files: reviewed mappings, remap inputs in tests)."""
    source = open_source(path, sheet=sheet, text_columns=text_columns)
    chunks = list(source.iter_chunks())
    if not chunks:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in source.columns})
    return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]


class FrameWriter:
    """Appends frames to one output file: CSV and Parquet as they come, Excel at close."""

    def __init__(
        self,
        path: Path,
        fmt: FileFormat,
        *,
        encoding: str | None = None,
        sheet: str | None = None,
    ) -> None:
        self.path = path
        self.format = fmt
        self.encoding = encoding or "utf-8"
        self.sheet = sheet or "Sheet1"
        self.rows_written = 0
        self._parquet: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._excel: list[pd.DataFrame] = []
        self._csv: Any = None
        self._handle: Any = None
        self._started = False

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame`` (same columns as the first frame)."""
        try:
            if self.format is FileFormat.CSV and self.encoding in _ARROW_CSV_ENCODINGS:
                self._write_arrow_csv(frame)
            elif self.format is FileFormat.CSV:
                frame.to_csv(
                    self.path,
                    mode="a" if self._started else "w",
                    header=not self._started,
                    index=False,
                    # UTF-8 goes through the arrow writer above: no byte-order mark here.
                    encoding=self.encoding,
                )
            elif self.format is FileFormat.PARQUET:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                if self._parquet is None:
                    self._schema = table.schema
                    self._parquet = pq.ParquetWriter(self.path, self._schema)
                else:
                    table = table.cast(self._schema)
                self._parquet.write_table(table)
            else:
                self._excel.append(frame)
        except OSError as exc:
            raise InputError(f"cannot write {self.path}: {type(exc).__name__}") from exc
        self._started = True
        self.rows_written += len(frame)

    def _write_arrow_csv(self, frame: pd.DataFrame) -> None:
        # pyarrow writes CSV several times faster than pandas; every cell is text.
        if self._csv is None:
            self._schema = pa.schema([(str(c), pa.string()) for c in frame.columns])
            self._handle = self.path.open("wb")
            if self.encoding == "utf-8-sig":
                self._handle.write(codecs.BOM_UTF8)
            options = pa_csv.WriteOptions(quoting_style="needed")
            self._csv = pa_csv.CSVWriter(self._handle, self._schema, write_options=options)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        self._csv.write_table(table.cast(self._schema))

    def close(self) -> None:
        """Finish the file (an empty input still gives a file)."""
        try:
            if self._csv is not None:
                self._csv.close()
                self._handle.close()
            elif self.format is FileFormat.PARQUET and self._parquet is not None:
                self._parquet.close()
            elif self.format is FileFormat.EXCEL:
                frame = pd.concat(self._excel, ignore_index=True) if self._excel else pd.DataFrame()
                with pd.ExcelWriter(self.path, engine="openpyxl") as writer:
                    frame.to_excel(writer, sheet_name=self.sheet, index=False)
            elif not self._started and self.format is FileFormat.CSV:
                self.path.write_text("", encoding=self.encoding)
        except OSError as exc:
            raise InputError(f"cannot write {self.path}: {type(exc).__name__}") from exc

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
            return
        if self._parquet is not None:
            self._parquet.close()
        if self._csv is not None:
            self._csv.close()
            self._handle.close()


def open_writer(
    path: Path | str,
    fmt: FileFormat | None = None,
    *,
    encoding: str | None = None,
    sheet: str | None = None,
) -> FrameWriter:
    """A writer for ``path`` in ``fmt`` (default: from the suffix); folders are created."""
    path = Path(path)
    fmt = fmt or detect_format(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder of {path}: {type(exc).__name__}") from exc
    return FrameWriter(path, fmt, encoding=encoding, sheet=sheet)


def write_frame(frame: pd.DataFrame, path: Path | str, **options: Any) -> None:
    """Write one frame to ``path`` in the format its suffix names."""
    with open_writer(path, **options) as writer:
        writer.write(frame)

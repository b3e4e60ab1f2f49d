"""Output files: CSV and Parquet appended chunk by chunk, ``.xlsx`` built at the end.

Every writer writes into an :class:`~work_data_hub.io.atomic.AtomicFile`: nothing appears at
the target until :meth:`FrameWriter.commit` (or :func:`~work_data_hub.io.atomic.commit_all`
for a run's output and companions together); a failure discards the partial file. Every CSV
and ``.xlsx`` cell goes through :mod:`~work_data_hub.io.cells`, so no text cell starts a
formula; ``.xlsx`` cells are written as text, numbers or dates, never as formulas. An
``.xlsx`` output made from a workbook keeps the workbook's other sheets (values only) in
their order.
"""

from __future__ import annotations

import codecs
import contextlib
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from work_data_hub.errors import InputError
from work_data_hub.io._formats import FileFormat, detect_format
from work_data_hub.io.atomic import AtomicFile
from work_data_hub.io.cells import formula_safe, formula_safe_frame

__all__ = ["FrameWriter", "open_writer", "write_frame"]

_ARROW_CSV_ENCODINGS = ("utf-8", "utf-8-sig")
#: Encodings an output CSV is written in; any other input encoding gives UTF-8 output.
_OUTPUT_ENCODINGS = ("utf-8", "utf-8-sig", "gb18030", "gbk")
Row = list[Any]


class FrameWriter:
    """Appends frames to one output file (see the module doc); use as a context manager.

    ``grids`` are the input workbook's sheets (``name → rows``) for an ``.xlsx`` output:
    sheets written here replace theirs, the others are copied; ``preambles`` are the rows
    above each written sheet's header.
    """

    def __init__(
        self,
        path: Path,
        fmt: FileFormat,
        *,
        encoding: str | None = None,
        sheet: str | None = None,
        grids: Mapping[str, list[Row]] | None = None,
        preambles: Mapping[str, list[Row]] | None = None,
    ) -> None:
        self.path = path
        self.format = fmt
        encoding = (encoding or "utf-8").lower()
        self.encoding = encoding if encoding in _OUTPUT_ENCODINGS else "utf-8"
        self.sheet = sheet or "Sheet1"
        self.rows_written = 0
        self.file = AtomicFile(path)
        self._grids = dict(grids or {})
        self._preambles = dict(preambles or {})
        self._parquet: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._excel: dict[str, list[pd.DataFrame]] = {}
        self._csv: Any = None
        self._handle: Any = None
        self._started = False
        self._finished = False

    def write(self, frame: pd.DataFrame, sheet: str | None = None) -> None:
        """Append ``frame`` (same columns as the first frame of its sheet)."""
        try:
            if self.format is FileFormat.CSV and self.encoding in _ARROW_CSV_ENCODINGS:
                self._write_arrow_csv(formula_safe_frame(frame))
            elif self.format is FileFormat.CSV:
                handle = self.file.open("w", encoding=self.encoding, newline="")
                formula_safe_frame(frame).to_csv(
                    handle,
                    header=[formula_safe(str(c)) for c in frame.columns]
                    if not self._started
                    else False,
                    index=False,
                )
            elif self.format is FileFormat.PARQUET:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                if self._parquet is None:
                    self._schema = table.schema
                    self._parquet = pq.ParquetWriter(self.file.open("wb"), self._schema)
                else:
                    table = table.cast(self._schema)
                self._parquet.write_table(table)
            else:
                self._excel.setdefault(sheet or self.sheet, []).append(frame)
        except OSError as exc:
            raise InputError(f"cannot write {self.path}: {type(exc).__name__}") from exc
        self._started = True
        self.rows_written += len(frame)

    def _write_arrow_csv(self, frame: pd.DataFrame) -> None:
        # pyarrow writes CSV several times faster than pandas; every cell is text.
        if self._csv is None:
            names = [formula_safe(str(c)) for c in frame.columns]
            self._schema = pa.schema([(name, pa.string()) for name in names])
            self._handle = self.file.open("wb")
            if self.encoding == "utf-8-sig":
                self._handle.write(codecs.BOM_UTF8)
            options = pa_csv.WriteOptions(quoting_style="needed")
            self._csv = pa_csv.CSVWriter(self._handle, self._schema, write_options=options)
        schema: pa.Schema = self._schema
        table = pa.Table.from_pandas(frame, preserve_index=False)
        self._csv.write_table(table.rename_columns(schema.names).cast(schema))

    def finish(self) -> None:
        """Complete the temporary file (an empty input still gives a file); no rename yet."""
        if self._finished:
            return
        try:
            if self._csv is not None:
                self._csv.close()
            elif self.format is FileFormat.PARQUET and self._parquet is not None:
                self._parquet.close()
            elif self.format is FileFormat.EXCEL:
                self._write_workbook()
            elif self.format is FileFormat.CSV:
                self.file.open("wb")
            self.file.close()
        except OSError as exc:
            raise InputError(f"cannot write {self.path}: {type(exc).__name__}") from exc
        self._finished = True

    def _write_workbook(self) -> None:
        # Imported here: a CSV or Parquet run does not pay openpyxl's start-up.
        import openpyxl  # type: ignore[import-untyped]  # noqa: PLC0415

        book = openpyxl.Workbook(write_only=True)
        order = list(self._grids) or list(self._excel)
        order += [name for name in self._excel if name not in order]
        for name in order:
            sheet = book.create_sheet(title=name)
            if name in self._excel:
                for row in self._preambles.get(name, []):
                    sheet.append([_xlsx_cell(v) for v in row])
                frame = pd.concat(self._excel[name], ignore_index=True)
                sheet.append([formula_safe(str(c)) for c in frame.columns])
                safe = formula_safe_frame(frame).astype(object)
                for values in safe.where(safe.notna(), None).itertuples(index=False, name=None):
                    sheet.append(list(values))
            else:
                for row in self._grids[name]:
                    sheet.append([_xlsx_cell(v) for v in row])
        if not order:
            book.create_sheet(title=self.sheet)
        book.save(self.file.open("wb"))

    def commit(self) -> None:
        """Finish and rename the file into place (once)."""
        if self.file.committed:
            return
        self.finish()
        self.file.commit()

    def discard(self) -> None:
        """Drop the temporary file; the target stays as it was."""
        if self._parquet is not None and not self._finished:
            with contextlib.suppress(OSError, pa.ArrowException):
                self._parquet.close()
        self.file.discard()

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # A run commits its output and companions together inside the block (commit_all);
        # a writer used alone is committed here. A failure leaves the target untouched.
        if exc_type is not None:
            self.discard()
            return
        self.commit()


def _xlsx_cell(value: Any) -> Any:
    if value == "" or value is None:
        return None
    return formula_safe(value)


def open_writer(
    path: Path | str,
    fmt: FileFormat | None = None,
    *,
    encoding: str | None = None,
    sheet: str | None = None,
    grids: Mapping[str, list[Row]] | None = None,
    preambles: Mapping[str, list[Row]] | None = None,
) -> FrameWriter:
    """A writer for ``path`` in ``fmt`` (default: from the suffix); folders are created."""
    path = Path(path)
    fmt = fmt or detect_format(path)
    if fmt is FileFormat.EXCEL and path.suffix.lower() != ".xlsx":
        raise InputError(f"cannot write {path.name}: Excel output is written as .xlsx")
    return FrameWriter(path, fmt, encoding=encoding, sheet=sheet, grids=grids, preambles=preambles)


def write_frame(frame: pd.DataFrame, path: Path | str, **options: Any) -> None:
    """Write one frame to ``path`` in the format its suffix names, atomically."""
    with open_writer(path, **options) as writer:
        writer.write(frame)

"""UTF-8 CSV read by pyarrow's multi-threaded reader, in frames of exactly ``chunk_rows``.

pandas' C parser spends most of a large run's reading time building Python objects;
pyarrow parses blocks on several threads without holding the GIL and hands over Arrow
string columns that pandas wraps without a copy. The frames are the ones pandas' reader
gives for the same file (see :meth:`~work_data_hub.io.frames.FrameSource.iter_parts`):
every cell text, only empty cells missing, a ``str`` column per header name, a running
row index.

pyarrow refuses some files pandas reads (a row with fewer fields than the header, which
pandas pads) and words its parse errors with the row's text. So it stops at the first
block it cannot parse with :class:`ArrowFallback`, which tells the caller how many rows
were already handed out; the caller reads the rest with pandas, whose rules and error
messages stay the file's rules and messages.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped]

__all__ = ["ARROW_ENCODINGS", "ArrowFallback", "arrow_csv_chunks"]

#: Encodings pyarrow decodes itself (it skips a UTF-8 byte-order mark).
ARROW_ENCODINGS = ("utf-8", "utf-8-sig")
#: Bytes per parsed block: big enough for the threads to share, small enough to bound memory.
_BLOCK_BYTES = 4 << 20


class ArrowFallback(Exception):
    """pyarrow cannot go on; ``rows_done`` rows were handed out before the bad block."""

    def __init__(self, rows_done: int) -> None:
        super().__init__(rows_done)
        self.rows_done = rows_done


def arrow_csv_chunks(path: Path, columns: Sequence[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Frames of ``chunk_rows`` rows (the last one shorter) of the data under the header.

    Raises :class:`ArrowFallback` where pyarrow cannot read the file.
    """
    names = list(columns)
    read = pa_csv.ReadOptions(
        use_threads=True, block_size=_BLOCK_BYTES, skip_rows_after_names=1, column_names=names
    )
    # A quoted cell may hold a line break (pandas reads those too).
    parse = pa_csv.ParseOptions(newlines_in_values=True)
    convert = pa_csv.ConvertOptions(
        column_types={name: pa.string() for name in names},
        strings_can_be_null=True,
        null_values=[""],
    )
    done = 0
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    try:
        reader = pa_csv.open_csv(
            path, read_options=read, parse_options=parse, convert_options=convert
        )
    except pa.ArrowException as exc:  # the first block does not parse
        raise ArrowFallback(0) from exc
    with reader:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowException as exc:
                raise ArrowFallback(done) from exc
            pending.append(batch)
            pending_rows += batch.num_rows
            while pending_rows >= chunk_rows:
                table = pa.Table.from_batches(pending)
                yield _frame(table.slice(0, chunk_rows), done)
                done += chunk_rows
                rest = table.slice(chunk_rows)
                pending = rest.to_batches()
                pending_rows = rest.num_rows
    if pending_rows or done == 0:  # pandas too gives one empty frame for a header alone
        yield _frame(pa.Table.from_batches(pending, schema=reader.schema), done)


def _frame(table: pa.Table, start: int) -> pd.DataFrame:
    frame: pd.DataFrame = table.to_pandas()
    frame.index = pd.RangeIndex(start, start + len(frame))
    return frame

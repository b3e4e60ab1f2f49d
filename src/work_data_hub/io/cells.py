"""Cells people open: formula-safe text for spreadsheets, control-free text for terminals.

A spreadsheet program runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(and tab or CR start one in some importers), so a company name such as
``=HYPERLINK("http://x","y")`` in an input must not reach a CSV or ``.xlsx`` the tool writes
as it is. The OWASP rule: such a text cell gets a leading ``'``, which every spreadsheet
program shows as text. A cell that is a plain number (``-123.45``, ``+7``, ``1e5``) is left
as it is, so numbers keep their value.

:func:`formula_safe` takes one value; :func:`formula_safe_series` does the same for a whole
column with vectorized string operations (no Python loop per row), and
:func:`formula_safe_frame` for every text column of a frame. :func:`terminal_safe` drops
control and escape characters from text printed on a terminal.

pandas and pyarrow are imported inside the column functions, which are handed pandas objects
(so pandas is loaded by then): the CLI prints its tables through :func:`terminal_safe`
without loading either.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FORMULA_TRIGGERS",
    "formula_safe",
    "formula_safe_frame",
    "formula_safe_series",
    "terminal_safe",
]

#: First characters that make a spreadsheet program read a cell as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_TRIGGER_PATTERN = r"^[=+\-@\t\r]"
#: A plain decimal number, as a spreadsheet program would read it: such cells stay as they are.
_NUMBER_PATTERN = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
_NUMBER = re.compile(_NUMBER_PATTERN)
_TERMINAL_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def formula_safe(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula.

    Anything that is not a ``str`` (numbers, dates, missing values) is returned unchanged.
    """
    if isinstance(value, str) and value[:1] in FORMULA_TRIGGERS and not _NUMBER.match(value):
        return "'" + value
    return value


def formula_safe_series(values: pd.Series) -> pd.Series:
    """:func:`formula_safe` for a column of text; other columns come back unchanged.

    Only the cells that start with a trigger are touched, so a clean column costs one
    vectorized prefix test.
    """
    import pandas as pd  # noqa: PLC0415 - see the module's docstring

    if not (pd.api.types.is_string_dtype(values.dtype) or values.dtype == object):
        return values
    try:
        risky = _starts_with_trigger(values)
    except AttributeError:  # an object column holding no text at all
        return values
    if not bool(risky.any()):
        return values
    risky &= ~values[risky].str.match(_NUMBER_PATTERN, na=False).astype(bool).reindex(
        values.index, fill_value=False
    )
    if not bool(risky.any()):
        return values
    out = values.copy()
    out[risky] = "'" + values[risky].astype(str)
    return out


def _starts_with_trigger(values: pd.Series) -> pd.Series:
    """Rows whose text starts with a trigger character, as booleans.

    Arrow-backed text (what the CSV and Parquet readers give) is tested with Arrow's
    prefix kernel, one pass per trigger over the column's bytes (about twice as fast as
    a regular expression); other text columns take pandas' vectorized match.
    """
    import pandas as pd  # noqa: PLC0415 - see the module's docstring

    dtype = values.dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        matched: pd.Series = values.str.match(_TRIGGER_PATTERN, na=False).astype(bool)
        return matched
    import pyarrow as pa  # type: ignore[import-untyped]  # noqa: PLC0415
    import pyarrow.compute as pc  # type: ignore[import-untyped]  # noqa: PLC0415

    column = pa.array(values.array)
    hits = pc.starts_with(column, FORMULA_TRIGGERS[0])
    for trigger in FORMULA_TRIGGERS[1:]:
        hits = pc.or_(hits, pc.starts_with(column, trigger))
    flags = hits.fill_null(False).to_numpy(zero_copy_only=False)
    return pd.Series(flags, index=values.index, dtype=bool)


def formula_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text column made formula-safe (a copy only when one changes)."""
    changed: dict[Any, pd.Series] = {}
    for position in range(frame.shape[1]):
        series = frame.iloc[:, position]
        safe = formula_safe_series(series)
        if safe is not series:
            changed[position] = safe
    if not changed:
        return frame
    out = frame.copy()
    for position, safe in changed.items():
        out.isetitem(position, safe.array)
    return out


def terminal_safe(value: Any) -> str:
    """``value`` as text without control, escape or bidirectional-override characters."""
    text = "" if value is None else str(value)
    text = _TERMINAL_UNSAFE.sub("", text)
    # Other format characters (category Cf) can reorder or hide text on a terminal too.
    if any(unicodedata.category(ch) == "Cf" for ch in text):
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return text

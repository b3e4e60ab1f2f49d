"""Apply a function to every cell of a Series, once per distinct value.

Company files repeat a few thousand names over a million rows; the normalizer and the
temporary ids are computed per distinct value and spread back over the rows.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

__all__ = ["map_distinct"]


def map_distinct(s: pd.Series, func: Callable[[object], object]) -> pd.Series:
    """Apply ``func`` once per distinct cell of ``s`` and spread the results over its rows."""
    if s.dtype == object:
        values = s.to_numpy(dtype=object).tolist()
        results: Sequence[object]
        try:
            # A dict keeps one slot per distinct value; it is the fastest dedup for Python
            # objects. NaN objects are found again by identity, and equal keys (1, 1.0,
            # True) all normalize to "" anyway.
            table = dict.fromkeys(values)
        except TypeError:  # an unhashable cell (list, dict): no dedup, one call per row
            results = [func(value) for value in values]
        else:
            for value in table:
                table[value] = func(value)
            # itemgetter looks all rows up in one C loop (and returns a tuple from 2 items on),
            # markedly cheaper than a Python-level loop or map() over a million rows.
            if len(values) > 1:
                results = operator.itemgetter(*values)(table)
            else:
                results = [table[value] for value in values]
        return pd.Series(results, index=s.index, name=s.name, dtype=object)
    # Typed arrays (pandas' string dtype, categoricals, numbers) factorize natively and fast;
    # missing values get code -1, which picks the extra last slot of the table.
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    distinct = np.asarray(uniques, dtype=object).tolist()
    table_array = np.empty(len(distinct) + 1, dtype=object)
    table_array[: len(distinct)] = [func(value) for value in distinct]
    table_array[len(distinct)] = func(None)
    return pd.Series(table_array.take(codes), index=s.index, name=s.name, dtype=object)

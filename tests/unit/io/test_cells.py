"""A column made formula-safe is each of its cells made formula-safe, whatever the column's
storage (Arrow-backed text as the readers give it, Python-backed text, objects)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from work_data_hub.io.cells import FORMULA_TRIGGERS, formula_safe, formula_safe_series

_CELLS = st.lists(
    st.one_of(
        st.none(),
        st.text(max_size=6),
        st.sampled_from(FORMULA_TRIGGERS).flatmap(lambda t: st.text(max_size=5).map(t.__add__)),
        st.sampled_from(["-1", "+2.5", "-1e3", "=1", "-", "'=x"]),
    ),
    max_size=30,
)
_DTYPES = ["str", "string", "string[python]", object]


@pytest.mark.parametrize("dtype", _DTYPES)
@given(cells=_CELLS)
def test_a_column_gets_the_rule_of_each_cell(dtype: object, cells: list[str | None]) -> None:
    series = pd.Series(cells, dtype=dtype, index=range(100, 100 + len(cells)))
    safe = formula_safe_series(series)
    expected = [formula_safe(v) if isinstance(v, str) else v for v in series.tolist()]
    assert [None if pd.isna(v) else v for v in safe.tolist()] == [
        None if pd.isna(v) else v for v in expected
    ]
    assert safe.index.equals(series.index)


def test_a_clean_arrow_column_comes_back_as_it_is() -> None:
    series = pd.Series(["甲", None, "1"], dtype="str")
    assert formula_safe_series(series) is series

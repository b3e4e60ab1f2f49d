"""Rows with an over-long key are found whatever the columns' storage."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from work_data_hub.infrastructure.enrichment.resolve.limits import too_long_rows
from work_data_hub.infrastructure.enrichment.types import ResolutionStrategy

_STRATEGY = ResolutionStrategy(max_name_length=5)
_CELLS = st.lists(st.one_of(st.none(), st.text(max_size=8)), min_size=1, max_size=20)


@pytest.mark.parametrize("dtype", ["str", "string[python]", object])
@given(names=_CELLS, accounts=_CELLS)
def test_a_row_is_too_long_when_one_key_cell_is(
    dtype: object, names: list[str | None], accounts: list[str | None]
) -> None:
    rows = min(len(names), len(accounts))
    frame = pd.DataFrame(
        {
            _STRATEGY.customer_name_column: pd.Series(names[:rows], dtype=dtype),
            _STRATEGY.account_name_column: pd.Series(accounts[:rows], dtype=dtype),
        }
    )
    expected = [
        any(isinstance(v, str) and len(v) > 5 for v in (n, a))
        for n, a in zip(names[:rows], accounts[:rows], strict=True)
    ]
    assert too_long_rows(frame, _STRATEGY).tolist() == expected

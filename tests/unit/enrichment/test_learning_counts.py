"""Per-key value counts behind the single-employer evidence agree with a plain count."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from work_data_hub.infrastructure.enrichment.resolve import learning

_ROWS = st.lists(st.tuples(st.integers(0, 5), st.integers(-1, 4)), max_size=40)


@given(_ROWS)
def test_one_and_several_values_per_key_match_a_plain_count(rows: list[tuple[int, int]]) -> None:
    n_keys = 7  # key 6 has no rows, nor do some of the others
    keys = np.asarray([k for k, _ in rows], dtype=np.intp)
    values = np.asarray([v for _, v in rows], dtype=np.intp)
    distinct = [len({v for k, v in rows if k == key}) for key in range(n_keys)]
    one = learning._one_value_per_key(keys, values, n_keys)
    several = learning._several_values_per_key(keys, values, n_keys)
    assert one.tolist() == [d == 1 for d in distinct]
    assert several.tolist() == [d > 1 for d in distinct]

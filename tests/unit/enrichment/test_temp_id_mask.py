"""Which cells hold a temporary id: the one shape test shared by remap, reports and demo."""

from __future__ import annotations

import pandas as pd

from work_data_hub.infrastructure.enrichment.temp_ids import temp_id_mask


def test_temp_id_mask_marks_only_whole_temporary_ids() -> None:
    values = pd.Series(["INABCDEFGHIJKLMNOP", "600000001", None, "xINABCDEFGHIJKLMNOP", 7])
    assert temp_id_mask(values).tolist() == [True, False, False, False, False]


def test_temp_id_mask_keeps_the_index() -> None:
    values = pd.Series(["INABCDEFGHIJKLMNOP"], index=[42])
    assert temp_id_mask(values).index.tolist() == [42]

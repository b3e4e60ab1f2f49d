"""The DB-cache tier's id path: aliases per match type, stored ids, known backflow keys."""

from __future__ import annotations

import numpy as np
import pandas as pd

from work_data_hub.infrastructure.enrichment.resolve import tiers
from work_data_hub.infrastructure.enrichment.types import ResolutionStrategy


def _keys() -> tiers.FrameKeys:
    df = pd.DataFrame(
        {
            "计划代码": ["P1", "P1", "P9"],
            "年金账户号": ["A1", "A1", "A9"],
            "客户名称": ["甲", "甲", "丙"],
            "年金账户名": ["甲账户", "甲账户", "丙账户"],
        }
    )
    return tiers.build_frame_keys(df, ResolutionStrategy())


def test_cache_lookup_aliases_give_each_match_type_the_keys_of_open_rows() -> None:
    aliases = tiers.cache_lookup_aliases(_keys(), np.array([True, True, False]))

    assert {kind: sorted(names) for kind, names in aliases.items()} == {
        "manual": ["甲"],
        "plan": ["P1"],
        "account": ["A1"],
        "hardcode": ["P1|甲"],
        "name": ["甲"],
        "account_name": ["甲账户"],
        "eqc": ["甲"],
    }


def test_cache_lookup_aliases_omit_match_types_without_keys() -> None:
    df = pd.DataFrame({"客户名称": ["甲"]})
    keys = tiers.build_frame_keys(df, ResolutionStrategy())

    aliases = tiers.cache_lookup_aliases(keys, np.array([True]))

    assert set(aliases) == {"manual", "name", "eqc"}


def test_cache_lookup_aliases_of_no_open_rows_are_empty() -> None:
    assert tiers.cache_lookup_aliases(_keys(), np.zeros(3, dtype=bool)) == {}


def test_cache_tier_ids_pick_the_highest_priority_valid_id() -> None:
    keys = _keys()
    stored = {"manual": {"甲": "N/A"}, "name": {"甲": " C1 "}, "eqc": {"甲": "E1"}}

    hits = tiers.cache_tier_ids(keys, np.ones(3, dtype=bool), stored)

    assert tiers.ids_of(hits, 3).tolist() == ["C1", "C1", None]

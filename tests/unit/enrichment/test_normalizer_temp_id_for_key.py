"""``temp_id_for_key``: the temporary id of a key that is normalized already."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from work_data_hub.infrastructure.enrichment.normalizer import (
    generate_temp_company_id,
    normalize_for_temp_id,
    temp_id_for_key,
)

SALT = "key-salt"


@settings(max_examples=200)
@given(
    st.one_of(
        st.text(max_size=20), st.sampled_from(["中国平安-已转出", "ＡＢＣ公司", "(原)某公司"])
    )
)
def test_temp_id_for_key_equals_the_id_of_the_raw_name(name: str) -> None:
    assert temp_id_for_key(normalize_for_temp_id(name), SALT) == generate_temp_company_id(
        name, SALT
    )


def test_temp_id_for_key_does_not_normalize_its_key() -> None:
    assert temp_id_for_key("中国平安-已转出", SALT) != temp_id_for_key("中国平安", SALT)


def test_temp_id_for_key_of_the_empty_key_is_the_empty_name_id() -> None:
    assert temp_id_for_key("", SALT) == generate_temp_company_id(None, SALT)


def test_temp_id_for_key_depends_on_the_salt() -> None:
    assert temp_id_for_key("中国平安", SALT) != temp_id_for_key("中国平安", "other-salt")


def test_temp_id_for_key_rejects_a_salt_that_is_not_text() -> None:
    with pytest.raises(TypeError):
        temp_id_for_key("中国平安", None)  # type: ignore[arg-type]

"""Batches bound as arrays: the PostgreSQL literal, the SQLite JSON, the storable-text checks."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from work_data_hub.infrastructure.db import bound_batches


@pytest.mark.parametrize(
    ("values", "literal"),
    [
        (["a", "b"], '{"a","b"}'),
        (['x"y', "p\\q"], '{"x\\"y","p\\\\q"}'),
        (["NULL", "{,}"], '{"NULL","{,}"}'),
        ([1, 0.5], '{"1","0.5"}'),
        ([], "{}"),
        ([""], '{""}'),
        (["a\x00b", 'c"'], '{"a\x00b","c\\""}'),
    ],
)
def test_array_literal_quotes_every_element(values: list[object], literal: str) -> None:
    assert bound_batches.array_literal(values) == literal


@pytest.mark.parametrize(
    "texts",
    [["甲公司", 'x"y', "p\\q", "NULL"], ["only"], []],
)
def test_text_array_params_bind_what_array_params_bind(texts: list[str]) -> None:
    for dialect in ("postgresql", "sqlite"):
        assert bound_batches.text_array_params(
            dialect, "aliases", texts
        ) == bound_batches.array_params(dialect, "aliases", texts)


@pytest.mark.parametrize(
    "texts",
    [
        pytest.param(["甲", 7], id="not-text"),
        pytest.param(["甲", "乙\x00丙"], id="nul"),
        pytest.param(["甲", "孤立\ud800"], id="lone-surrogate"),
    ],
)
def test_text_array_params_refuse_a_batch_the_database_cannot_hold(texts: list[object]) -> None:
    assert bound_batches.text_array_params("postgresql", "aliases", texts) is None  # type: ignore[arg-type]


def test_sqlite_params_are_one_json_array_of_the_texts() -> None:
    params = bound_batches.array_params("sqlite", "aliases", ["甲", 'x"y'])

    assert json.loads(params["aliases"]) == ["甲", 'x"y']


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["甲", "乙"], True),
        (["甲", "乙\x00"], False),
        (["\udfff"], False),
        (["甲", 3], False),
        ([], True),
    ],
)
def test_all_storable_tells_whether_a_batch_needs_repair(
    texts: list[object], expected: bool
) -> None:
    assert bound_batches.all_storable(texts) is expected  # type: ignore[arg-type]


def test_storable_drops_nul_and_replaces_lone_surrogates() -> None:
    assert bound_batches.storable("甲\x00乙\ud800丙") == "甲乙\ufffd丙"


COLUMNS: bound_batches.Columns = (("name", sa.Text()), ("rank", sa.Integer()))


def test_rows_params_bind_one_array_per_column_on_postgresql() -> None:
    params = bound_batches.rows_params("postgresql", COLUMNS, [("甲", 1), ('x"y', 2)])

    assert params == {"name": '{"甲","x\\"y"}', "rank": '{"1","2"}'}


def test_rows_params_of_no_rows_bind_empty_arrays() -> None:
    assert bound_batches.rows_params("postgresql", COLUMNS, []) == {"name": "{}", "rank": "{}"}


def test_rows_params_bind_one_json_document_on_sqlite() -> None:
    params = bound_batches.rows_params("sqlite", COLUMNS, [("甲", 1)])

    assert json.loads(params["rows"]) == [["甲", 1]]

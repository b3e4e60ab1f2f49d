"""The sample annuity generator: deterministic, realistic, chunked."""

from __future__ import annotations

import random
from pathlib import Path

from work_data_hub import sample_data
from work_data_hub.io import frames


def test_same_seed_gives_the_same_rows() -> None:
    config = sample_data.SampleConfig(rows=300, seed=3)
    first = sample_data.generate_frame(config)
    second = sample_data.generate_frame(config)
    assert first.equals(second)


def test_different_seeds_give_different_rows() -> None:
    first = sample_data.generate_frame(sample_data.SampleConfig(rows=300, seed=1))
    second = sample_data.generate_frame(sample_data.SampleConfig(rows=300, seed=2))
    assert not first.equals(second)


def test_frame_has_the_annuity_columns_as_text() -> None:
    frame = sample_data.generate_frame(sample_data.SampleConfig(rows=50))
    assert tuple(frame.columns) == sample_data.SAMPLE_COLUMNS
    assert all(str(dtype) == "string" for dtype in frame.dtypes)


def test_existing_ids_are_partly_filled_with_ids_placeholders_and_blanks() -> None:
    frame = sample_data.generate_frame(sample_data.SampleConfig(rows=5_000))
    ids = frame["公司代码"]
    assert 0.10 < ids.str.fullmatch(r"\d{9}").fillna(False).mean() < 0.20
    assert (ids == "N/A").any()
    assert ids.isna().mean() > 0.7


def test_customer_names_include_spelling_variants() -> None:
    names = set(sample_data.generate_frame(sample_data.SampleConfig(rows=5_000))["客户名称"])
    assert any(n.startswith(" ") for n in names)
    assert any("已转出" in n for n in names)
    assert any("(集团)" in n or "（集团）" in n for n in names)


def test_account_numbers_keep_twelve_digits() -> None:
    frame = sample_data.generate_frame(sample_data.SampleConfig(rows=200))
    assert frame["年金账户号"].str.fullmatch(r"\d{12}").all()


def test_company_names_are_distinct_and_many() -> None:
    names = sample_data.company_names(2_000)
    assert len(set(names)) == 2_000


def test_variants_of_a_group_name_use_both_bracket_widths() -> None:
    variants = sample_data.name_variants("上海华信科技集团有限公司", random.Random(1))
    assert "上海华信科技(集团)有限公司" in variants
    assert "上海华信科技（集团）有限公司" in variants


def test_caller_names_are_used_for_customers() -> None:
    names = [f"测试{i}有限公司" for i in range(30)]
    frame = sample_data.generate_frame(
        sample_data.SampleConfig(rows=500, variant_ratio=0), names=names
    )
    assert set(frame["客户名称"]) <= set(names)


def test_chunks_add_up_to_the_requested_rows() -> None:
    chunks = list(sample_data.iter_frames(sample_data.SampleConfig(rows=1_050), chunk_rows=500))
    assert [len(c) for c in chunks] == [500, 500, 50]


def test_sample_file_is_written_in_the_format_of_its_suffix(tmp_path: Path) -> None:
    for suffix in (".csv", ".xlsx", ".parquet"):
        path = sample_data.write_sample_file(
            tmp_path / f"sample{suffix}", sample_data.SampleConfig(rows=120), chunk_rows=50
        )
        assert len(frames.read_frame(path)) == 120

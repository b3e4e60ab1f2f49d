"""The sample's ground truth lines up with its rows."""

from __future__ import annotations

from work_data_hub import sample_data


def test_true_ids_match_every_filled_existing_id() -> None:
    config = sample_data.SampleConfig(rows=500, seed=3)
    frame = sample_data.generate_frame(config)
    truth = sample_data.true_ids(config)
    filled = frame["公司代码"].notna() & (frame["公司代码"] != "N/A")
    assert len(truth) == len(frame)
    assert (frame.loc[filled, "公司代码"] == truth[filled]).all()


def test_companies_without_ids_never_carry_one() -> None:
    config = sample_data.SampleConfig(rows=2000, seed=3, id_company_share=0.5)
    frame = sample_data.generate_frame(config)
    truth = sample_data.true_ids(config)
    carried = set(truth[frame["公司代码"].notna() & (frame["公司代码"] != "N/A")])
    assert 0 < len(carried) < truth.nunique()

"""Reading and writing CSV, Excel and Parquet: text cells, encodings, chunks, clear errors."""

from __future__ import annotations

import codecs
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from work_data_hub.errors import InputError
from work_data_hub.io import frames

HEADER = "计划代码,客户名称,公司代码\n"
BODY = "P0001,中国平安(集团) -已转出,00123\nP0002,,N/A\nP0003,招商银行,\n"


def _csv(tmp_path: Path, data: bytes, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ((HEADER + BODY).encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + (HEADER + BODY).encode("utf-8"), "utf-8-sig"),
        ((HEADER + BODY).encode("gbk"), "gb18030"),
        ((HEADER + BODY).encode("gb18030"), "gb18030"),
    ],
    ids=["utf8", "utf8-bom", "gbk", "gb18030"],
)
def test_csv_encoding_is_detected_and_text_decodes(
    tmp_path: Path, data: bytes, expected: str
) -> None:
    source = frames.open_source(_csv(tmp_path, data))
    frame = frames.read_frame(source.path)
    assert source.encoding == expected
    assert source.columns == ["计划代码", "客户名称", "公司代码"]
    assert frame.loc[0, "客户名称"] == "中国平安(集团) -已转出"


def test_csv_that_is_neither_utf8_nor_gb18030_is_an_input_error(tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER.encode("utf-8") + b"P1,\x80\xff\xfe,1\n")
    with pytest.raises(InputError, match=r"not valid UTF-8 .* nor plausible GB18030"):
        frames.open_source(path)


def test_csv_keeps_leading_zeros_and_placeholders_and_blanks_are_missing(tmp_path: Path) -> None:
    frame = frames.read_frame(_csv(tmp_path, (HEADER + BODY).encode()))
    assert frame["公司代码"].tolist()[:2] == ["00123", "N/A"]
    assert pd.isna(frame.loc[2, "公司代码"])
    assert pd.isna(frame.loc[1, "客户名称"])


def test_csv_is_read_in_chunks_of_the_given_size(tmp_path: Path) -> None:
    source = frames.open_source(_csv(tmp_path, (HEADER + BODY).encode()))
    sizes = [len(chunk) for chunk in source.iter_chunks(2)]
    assert sizes == [2, 1]


def test_chunk_size_must_be_positive(tmp_path: Path) -> None:
    source = frames.open_source(_csv(tmp_path, (HEADER + BODY).encode()))
    with pytest.raises(ValueError, match="positive"):
        next(source.iter_chunks(0))


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        frames.open_source(tmp_path / "nope.csv")


def test_folder_is_an_input_error(tmp_path: Path) -> None:
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    with pytest.raises(InputError, match="not a file"):
        frames.open_source(folder)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_is_an_input_error(tmp_path: Path) -> None:
    path = _csv(tmp_path, (HEADER + BODY).encode())
    path.chmod(0)
    try:
        with pytest.raises(InputError, match="cannot read"):
            frames.open_source(path)
    finally:
        path.chmod(0o600)


def test_unknown_suffix_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unsupported file type"):
        frames.open_source(_csv(tmp_path, b"x", name="in.json"))


def test_empty_csv_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no header"):
        frames.open_source(_csv(tmp_path, b""))


def test_duplicate_csv_columns_are_an_input_error(tmp_path: Path) -> None:
    path = _csv(tmp_path, "客户名称,客户名称\na,b\n".encode())
    with pytest.raises(InputError, match=r"duplicate column names.*客户名称"):
        frames.open_source(path)


def test_excel_sheet_is_read_by_name_as_text(tmp_path: Path) -> None:
    path = tmp_path / "in.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"a": [1]}).to_excel(writer, sheet_name="封面", index=False)
        pd.DataFrame({"客户名称": ["招商银行"], "公司代码": ["00123"]}).to_excel(
            writer, sheet_name="明细", index=False
        )
    frame = frames.read_frame(path, sheet="明细")
    assert frame.to_dict("records") == [{"客户名称": "招商银行", "公司代码": "00123"}]


def test_excel_wrong_sheet_lists_the_sheets(tmp_path: Path) -> None:
    path = tmp_path / "in.xlsx"
    frames.write_frame(pd.DataFrame({"客户名称": ["x"]}), path, sheet="明细")
    with pytest.raises(InputError, match=r"sheet '规模' not found.*sheets: 明细"):
        frames.open_source(path, sheet="规模")


def test_broken_excel_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        frames.open_source(_csv(tmp_path, b"not a zip", name="in.xlsx"))


def test_parquet_key_columns_become_text_without_float_suffix(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    table = pa.table({"客户名称": ["a", "b"], "公司代码": [123.0, None], "x": [1, 2]})
    pq.write_table(table, path)
    source = frames.open_source(path, text_columns=["公司代码"])
    frame = next(source.iter_chunks())
    assert source.total_rows == 2
    assert frame["公司代码"].tolist()[0] == "123"
    assert pd.isna(frame.loc[1, "公司代码"])
    assert frame["x"].tolist() == [1, 2]


def test_broken_parquet_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        frames.open_source(_csv(tmp_path, b"garbage", name="in.parquet"))


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_chunked_writer_round_trips_every_row(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"out{suffix}"
    first = pd.DataFrame({"客户名称": ["甲", "乙"], "company_id": ["00123", None]}).astype("string")
    second = pd.DataFrame({"客户名称": ["丙"], "company_id": ["IN_X"]}).astype("string")
    with frames.open_writer(path) as writer:
        writer.write(first)
        writer.write(second)
    back = frames.read_frame(path)
    assert writer.rows_written == 3
    assert back["客户名称"].tolist() == ["甲", "乙", "丙"]
    assert back["company_id"].tolist()[0] == "00123"


def test_csv_writer_keeps_the_input_encoding_with_a_single_bom(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    with frames.open_writer(path, encoding="utf-8-sig") as writer:
        writer.write(pd.DataFrame({"a": ["甲"]}))
        writer.write(pd.DataFrame({"a": ["乙"]}))
    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    assert data.count(codecs.BOM_UTF8) == 1


def test_writer_of_nothing_still_creates_the_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    with frames.open_writer(path):
        pass
    assert path.exists()

"""UTF-8 CSV through pyarrow gives the frames pandas' reader gives, chunk for chunk."""

from __future__ import annotations

import codecs
from pathlib import Path

import pandas as pd
import pytest

from work_data_hub.errors import InputError
from work_data_hub.io import frames

HEADER = "计划代码,客户名称,公司代码\n"


def _pandas_chunks(path: Path, columns: list[str], encoding: str, rows: int) -> list[pd.DataFrame]:
    """What the reader gave before pyarrow: pandas' C parser, every cell text."""
    reader = pd.read_csv(
        path,
        encoding=encoding,
        dtype=str,
        keep_default_na=False,
        na_values=[""],
        chunksize=rows,
        header=0,
        names=columns,
    )
    with reader:
        return list(reader)


def _assert_same_as_pandas(path: Path, rows: int) -> list[pd.DataFrame]:
    source = frames.open_source(path)
    assert source.encoding is not None
    chunks = list(source.iter_chunks(rows))
    expected = _pandas_chunks(path, source.columns, source.encoding, rows)
    assert [len(c) for c in chunks] == [len(c) for c in expected]
    for got, want in zip(chunks, expected, strict=True):
        pd.testing.assert_frame_equal(got, want)
    return chunks


@pytest.mark.parametrize(
    "body",
    [
        "P0001,中国平安(集团) -已转出,00123\nP0002,,N/A\nP0003,招商银行,\n",
        'P1,"甲\n公司",1\nP2,"say ""hi""",\n',
        'P1,"",NA\n\nP2, 乙 ,null\n',
        "P1,=1+1,-5\nP2,@x,+7\n",
    ],
    ids=[
        "zeros-placeholders-blanks",
        "quoted-newline-and-quotes",
        "empty-quoted-blank-line",
        "formula-like",
    ],
)
@pytest.mark.parametrize("bom", [False, True], ids=["utf8", "utf8-bom"])
def test_utf8_csv_reads_as_pandas_reads_it(tmp_path: Path, body: str, bom: bool) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + (HEADER + body).encode("utf-8"))
    _assert_same_as_pandas(path, 1)
    _assert_same_as_pandas(path, 1000)


def test_header_alone_gives_one_empty_frame(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(HEADER, encoding="utf-8")
    chunks = _assert_same_as_pandas(path, 10)
    assert len(chunks) == 1
    assert list(chunks[0].columns) == ["计划代码", "客户名称", "公司代码"]


def test_chunks_span_many_parsed_blocks_with_a_running_index(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    rows = 160_000  # about 6 MB: more than one of the reader's blocks
    lines = (f"P{i % 97:04d},公司{i % 1_301},{i:08d}\n" for i in range(rows))
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    chunks = _assert_same_as_pandas(path, 50_000)
    assert [c.index[0] for c in chunks] == [0, 50_000, 100_000, 150_000]
    assert chunks[-1]["公司代码"].iloc[-1] == f"{rows - 1:08d}"


def test_short_row_in_a_later_chunk_is_padded_as_pandas_pads_it(tmp_path: Path) -> None:
    lines = [f"P{i},公司{i},{i}" for i in range(3_000)]
    lines[2_600] = "P2600,公司2600"
    path = tmp_path / "in.csv"
    path.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    chunks = _assert_same_as_pandas(path, 1_000)
    assert sum(len(c) for c in chunks) == 3_000
    assert pd.isna(chunks[2].loc[2_600, "公司代码"])


def test_long_row_is_named_by_its_line_without_its_text(tmp_path: Path) -> None:
    lines = [f"P{i},公司{i},{i}" for i in range(3_000)]
    lines[2_600] = "P2600,秘密公司,1,多余"
    path = tmp_path / "in.csv"
    path.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    source = frames.open_source(path)
    with pytest.raises(InputError) as caught:
        list(source.iter_chunks(1_000))
    assert str(caught.value) == "cannot parse in.csv: line 2602 has 4 fields, the header has 3"


def test_header_cell_holding_a_line_break_is_one_header_row(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(codecs.BOM_UTF8 + '"客户\n名称",计划代码\n\n甲,P1\n乙,P2\n'.encode())
    chunks = _assert_same_as_pandas(path, 1)
    assert [c.iloc[0, 0] for c in chunks] == ["甲", "乙"]

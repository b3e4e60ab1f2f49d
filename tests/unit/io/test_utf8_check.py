"""The fast UTF-8 check agrees with Python's strict decoder, across its block boundaries."""

from __future__ import annotations

from pathlib import Path

import pytest

from work_data_hub.errors import InputError
from work_data_hub.io import _encoding

BLOCK = _encoding._BLOCK_BYTES


def _agrees(path: Path) -> bool:
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        expected = False
    else:
        expected = True
    got = _encoding._is_utf8(path, 0)
    assert got is expected
    return got


@pytest.mark.parametrize("shift", [0, 1, 2], ids=["at-boundary", "one-in", "two-in"])
def test_a_character_cut_by_a_block_boundary_is_valid(tmp_path: Path, shift: int) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b"a" * (BLOCK - shift) + "公司名称".encode() * 3)
    assert _agrees(path)


@pytest.mark.parametrize(
    "tail",
    [b"\xe5\x85", b"\xed\xa0\x80", b"\xc0\xaf", b"\xff", b"\xf4\x90\x80\x80"],
    ids=["truncated-at-end", "surrogate", "overlong", "never-utf8", "beyond-unicode"],
)
def test_bad_bytes_in_a_later_block_are_refused(tmp_path: Path, tail: bytes) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes("名".encode() * (BLOCK // 3 + 5) + tail)
    assert not _agrees(path)


def test_refused_file_is_still_reported_at_its_first_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    body = b"a,b\n" + b"x,y\n" * (BLOCK // 4) + b"x,\xff\n"
    path.write_bytes(body)
    with pytest.raises(
        InputError,
        match=rf"byte 0xFF at line {BLOCK // 4 + 2}, byte offset "
        rf"{len(body) - 2}\)",
    ):
        _encoding.sniff_encoding(path)

"""Files users can trust: formula-safe, atomic, never over an input, spreadsheet-native."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from work_data_hub.io import atomic, frames
from work_data_hub.io.cells import FORMULA_TRIGGERS

from .conftest import Cli

PAYLOADS = [
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
]
NAMES = [*PAYLOADS, "中国平安", "腾讯科技有限公司"]


def _payload_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "计划代码": ["=1+2", "-123.45", "P1", "P2", "P3", "P4", "P5", "P6"],
            "客户名称": NAMES,
            "金额": ["-123.45", "+7", "1e5", "-0.5", "=A1", "@x", "3", "4"],
        }
    )


def _live_trigger(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text[:1] in FORMULA_TRIGGERS
    return False


def _assert_csv_safe(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows, path
    for row in rows:
        for cell in row:
            assert not _live_trigger(cell), (path.name, cell)
    return rows


def _assert_xlsx_safe(path: Path) -> None:
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (path.name, cell.coordinate)
                if isinstance(cell.value, str):
                    assert not _live_trigger(cell.value), (path.name, cell.value)


def test_every_written_file_is_formula_safe(cli: Cli) -> None:
    source = cli.tmp / "in.csv"
    _payload_frame().to_csv(source, index=False)
    out = cli.tmp / "out.csv"
    result: Any = cli("resolve", str(source), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    rows = _assert_csv_safe(out)
    assert rows[1][1] == "'" + PAYLOADS[0]
    assert [r[2] for r in rows[1:5]] == ["-123.45", "+7", "1e5", "-0.5"]  # numbers kept
    assert rows[2][0] == "-123.45"
    _assert_csv_safe(cli.tmp / "out.unknown.csv")
    json.loads((cli.tmp / "out.report.json").read_text(encoding="utf-8"))
    exported = cli.tmp / "unknown-export.csv"
    assert cli("export", "unknown", "-o", str(exported)).exit_code == 0  # type: ignore[attr-defined]
    assert len(_assert_csv_safe(exported)) == len(NAMES) + 1
    reviewed = cli.tmp / "reviewed.csv"
    pd.DataFrame({"company_name": [PAYLOADS[0]], "company_id": ["C1"]}).to_csv(
        reviewed, index=False
    )
    assert cli("mappings", "import", str(reviewed)).exit_code == 0  # type: ignore[attr-defined]
    mappings = cli.tmp / "mappings.csv"
    assert cli("mappings", "export", "-o", str(mappings)).exit_code == 0  # type: ignore[attr-defined]
    assert len(_assert_csv_safe(mappings)) == 2
    remapped = cli.tmp / "remapped.csv"
    result = cli("remap", str(out), "-o", str(remapped))
    assert result.exit_code == 0, result.stderr
    _assert_csv_safe(remapped)


def test_xlsx_output_has_no_formula_and_keeps_numbers(cli: Cli) -> None:
    source = cli.tmp / "in.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["客户名称", "金额"])
    for name in PAYLOADS:
        sheet.append([name, -123.45])
    sheet.cell(row=2, column=1).data_type = "s"  # a text cell starting with "="
    book.save(source)
    out = cli.tmp / "out.xlsx"
    result: Any = cli("resolve", str(source), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    _assert_xlsx_safe(out)
    values = list(openpyxl.load_workbook(out).active.iter_rows(values_only=True))
    assert values[1][0] == "'" + PAYLOADS[0]
    assert {row[1] for row in values[1:]} == {"-123.45"}


def test_export_unknown_table_strips_terminal_escapes(cli: Cli) -> None:
    source = cli.tmp / "in.csv"
    pd.DataFrame({"客户名称": ["恶意\x1b[31m红色\x1b[0m公司"]}).to_csv(source, index=False)
    assert cli("resolve", str(source)).exit_code == 0  # type: ignore[attr-defined]
    result: Any = cli("export", "unknown")
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout
    assert "红色" in result.stdout


# -- atomic outputs ---------------------------------------------------------------------------


def _outputs(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.parent.iterdir()) if p.is_file()}


def test_parse_error_in_a_later_chunk_leaves_previous_outputs_untouched(cli: Cli) -> None:
    (cli.tmp / "runs").mkdir()
    out = cli.tmp / "runs" / "out.csv"
    small = cli.tmp / "small.csv"
    pd.DataFrame({"客户名称": ["甲公司", "乙公司"]}).to_csv(small, index=False)
    assert cli("resolve", str(small), "-o", str(out)).exit_code == 0  # type: ignore[attr-defined]
    big = cli.tmp / "big.csv"
    lines = ["客户名称,计划代码"] + [f"公司{i},P{i}" for i in range(3_000)]
    lines[2_500] = "坏行,P,多余"
    big.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = _outputs(out)
    result: Any = cli("resolve", str(big), "-o", str(out), "--chunk-rows", "1000")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "error: cannot parse big.csv: line 2501 has 3 fields, the header has 2"
    )
    assert _outputs(out) == before  # byte-identical, and no partial file beside them


def test_output_hard_linked_to_the_input_is_refused(cli: Cli) -> None:
    source = cli.tmp / "in.csv"
    pd.DataFrame({"客户名称": ["甲公司"] * 50}).to_csv(source, index=False)
    before = source.read_bytes()
    link = cli.tmp / "link.csv"
    os.link(source, link)
    result: Any = cli("resolve", str(source), "-o", str(link))
    assert result.exit_code == 1
    assert "is the input file" in result.stderr
    assert result.stderr.count("\n") == 1
    assert source.read_bytes() == before


def test_companion_over_the_input_is_refused(cli: Cli) -> None:
    source = cli.tmp / "x.unknown.csv"
    pd.DataFrame({"客户名称": ["甲公司"] * 5}).to_csv(source, index=False)
    before = source.read_bytes()
    result: Any = cli("resolve", str(source), "-o", str(cli.tmp / "x.csv"))
    assert result.exit_code == 1
    assert "companion file x.unknown.csv is the input file" in result.stderr
    assert source.read_bytes() == before
    assert not (cli.tmp / "x.csv").exists()


def test_folder_as_report_path_is_one_error_line(cli: Cli) -> None:
    source = cli.tmp / "in.csv"
    pd.DataFrame({"客户名称": ["甲公司"]}).to_csv(source, index=False)
    (cli.tmp / "out.report.json").mkdir()
    result: Any = cli("resolve", str(source), "-o", str(cli.tmp / "out.csv"))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: the companion path")
    assert not (cli.tmp / "out.csv").exists()


def test_unwritable_export_path_is_one_error_line(cli: Cli) -> None:
    blocker = cli.tmp / "file"
    blocker.write_text("x")
    result: Any = cli("export", "unknown", "-o", str(blocker / "sub" / "u.csv"))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot write")
    assert result.stderr.count("\n") == 1


def test_partial_file_of_a_killed_run_is_swept(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    stale = tmp_path / f".out.csv.999999999.abcd{atomic.PARTIAL_SUFFIX}"
    stale.write_text("partial")
    frames.write_frame(pd.DataFrame({"a": ["1"]}), target)
    assert not stale.exists()
    assert target.exists()


# -- encodings --------------------------------------------------------------------------------


def test_utf8_file_with_one_cp1252_byte_stops_naming_the_offset(cli: Cli) -> None:
    source = cli.tmp / "in.csv"
    data = "客户名称\n中国平安\n腾讯科技有限公司\n".encode() + b"\xa9\xe7\x89\x88\n"
    source.write_bytes(data)
    result: Any = cli("resolve", str(source))
    assert result.exit_code == 1
    offset = data.index(b"\xa9")
    assert f"byte 0xA9 at line 4, byte offset {offset}" in result.stderr
    assert "--encoding" in result.stderr
    forced: Any = cli("resolve", str(source), "--encoding", "utf-8", "--json")
    assert forced.exit_code == 0, forced.stderr
    assert "replaced" in forced.stderr
    out = frames.read_frame(cli.tmp / "in.resolved.csv")
    assert out["客户名称"].tolist()[:2] == ["中国平安", "腾讯科技有限公司"]


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig"])
def test_gb18030_and_bom_files_round_trip(cli: Cli, encoding: str) -> None:
    source = cli.tmp / "in.csv"
    names = ["中国平安（集团）", "腾讯科技有限公司"]
    pd.DataFrame({"客户名称": names}).to_csv(source, index=False, encoding=encoding)
    result: Any = cli("resolve", str(source), "-o", str(cli.tmp / "out.csv"))
    assert result.exit_code == 0, result.stderr
    text = (cli.tmp / "out.csv").read_bytes().decode(encoding)
    assert [row[0] for row in csv.reader(text.splitlines())][1:] == names


# -- spreadsheets -----------------------------------------------------------------------------


def _workbook(path: Path) -> None:
    book = openpyxl.Workbook()
    cover = book.active
    cover.title = "封面"
    cover.append(["2024年6月 企业年金"])
    cover.append(["说明", 3])
    for title in ("明细A", "明细B"):
        sheet = book.create_sheet(title)
        sheet.append(["企业年金明细表"])
        sheet.append([])
        sheet.append(["计划代码", "客户名称", None, "金额"])
        sheet.append(["P1", "中国平安", "x", -5.5])
        sheet.append(["P2", "腾讯科技有限公司", "y", 10])
    book.save(path)


def test_cover_sheet_and_title_rows_resolve_with_all_sheets(cli: Cli) -> None:
    source = cli.tmp / "book.xlsx"
    _workbook(source)
    plain: Any = cli("resolve", str(source))
    assert plain.exit_code == 1
    assert "sheets with it: '明细A', '明细B'" in plain.stderr
    result: Any = cli("resolve", str(source), "--all-sheets", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["rows_in"] == 4
    book = openpyxl.load_workbook(cli.tmp / "book.resolved.xlsx")
    assert book.sheetnames == ["封面", "明细A", "明细B"]
    assert [c.value for c in book["封面"][2]] == ["说明", 3]
    header = [c.value for c in book["明细A"][3]]
    assert header == ["计划代码", "客户名称", "column_3", "金额", "company_id"]
    assert book["明细A"]["A1"].value == "企业年金明细表"
    assert all(book["明细B"].cell(row=r, column=5).value for r in (4, 5))


def test_sheet_by_position_and_header_row(cli: Cli) -> None:
    source = cli.tmp / "book.xlsx"
    _workbook(source)
    result: Any = cli("resolve", str(source), "--sheet", "3", "--header-row", "3", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["rows_in"] == 2


def test_existing_output_column_needs_a_choice(cli: Cli) -> None:
    source = cli.tmp / "in.csv"
    pd.DataFrame({"客户名称": ["甲公司"], "company_id": ["KEEP"]}).to_csv(source, index=False)
    refused: Any = cli("resolve", str(source))
    assert refused.exit_code == 1
    assert "--replace-output-column" in refused.stderr
    assert cli("resolve", str(source), "--output-column", "cid").exit_code == 0  # type: ignore[attr-defined]
    out = frames.read_frame(cli.tmp / "in.resolved.csv")
    assert out["company_id"].tolist() == ["KEEP"]
    assert out["cid"].notna().all()


@pytest.mark.parametrize("suffix", [".ods", ".xls"])
def test_ods_and_xls_inputs_resolve(cli: Cli, suffix: str) -> None:
    source = Path(__file__).parent.parent / "data" / f"annuity{suffix}"
    result: Any = cli("resolve", str(source), "-o", str(cli.tmp / "out.xlsx"), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["rows_in"] == 3
    out = frames.read_frame(cli.tmp / "out.xlsx")
    assert out["company_id"].notna().all()

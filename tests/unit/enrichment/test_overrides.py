"""YAML company-id overrides: the five levels, key forms, and every refusal with its message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from work_data_hub.infrastructure.enrichment.resolve import overrides
from work_data_hub.infrastructure.enrichment.resolve.overrides import (
    EMPTY_VALUE,
    load_company_id_overrides,
    override_file_name,
)
from work_data_hub.infrastructure.enrichment.types import YAML_LEVELS


def _write(directory: Path, level: str, text: str) -> Path:
    path = directory / override_file_name(level)
    path.write_text(text, encoding="utf-8")
    return path


def _error(directory: Path, level: str, text: str) -> str:
    path = _write(directory, level, text)
    with pytest.raises(ValueError) as raised:
        load_company_id_overrides(directory)
    message = str(raised.value)
    assert message.startswith(f"{path}: ")
    return message


def test_every_level_is_present_when_no_file_exists(tmp_path: Path) -> None:
    assert load_company_id_overrides(tmp_path) == {level: {} for level in YAML_LEVELS}


def test_a_missing_directory_gives_empty_levels(tmp_path: Path) -> None:
    assert load_company_id_overrides(tmp_path / "absent") == {level: {} for level in YAML_LEVELS}


def test_levels_come_back_in_priority_order(tmp_path: Path) -> None:
    assert list(load_company_id_overrides(tmp_path)) == list(YAML_LEVELS)


def test_plan_and_account_codes_are_trimmed(tmp_path: Path) -> None:
    _write(tmp_path, "plan", '" P001 ": "600000001"\n')
    _write(tmp_path, "account", "A-1: '600000002'\n")

    loaded = load_company_id_overrides(tmp_path)

    assert loaded["plan"] == {"P001": "600000001"}
    assert loaded["account"] == {"A-1": "600000002"}


def test_unquoted_numbers_stay_the_text_written(tmp_path: Path) -> None:
    _write(tmp_path, "plan", "0012: 600000001\n12345: 600000002.0\nP2: 0x1F\n")

    assert load_company_id_overrides(tmp_path)["plan"] == {
        "0012": "600000001",
        "12345": "600000002",
        "P2": "0x1F",
    }


def test_yes_and_no_are_not_booleans(tmp_path: Path) -> None:
    _write(tmp_path, "account", "no: yes\n")

    assert load_company_id_overrides(tmp_path)["account"] == {"no": "yes"}


def test_name_keys_are_stored_normalized(tmp_path: Path) -> None:
    _write(tmp_path, "name", "中国平安(集团) -已转出: '600000001'\n")
    _write(tmp_path, "account_name", "'  中国平安  ': '600000002'\n")

    loaded = load_company_id_overrides(tmp_path)

    assert loaded["name"] == {"中国平安": "600000001"}
    assert loaded["account_name"] == {"中国平安": "600000002"}


def test_hardcode_is_flattened_to_plan_and_normalized_name(tmp_path: Path) -> None:
    _write(
        tmp_path, "hardcode", "P001:\n  中国平安(集团): '600000001'\n  乙公司: '600000002'\nP002:\n"
    )

    assert load_company_id_overrides(tmp_path)["hardcode"] == {
        "P001|中国平安": "600000001",
        "P001|乙公司": "600000002",
    }


def test_empty_marker_is_kept_as_it_is(tmp_path: Path) -> None:
    _write(tmp_path, "name", f"测试公司: {EMPTY_VALUE}\n")

    assert load_company_id_overrides(tmp_path)["name"] == {"测试公司": EMPTY_VALUE}


def test_two_spellings_of_one_name_with_the_same_id_are_one_entry(tmp_path: Path) -> None:
    _write(tmp_path, "name", "中国平安: '1'\n中国平安(集团): '1'\n")

    assert load_company_id_overrides(tmp_path)["name"] == {"中国平安": "1"}


def test_an_empty_file_is_an_empty_level(tmp_path: Path) -> None:
    _write(tmp_path, "plan", "# nothing yet\n")

    assert load_company_id_overrides(tmp_path)["plan"] == {}


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    (tmp_path / override_file_name("plan")).write_bytes("\ufeffP1: '1'\n".encode())

    assert load_company_id_overrides(tmp_path)["plan"] == {"P1": "1"}


def test_directory_defaults_to_the_mappings_dir_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, "plan", "P1: '1'\n")
    monkeypatch.setenv("WDH_MAPPINGS_DIR", str(tmp_path))

    assert load_company_id_overrides()["plan"] == {"P1": "1"}


def test_directory_default_is_data_mappings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data" / "mappings").mkdir(parents=True)
    _write(tmp_path / "data" / "mappings", "account", "A1: '2'\n")
    monkeypatch.chdir(tmp_path)

    assert load_company_id_overrides()["account"] == {"A1": "2"}


def test_loading_logs_counts_and_never_keys(tmp_path: Path) -> None:
    _write(tmp_path, "name", f"甲公司: '1'\n乙公司: {EMPTY_VALUE}\n")

    with capture_logs() as logs:
        load_company_id_overrides(tmp_path)

    [event] = [e for e in logs if e["event"] == "overrides.loaded"]
    assert (event["name"], event["plan"], event["excluded"]) == (2, 0, 1)
    assert "甲公司" not in repr(logs)


# -- refusals, each with its message ------------------------------------------------------------


def test_invalid_yaml_names_the_file_and_the_line(tmp_path: Path) -> None:
    message = _error(tmp_path, "plan", "P1: '1'\nP2: [unclosed\n")

    assert re.search(r"invalid YAML at line \d+, column \d+", message)


def test_a_control_character_is_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, "plan", "P1: '1\x07'\n")

    assert "invalid YAML (ReaderError)" in message


def test_a_list_document_is_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, "plan", "- P1\n- P2\n")

    assert "expected a mapping of key to company id, got a list" in message


def test_a_scalar_document_is_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, "name", "just text\n")

    assert "expected a mapping of key to company id, got a str" in message


def test_a_list_value_is_refused_naming_the_key(tmp_path: Path) -> None:
    message = _error(tmp_path, "plan", "P1: ['1', '2']\n")

    assert "key 'P1': company id must be a scalar, got a list" in message


def test_a_mapping_value_in_a_flat_level_is_refused_naming_the_key(tmp_path: Path) -> None:
    message = _error(tmp_path, "account", "A1:\n  x: '1'\n")

    assert "key 'A1': company id must be a scalar, got a mapping" in message


def test_a_key_without_value_is_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, "plan", "P1:\n")

    assert "key 'P1' has no company id" in message


def test_an_empty_value_is_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, "plan", "P1: '  '\n")

    assert "key 'P1' has an empty company id" in message


def test_an_explicit_boolean_value_is_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, "plan", "P1: !!bool true\n")

    assert "key 'P1': company id must be a scalar, got a bool" in message


def test_an_empty_code_key_is_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, "plan", "'  ': '1'\n")

    assert "key '  ' is empty" in message


def test_a_null_key_is_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, "plan", "~: '1'\n")

    assert "key None is not a string" in message


def test_a_name_that_normalizes_to_nothing_is_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, "name", "'N/A': '1'\n")

    assert "key 'N/A' normalizes to an empty name" in message


def test_two_spellings_of_one_name_with_different_ids_are_refused_naming_both(
    tmp_path: Path,
) -> None:
    message = _error(tmp_path, "name", "中国平安: '1'\n中国平安(集团): '2'\n")

    assert "keys '中国平安' and '中国平安(集团)' name the same key with different company ids" in (
        message
    )


def test_two_codes_equal_after_trimming_with_different_ids_are_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, "plan", "P1: '1'\n' P1': '2'\n")

    assert "keys 'P1' and ' P1' name the same key" in message


def test_a_duplicate_key_is_refused_naming_it(tmp_path: Path) -> None:
    message = _error(tmp_path, "plan", "P1: '1'\nP1: '1'\n")

    assert "duplicate key 'P1'" in message


def test_hardcode_with_a_flat_value_is_refused_naming_the_plan(tmp_path: Path) -> None:
    message = _error(tmp_path, "hardcode", "P001: '600000001'\n")

    assert "key 'P001': expected a mapping of customer name to company id, got a str" in message


def test_hardcode_with_two_spellings_of_one_name_is_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, "hardcode", "P1:\n  甲公司: '1'\n  ' 甲公司 ': '2'\n")

    assert "keys 'P1|甲公司' and 'P1| 甲公司 ' name the same key" in message


def test_aliases_are_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, "plan", "P1: &id '1'\nP2: *id\n")

    assert "aliases (*name) are not allowed" in message


def test_an_alias_bomb_is_refused_without_expanding_it(tmp_path: Path) -> None:
    bomb = "a: &a ['x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x']\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
    )

    message = _error(tmp_path, "hardcode", bomb)

    assert "aliases (*name) are not allowed" in message


def test_python_object_tags_are_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, "plan", "P1: !!python/object/apply:os.getcwd []\n")

    assert "invalid YAML" in message


def test_a_file_above_the_size_limit_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(overrides, "MAX_OVERRIDE_FILE_BYTES", 16)

    message = _error(tmp_path, "plan", "P1: '600000001'\nP2: '600000002'\n")

    assert "more than 16" in message


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / override_file_name("name")
    path.write_bytes("甲公司: '1'\n".encode("gb18030"))

    with pytest.raises(ValueError, match=re.escape(f"{path}: not UTF-8 text")):
        load_company_id_overrides(tmp_path)


def test_a_directory_in_place_of_a_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / override_file_name("plan")
    path.mkdir()

    with pytest.raises(ValueError, match=re.escape(f"{path}: not a regular file")):
        load_company_id_overrides(tmp_path)


def test_a_file_in_place_of_the_directory_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mappings"
    path.write_text("", encoding="utf-8")

    with pytest.raises(ValueError, match="the mappings directory is not a directory"):
        load_company_id_overrides(path)

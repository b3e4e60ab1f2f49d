"""Log output never carries names, temporary ids, tokens, salts or database passwords."""

from __future__ import annotations

import io
import json

from work_data_hub.utils.logging import (
    configure_logging,
    get_logger,
    mask_url_password,
    register_secret,
)

NAME = "中国平安保险股份有限公司"
TEMP_ID = "IN44BFWSKCTQ2YFXL5"
TOKEN = "eqc-token-8f3a9c"
PASSWORD = "hunter2pw"


def _render(**fields: object) -> str:
    stream = io.StringIO()
    configure_logging(level="DEBUG", log_format="json", stream=stream)
    get_logger("work_data_hub.test").info("test.event", **fields)
    return stream.getvalue()


def test_sensitive_values_never_reach_the_output() -> None:
    out = _render(
        raw_name=NAME,
        normalized_name=NAME,
        temp_id=TEMP_ID,
        token=TOKEN,
        url=f"postgresql+psycopg://app:{PASSWORD}@db.internal:5432/wdh",
        nested={"company_name": NAME, "count": 3},
        count=7,
    )
    for secret in (NAME, TEMP_ID, TOKEN, PASSWORD):
        assert secret not in out
    record = json.loads(out)
    assert record["count"] == 7
    assert record["nested"]["count"] == 3
    assert record["url"] == "postgresql+psycopg://app:***@db.internal:5432/wdh"


def test_registered_secret_is_masked_inside_any_text() -> None:
    register_secret("salt-value-xyz")
    out = _render(message="failed with salt-value-xyz inside")
    assert "salt-value-xyz" not in out


def test_console_format_renders_event() -> None:
    stream = io.StringIO()
    configure_logging(level="INFO", log_format="console", stream=stream)
    get_logger("work_data_hub.test").info("resolver.tier_done", hits=3)
    assert "resolver.tier_done" in stream.getvalue()
    assert "hits=3" in stream.getvalue()


def test_mask_url_password_keeps_text_without_password() -> None:
    assert mask_url_password("sqlite:///x.db") == "sqlite:///x.db"
    assert mask_url_password("postgresql://u@h/db") == "postgresql://u@h/db"

"""How a file's columns and the CLI's options become a :class:`ResolutionStrategy`.

Column names are checked here, before any row is read: a missing customer-name column, a
mapped column that does not exist, or an output column that would overwrite one of the
file's is one clear error naming what was expected and what was found.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from work_data_hub.errors import InputError
from work_data_hub.infrastructure.enrichment.types import ResolutionStrategy

__all__ = [
    "COLUMN_FIELDS",
    "KEY_FIELDS",
    "build_strategy",
    "check_output_column",
    "parse_column_map",
]

#: ``--column-map`` keys (contract column names or short names) → strategy fields.
COLUMN_FIELDS: dict[str, str] = {
    "计划代码": "plan_code_column",
    "客户名称": "customer_name_column",
    "年金账户名": "account_name_column",
    "年金账户号": "account_number_column",
    "公司代码": "company_id_column",
    "计划类型": "plan_type_column",
    "plan_code": "plan_code_column",
    "customer_name": "customer_name_column",
    "account_name": "account_name_column",
    "account_number": "account_number_column",
    "company_id": "company_id_column",
    "plan_type": "plan_type_column",
}
KEY_FIELDS = (
    "customer_name_column",
    "plan_code_column",
    "account_name_column",
    "account_number_column",
    "company_id_column",
)


def parse_column_map(items: Sequence[str]) -> dict[str, str]:
    """``["客户名称=Customer"]`` → ``{"customer_name_column": "Customer"}``; ValueError if bad."""
    mapping: dict[str, str] = {}
    for item in items:
        key, sep, column = item.partition("=")
        key, column = key.strip(), column.strip()
        if not sep or not column or key not in COLUMN_FIELDS:
            known = ", ".join(k for k in COLUMN_FIELDS if not k.isascii())
            raise ValueError(f"{item!r}: expected KEY=COLUMN with KEY one of {known}")
        mapping[COLUMN_FIELDS[key]] = column
    return mapping


def build_strategy(
    columns: Sequence[str],
    column_map: Mapping[str, str],
    *,
    source_name: str,
    sync_budget: int = 0,
    queue: bool = True,
    backflow: bool = True,
    output_column: str = "company_id",
    replace_output_column: bool = False,
    max_name_length: int | None = None,
    explain: bool = False,
) -> ResolutionStrategy:
    """The strategy for a file with ``columns``; InputError when a needed column is absent.

    The customer-name column is required; columns named in ``column_map`` must exist; an
    existing ``output_column`` is refused unless ``replace_output_column``.
    """
    strategy = ResolutionStrategy(
        use_enrichment_service=sync_budget > 0,
        sync_lookup_budget=sync_budget,
        enable_async_queue=queue,
        enable_backflow=backflow,
        output_column=output_column,
        explain=explain,
    )
    if max_name_length is not None:
        strategy.max_name_length = max_name_length
    for name, column in column_map.items():
        setattr(strategy, name, column)
    required = ["customer_name_column", *column_map]
    missing = [
        getattr(strategy, name)
        for name in dict.fromkeys(required)
        if getattr(strategy, name) not in columns
    ]
    if missing:
        expected = ", ".join(
            getattr(strategy, name) + (" (required)" if name == "customer_name_column" else "")
            for name in KEY_FIELDS
        )
        raise InputError(
            f"missing required column {', '.join(repr(m) for m in missing)} in {source_name}; "
            f"expected: {expected}; found: {', '.join(columns) or 'no columns'} "
            "(map a column with --column-map 客户名称=<column>)"
        )
    check_output_column(columns, strategy, source_name, replace=replace_output_column)
    return strategy


def check_output_column(
    columns: Sequence[str], strategy: ResolutionStrategy, source_name: str, *, replace: bool
) -> None:
    """InputError when the output column already exists and may not be replaced."""
    if replace or strategy.output_column not in columns:
        return
    raise InputError(
        f"{source_name} already has a column {strategy.output_column!r}: name the new one "
        "with --output-column NAME, or overwrite it with --replace-output-column"
    )

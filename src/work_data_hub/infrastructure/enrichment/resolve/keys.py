"""The frame's key columns, factorized once: what every resolution tier looks up.

Every key column is factorized once (:class:`KeyColumn`): an integer code per row and an
array of the distinct keys in order of first appearance, so a tier works once per distinct
value and maps answers back to rows with one numpy ``take``.

Key rules (documented here because the DB cache and the backflow depend on them):

* **Codes** (plan code, account number, existing company id): text is trimmed; a number is
  written without a fractional part when it is whole (``12345``, ``12345.0`` and
  ``numpy.int64(12345)`` all give ``"12345"`` — spreadsheets turn integer code columns
  with gaps into floats), otherwise as ``str(float)``; missing values (None, NaN, ``pd.NA``,
  NaT), infinities, booleans and other objects give ``""`` — no key.
* **Names** (customer name, account name) use ``normalizer.normalize_for_temp_id``
  (remembered per process by :mod:`key_cache`, and by :mod:`spelling_index` for the Arrow
  text the readers give); a name that normalizes to ``""`` has no key.
* **Hardcode** keys are ``"<plan code>|<normalized customer name>"``.

Pure: values in, values out. :mod:`tiers` re-exports what the resolver uses.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from numbers import Integral, Real

import numpy as np
import pandas as pd

from work_data_hub.infrastructure.db import tables
from work_data_hub.infrastructure.enrichment import company_ids, types
from work_data_hub.infrastructure.enrichment.resolve.key_column import (
    Codes,
    KeyColumn,
    Mask,
    Objects,
    factorize,
    found,
)
from work_data_hub.infrastructure.enrichment.resolve.name_columns import RawNames, name_columns
from work_data_hub.infrastructure.enrichment.temp_ids import TEMP_ID_PATTERN, is_temp_id
from work_data_hub.infrastructure.enrichment.types import ResolutionStrategy

__all__ = [
    "EXCLUDED_MARKER",
    "HARDCODE_SEPARATOR",
    "PARALLEL_KEYS_MIN_ROWS",
    "PLACEHOLDER_IDS",
    "SINGLE_EMPLOYER_PLAN",
    "TEMP_ID_PATTERN",
    "Codes",
    "FrameKeys",
    "KeyColumn",
    "Mask",
    "Objects",
    "RawNames",
    "build_frame_keys",
    "canonical_code",
    "clean_company_id",
    "found",
    "is_temp_id",
]

#: A YAML override value marking a known non-company: the row is excluded.
EXCLUDED_MARKER = types.EXCLUDED_MARKER
#: Company ids that mean "no id" (compared upper-case, after trimming).
PLACEHOLDER_IDS = company_ids.PLACEHOLDER_IDS
HARDCODE_SEPARATOR = types.HARDCODE_SEPARATOR
#: The plan type of a single-employer plan; ``集合计划`` plans are shared by many employers.
SINGLE_EMPLOYER_PLAN = "单一计划"
#: From this many rows, the code columns are factorized in a second thread while the name
#: columns are normalized: pyarrow's dictionary encoding releases the GIL, so the two
#: overlap on a multi-core machine (a tenth to a fifth of key preparation at 1,000,000 rows).
PARALLEL_KEYS_MIN_ROWS = 100_000

_MT = tables.MatchType
#: The ``FrameKeys`` attribute holding the keys of each YAML level and match type.
_COLUMN_OF_KIND = {
    _MT.PLAN.value: "plan",
    _MT.ACCOUNT.value: "account",
    _MT.HARDCODE.value: "hardcode",
    _MT.NAME.value: "name",
    _MT.ACCOUNT_NAME.value: "account_name",
    _MT.EQC.value: "name",
    _MT.MANUAL.value: "name",
}


# --------------------------------------------------------------------------- values


def canonical_code(value: object) -> str:
    """The key of a code cell (plan code, account number, company id); ``""`` = none."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool | np.bool_):
        return ""
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            return ""
        return str(int(value)) if value == value.to_integral_value() else str(value)
    if isinstance(value, Real):
        number = float(value)
        if not math.isfinite(number):
            return ""
        return str(int(number)) if number.is_integer() else str(number)
    return ""


def clean_company_id(value: object) -> str | None:
    """The id of ``value`` by the one id rule (:mod:`company_ids`), or None."""
    return company_ids.valid_company_id(value)


# --------------------------------------------------------------------------- key columns


@dataclass(frozen=True)
class FrameKeys:
    """Every key column of one frame, factorized once (hardcode pairs on first use)."""

    n_rows: int
    plan: KeyColumn
    account: KeyColumn
    name: KeyColumn
    account_name: KeyColumn
    existing: KeyColumn
    raw_names: RawNames
    #: Per row, whether the plan-type column says ``单一计划``; None without that column.
    single_plan: Mask | None = None

    @cached_property
    def _existing_checks(self) -> list[company_ids.IdCheck | None]:
        """The id rule's verdict per distinct key of the existing column, computed once;
        ``None`` for a temporary id (a file resolved before)."""
        return [
            None if is_temp_id(value) else company_ids.check_company_id(value)
            for value in self.existing.keys.tolist()
        ]

    @cached_property
    def existing_ids(self) -> Objects:
        """Per distinct key of the existing column, its valid company id (None: not one);
        the existing tier, the propagation and the backflow all read it.

        A temporary id (a file resolved before) is kept for its own rows — it is the id
        the temporary tier would give — but never propagated or learned.
        """
        keys = self.existing.keys.tolist()
        per_key = np.empty(len(keys), dtype=object)
        per_key[:] = [
            key if check is None else check.company_id
            for key, check in zip(keys, self._existing_checks, strict=True)
        ]
        return per_key

    @cached_property
    def learnable_existing(self) -> Mask:
        """Per distinct key of the existing column: a valid id that is not a temporary one,
        what the backflow may learn (its evidence checks and its records read it)."""
        return np.asarray(
            [check is not None and check.company_id is not None for check in self._existing_checks],
            dtype=bool,
        )

    @cached_property
    def invalid_existing(self) -> Mask:
        """Per distinct key of the existing column: a value that is not blank or a
        placeholder but fails the id rule (a formula, an id with spaces, ``3.5`` …)."""
        missing = company_ids.IdProblem.MISSING
        return np.asarray(
            [
                check is not None and check.problem is not None and check.problem is not missing
                for check in self._existing_checks
            ],
            dtype=bool,
        )

    @cached_property
    def hardcode(self) -> KeyColumn:
        """``plan|name`` keys; built only when a tier needs them."""
        return _pair_column(self.plan, self.name)

    def column_for(self, kind: str) -> KeyColumn:
        """The key column behind a YAML level or a match type (the hardcode pairs are
        built only when that column is asked for)."""
        column: KeyColumn = getattr(self, _COLUMN_OF_KIND[kind])
        return column


def _code_column(series: pd.Series | None, n_rows: int) -> KeyColumn:
    if series is None:
        return KeyColumn.empty(n_rows)
    codes, uniques = factorize(series)
    raw = uniques.tolist()
    plain_text = set(map(type, raw)) <= {str}
    # Text cells (the readers' usual case) are trimmed at C speed; other cells take the
    # full rule one by one.
    keys = list(map(str.strip, raw)) if plain_text else [canonical_code(v) for v in raw]
    if plain_text and keys == raw and "" not in keys:
        # Every cell is its own key already (the usual case): the factorization stands.
        return KeyColumn(codes, uniques)
    return KeyColumn.from_keys(codes, keys)


def _pair_column(plan: KeyColumn, name: KeyColumn) -> KeyColumn:
    """Hardcode keys ``plan|name`` for rows having both."""
    codes = np.full(len(plan.codes), -1, dtype=np.intp)
    both = (plan.codes >= 0) & (name.codes >= 0)
    if not both.any():
        return KeyColumn(codes, np.empty(0, dtype=object))
    width = np.int64(len(name.keys))
    combined = plan.codes[both].astype(np.int64) * width + name.codes[both]
    pair_codes, pairs = pd.factorize(combined)
    codes[both] = pair_codes
    plan_of, name_of = np.divmod(np.asarray(pairs, dtype=np.int64), width)
    keys = [
        f"{p}{HARDCODE_SEPARATOR}{n}"
        for p, n in zip(plan.keys[plan_of].tolist(), name.keys[name_of].tolist(), strict=True)
    ]
    return KeyColumn(codes, np.asarray(keys, dtype=object))


def build_frame_keys(df: pd.DataFrame, strategy: ResolutionStrategy) -> FrameKeys:
    """Factorize the frame's key columns; only the customer-name column is required."""
    if strategy.customer_name_column not in df.columns:
        present = ", ".join(repr(str(c)) for c in df.columns)
        raise ValueError(
            f"missing customer-name column {strategy.customer_name_column!r}; "
            f"present columns: [{present}]"
        )

    def column(name: str) -> pd.Series | None:
        if name not in df.columns:
            return None
        if list(df.columns).count(name) > 1:
            raise ValueError(f"column {name!r} appears more than once")
        selected: pd.Series = df[name]
        return selected

    n_rows = len(df)
    customer = column(strategy.customer_name_column)
    assert customer is not None
    account = column(strategy.account_name_column)
    plan_type = column(strategy.plan_type_column)
    code_series = [
        column(strategy.plan_code_column),
        column(strategy.account_number_column),
        column(strategy.company_id_column),
    ]

    def code_columns() -> list[KeyColumn]:
        return [_code_column(series, n_rows) for series in code_series]

    if n_rows >= PARALLEL_KEYS_MIN_ROWS:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="wdh-frame-keys") as pool:
            codes = pool.submit(code_columns)
            name, account_name, raw = name_columns(customer, account)
            plan, account_number, existing = codes.result()
    else:
        name, account_name, raw = name_columns(customer, account)
        plan, account_number, existing = code_columns()
    return FrameKeys(
        n_rows=n_rows,
        plan=plan,
        account=account_number,
        name=name,
        account_name=account_name,
        existing=existing,
        raw_names=raw,
        single_plan=None if plan_type is None else _single_plan_rows(plan_type),
    )


def _single_plan_rows(series: pd.Series) -> Mask:
    """Rows whose plan type is ``单一计划`` (trimmed); one check per distinct value."""
    codes, uniques = factorize(series)
    flags = np.asarray(
        [isinstance(v, str) and v.strip() == SINGLE_EMPLOYER_PLAN for v in uniques.tolist()]
        + [False],
        dtype=bool,
    )
    result: Mask = flags[codes]
    return result

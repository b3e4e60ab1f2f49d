"""The resolver's output on a fixed mix of every tier is the same on both databases, run after
run, cold or with the per-process key memo warm — and equal to the recorded checksum.

The checksum and counts were recorded, on both databases, with the resolver as it was
before the per-process key memo, then recorded again when issue 18 changed what a run does
on purpose: a name's one existing id now reaches its other rows (71 rows fewer get a
temporary id, 29 names fewer are queued) and plan / account mappings are learned only with
single-employer evidence (33 withheld, 33 fewer inserted). Any other change that alters an
id, a null or a count breaks it.
The mix (about 6,000 rows) has YAML hits on four levels and an exclusion, DB-cache hits of
four match types with a placeholder id stored, existing ids (valid, placeholder, temporary)
that teach one name to its other rows, conflicts, noisy spellings, names that normalize to
nothing, account names that differ from the customer name and numbers in code columns.
"""

from __future__ import annotations

import hashlib
import random

import pandas as pd
import sqlalchemy as sa

from work_data_hub.infrastructure.enrichment.company_id_resolver import CompanyIdResolver
from work_data_hub.infrastructure.enrichment.mapping_repository import CompanyMappingRepository
from work_data_hub.infrastructure.enrichment.mapping_snapshot import MappingSnapshot
from work_data_hub.infrastructure.enrichment.normalizer import normalize_for_temp_id
from work_data_hub.infrastructure.enrichment.resolve import key_cache
from work_data_hub.infrastructure.enrichment.types import MappingRecord, MappingRepositoryProtocol

SALT = "stable-output-salt"
#: sha256 of the sorted output rows (every column, ids included).
EXPECTED = "dcf6917562a39b05e1004db26d5235ebd4dc2572628d4b8397cc41e2b0578a99"
#: The counts of that run.
EXPECTED_COUNTS = {
    "temp_ids_generated": 3762,
    "unresolved": 78,
    "excluded": 12,
    "yaml_hits": {"plan": 129, "account": 0, "hardcode": 7, "name": 592, "account_name": 6},
    "db_cache_hits": 1071,
    "existing_column_hits": 272,
    "propagated_hits": 71,
    "propagation_conflicts": 10,
    "plan_name_conflicts": 9,
    "backflow_stats": {"inserted": 101, "skipped": 0, "conflicts": 111, "withheld": 33},
    "async_queued": 514,
}

_BRANDS = "华中国信达恒泰安宏盛丰源鑫瑞祥和金隆新辉光明德永昌兴远"
_NOISE = ["", "", "", " -已转出", "（集团）", "(终止)", "  ", "ＡＢ", "-BSU280"]


def _name(serial: int) -> str:
    brand = "".join(_BRANDS[(serial * 7 + i * 3) % len(_BRANDS)] for i in range(4))
    return f"{brand}{serial}有限公司"


def _frame() -> pd.DataFrame:
    rng = random.Random(20240601)
    rows: list[dict[str, object]] = []
    for i in range(6_000):
        serial = rng.randrange(400)
        name = _name(serial) + rng.choice(_NOISE)
        if serial % 97 == 0:
            name = rng.choice(["N/A", "  ", "已转出", None])
        account = name if rng.random() < 0.8 else _name(serial) + "企业年金"
        existing: object = None
        if serial % 10 == 3:
            existing = rng.choice([f"E{serial:05d}", f"E{serial:05d}", "N/A", "IN" + "A" * 16])
        elif serial % 50 == 7:
            existing = f"X{i % 3}"  # one name, several ids: a conflict
        plan: object = f"P{serial % 40:03d}" if i % 11 else serial % 40  # numbers too
        rows.append(
            {
                "计划代码": plan,
                "客户名称": name,
                "年金账户名": account,
                "年金账户号": f"A{serial:06d}" if i % 13 else None,
                "公司代码": existing,
            }
        )
    return pd.DataFrame(rows)


def _overrides() -> dict[str, dict[str, str]]:
    return {
        "plan": {"P001": "Y00001"},
        "hardcode": {f"P002|{_name(2)}": "Y00002", f"P042|{_name(42)}": "Y00042"},
        "name": {_name(s): f"Y{s:05d}" for s in range(10, 400, 9)} | {_name(19): "__EMPTY__"},
        "account_name": {_name(5) + "企业年金": "Y00005"},
    }


def _seed(conn: sa.Connection) -> None:
    pairs = [(normalize_for_temp_id(_name(s)), f"C{s:05d}", "name") for s in range(5, 400, 8)]
    pairs += [(f"A{s:06d}", f"K{s:05d}", "account") for s in range(6, 400, 31)]
    pairs += [(f"P{s:03d}", f"L{s:05d}", "plan") for s in (3, 4)]
    pairs += [(normalize_for_temp_id(_name(s)), "N/A", "eqc") for s in range(8, 400, 50)]
    pairs += [(normalize_for_temp_id(_name(s)), f"M{s:05d}", "manual") for s in range(11, 400, 40)]
    records = [
        MappingRecord(alias_name=alias, canonical_id=company_id, match_type=kind)
        for alias, company_id, kind in pairs
    ]
    with conn.begin_nested():
        CompanyMappingRepository(conn).insert_batch_with_conflict_check(records)


def _checksum(data: pd.DataFrame) -> str:
    text = data.astype(object).where(data.notna(), "<NA>").astype(str)
    lines = sorted("\x1f".join(row) for row in text.itertuples(index=False, name=None))
    return hashlib.sha256("\x1e".join(lines).encode("utf-8")).hexdigest()


def _arrow_text_frame() -> pd.DataFrame:
    """The mix with its name columns as Arrow-backed text, as the file readers give them."""
    frame = _frame()
    for column in ("客户名称", "年金账户名"):
        frame[column] = frame[column].astype(pd.StringDtype("pyarrow"))
    return frame


def _resolve(
    conn: sa.Connection,
    frame: pd.DataFrame | None = None,
    snapshot: MappingSnapshot | None = None,
) -> tuple[str, dict[str, object]]:
    repository: MappingRepositoryProtocol = CompanyMappingRepository(conn)
    if snapshot is not None:
        repository = snapshot.bind(repository)
    resolver = CompanyIdResolver(
        yaml_overrides=_overrides(), mapping_repository=repository, salt=SALT
    )
    with conn.begin_nested() as savepoint:
        result = resolver.resolve_batch(_frame() if frame is None else frame)
        savepoint.rollback()  # every run sees the same database
    counts = result.statistics.to_dict()
    return _checksum(result.data), {name: counts[name] for name in EXPECTED_COUNTS}


def test_output_matches_the_recorded_checksum_cold_and_warm(db_conn: sa.Connection) -> None:
    _seed(db_conn)
    key_cache.clear()
    cold = _resolve(db_conn)
    warm = _resolve(db_conn)
    assert cold == warm == (EXPECTED, EXPECTED_COUNTS)


def test_arrow_backed_name_columns_give_the_recorded_output(db_conn: sa.Connection) -> None:
    """The Arrow path of key building (:mod:`spelling_index`) gives the same ids and counts."""
    _seed(db_conn)
    key_cache.clear()
    cold = _resolve(db_conn, _arrow_text_frame())
    warm = _resolve(db_conn, _arrow_text_frame())
    assert cold == warm == (EXPECTED, EXPECTED_COUNTS)


def test_a_snapshot_answering_by_position_gives_the_recorded_output(db_conn: sa.Connection) -> None:
    """Through a :class:`MappingSnapshot` the cache tier takes its ids by position
    (:mod:`cache_positions`): the same ids and counts as the dict path."""
    _seed(db_conn)
    by_position = _resolve(db_conn, _frame(), MappingSnapshot())
    arrow_by_position = _resolve(db_conn, _arrow_text_frame(), MappingSnapshot())
    assert by_position == arrow_by_position == (EXPECTED, EXPECTED_COUNTS)

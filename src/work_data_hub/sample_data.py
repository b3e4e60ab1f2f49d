"""Deterministic sample annuity data: what a monthly file looks like, for tests, benchmarks, demo.

The same ``seed`` gives the same rows. Customers repeat with real-world spelling variants of
one company (full-width letters and brackets, status markers such as ``-已转出``, stray
spaces, branch suffixes), account names and numbers are derived from the plan and customer,
and the existing-id column ``公司代码`` is partly filled — with real ids, placeholders
(``N/A``) or blanks. Frequencies are skewed, as in real files: a few employers fill many rows.

Company names come from a built-in generator, or from a caller's list (the demo passes
names from the local EQC server's registry so that lookups find real hits).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from work_data_hub.io import frames

__all__ = [
    "SAMPLE_COLUMNS",
    "SampleConfig",
    "company_names",
    "generate_frame",
    "iter_frames",
    "name_variants",
    "review_variant",
    "stable_company_id",
    "true_ids",
    "write_sample_file",
]

SAMPLE_COLUMNS = (
    "计划代码",
    "计划名称",
    "客户名称",
    "年金账户名",
    "年金账户号",
    "公司代码",
    "期末资产规模",
)

_REGIONS = (
    "北京", "上海", "广州", "深圳", "杭州", "南京", "武汉", "成都", "重庆", "天津",
    "西安", "苏州", "长沙", "青岛", "厦门", "宁波", "合肥", "济南", "郑州", "昆明",
)  # fmt: skip
_CORES = (
    "华信", "中远", "国泰", "恒通", "瑞丰", "东方", "金桥", "宏达", "新世纪", "长城",
    "百川", "鼎盛", "天元", "海纳", "安泰", "中联", "宝丰", "嘉禾", "同创", "润华",
    "汇金", "正大", "永安", "聚源", "中科", "华润", "远洋", "锦江", "光明", "龙腾",
)  # fmt: skip
_TRADES = (
    "科技", "电力", "建设", "物流", "医药", "能源", "证券", "保险", "食品", "化工",
    "机械", "通信", "地产", "纺织", "传媒", "汽车", "钢铁", "港务", "环保", "软件",
)  # fmt: skip
_FORMS = ("有限公司", "股份有限公司", "集团有限公司", "有限责任公司")
#: Collective plans shared by many employers, and the share of rows in them.
_COLLECTIVE_PLANS = 3
_COLLECTIVE_SHARE = 0.2
_STATUS_MARKERS = ("-已转出", "（已转出）", "(待转出)", "-原")
_FULL_WIDTH = str.maketrans(
    "()ABCDEFGHIJKLMNOPQRSTUVWXYZ", "（）ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ"
)


@dataclass(frozen=True, kw_only=True)
class SampleConfig:
    """Shape of a generated file; the defaults resemble one month of one administrator."""

    rows: int = 1_000
    seed: int = 20240601
    #: Distinct companies as a share of rows (at least 20 companies).
    company_ratio: float = 0.02
    plans: int = 40
    #: Share of rows whose ``公司代码`` holds a real id; a tenth as many hold a placeholder.
    existing_id_ratio: float = 0.15
    #: Share of rows spelled in a variant form rather than the official name.
    variant_ratio: float = 0.5
    #: Share of companies whose rows ever carry their id (``existing_id_ratio`` of the rows
    #: is kept overall): in real files many employers never fill ``公司代码``.
    id_company_share: float = 1.0

    @property
    def companies(self) -> int:
        """How many distinct companies the file holds."""
        return max(20, int(self.rows * self.company_ratio))


def company_names(count: int, seed: int = 7) -> list[str]:
    """``count`` distinct official company names, the same for the same seed."""
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        core = rng.choice(_CORES)
        if len(names) >= len(_CORES) * len(_TRADES):  # past the short names: longer ones
            core += rng.choice(_CORES)
        name = rng.choice(_REGIONS) + core + rng.choice(_TRADES) + rng.choice(_FORMS)
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def name_variants(name: str, rng: random.Random) -> list[str]:
    """Four spellings of ``name`` seen in real files (brackets, status markers, spaces)."""
    marker = rng.choice(_STATUS_MARKERS)
    if "集团" in name:
        brackets = [name.replace("集团", "(集团)"), name.replace("集团", "（集团）")]
    else:
        brackets = [f"{name}（已转出）", f" {name} "]
    return [
        brackets[0],
        name + marker,
        " " + name.replace("有限公司", " 有限公司"),
        brackets[1],
    ]


#: Places that start company names (or sit in brackets inside them), for review variants.
_PLACES = tuple(sorted(set(_REGIONS) | {
    "天津", "重庆", "广州", "无锡", "福州", "南昌", "贵阳", "沈阳", "大连", "哈尔滨", "石家庄",
    "太原", "南宁", "海口", "兰州",
}, key=len, reverse=True))  # fmt: skip


def review_variant(name: str, rng: random.Random) -> str:
    """A spelling of ``name`` that the normalizer rightly keeps apart but a reviewer knows
    for the same company: a branch office, another legal form, or the region left out."""
    kinds = ["branch", "form", "region"]
    rng.shuffle(kinds)
    for kind in kinds:
        if kind == "branch":
            return f"{name}{rng.choice([p for p in _PLACES if p not in name])}分公司"
        form = next((f for f in sorted(_FORMS, key=len, reverse=True) if name.endswith(f)), None)
        if kind == "form" and form is not None:
            return name[: -len(form)] + rng.choice([f for f in _FORMS if f != form])
        if kind == "region":
            for place in _PLACES:
                if name.startswith(place):
                    return name[len(place) :]
                if f"({place})" in name:
                    return name.replace(f"({place})", "")
    return f"{name}{_PLACES[0]}分公司"


def stable_company_id(name: str) -> str:
    """A nine-digit id derived from ``name`` (the same for the same name)."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return str(600_000_000 + int.from_bytes(digest[:4], "big") % 400_000_000)


def _plans(count: int, rng: random.Random) -> tuple[list[str], list[str]]:
    codes = [f"{rng.choice('PSZ')}{rng.randint(0, 9999):04d}" for _ in range(count)]
    titles = [f"{rng.choice(_CORES)}企业年金计划" for _ in range(count)]
    return codes, titles


def iter_frames(
    config: SampleConfig,
    *,
    names: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    chunk_rows: int = frames.DEFAULT_CHUNK_ROWS,
) -> Iterator[pd.DataFrame]:
    """The sample rows in chunks of ``chunk_rows`` (memory stays bounded for big files).

    ``ids`` (parallel to ``names``) are the real ids written to ``公司代码``; by default a
    stable id is derived from the name. Most companies have a plan of their own; the
    first plans are collective plans shared by many employers, as in real files.
    """
    for frame, _ in _iter_parts(config, names=names, ids=ids, chunk_rows=chunk_rows):
        yield frame


def true_ids(
    config: SampleConfig,
    *,
    names: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
) -> pd.Series:
    """The ground truth of the sample: per row, the real id of the company it belongs to
    (the same rows as :func:`iter_frames` with the same arguments), to check resolved ids
    against — a wrong id is never a hit."""
    parts = [
        pd.Series(truth, index=frame.index, dtype="string")
        for frame, truth in _iter_parts(config, names=names, ids=ids, chunk_rows=config.rows)
    ]
    return pd.concat(parts) if parts else pd.Series(dtype="string")


def _iter_parts(
    config: SampleConfig,
    *,
    names: Sequence[str] | None,
    ids: Sequence[str] | None,
    chunk_rows: int,
) -> Iterator[tuple[pd.DataFrame, list[str]]]:
    rng = random.Random(config.seed)  # noqa: S311 - sample data, not secrets
    companies = config.companies
    official = list(names)[:companies] if names else company_names(companies, config.seed)
    companies = len(official)
    spellings: list[list[str]] = [[n, *name_variants(n, rng)] for n in official]
    plan_codes, plan_titles = _plans(config.plans + _COLLECTIVE_PLANS, rng)
    known_ids = list(ids)[:companies] if ids else [stable_company_id(n) for n in official]
    own_plan = [rng.randrange(config.plans) for _ in range(companies)]
    # Zipf-like popularity: the first companies fill most rows, as big employers do.
    weights = 1.0 / np.arange(1, companies + 1) ** 0.8
    weights /= weights.sum()
    generator = np.random.default_rng(config.seed)
    share = min(max(config.id_company_share, 0.01), 1.0)
    carries = [(c * 7919) % 100 < share * 100 for c in range(companies)]
    id_ratio = config.existing_id_ratio / share
    done = 0
    while done < config.rows:
        size = min(chunk_rows, config.rows - done)
        company = generator.choice(companies, size=size, p=weights)
        variant = np.where(
            generator.random(size) < config.variant_ratio,
            generator.integers(1, 5, size=size),
            0,
        )
        collective = generator.random(size) < _COLLECTIVE_SHARE
        shared = generator.integers(0, _COLLECTIVE_PLANS, size=size)
        plan = np.where(collective, shared, np.asarray(own_plan)[company] + _COLLECTIVE_PLANS)
        id_roll = generator.random(size)
        customer = [
            spellings[c][min(v, len(spellings[c]) - 1)]
            for c, v in zip(company, variant, strict=True)
        ]
        plan_code = [plan_codes[p] for p in plan]
        existing: list[str | None] = [
            known_ids[c] if r < id_ratio and carries[c]
            else ("N/A" if id_ratio <= r < id_ratio * 1.1 else None)
            for c, r in zip(company, id_roll, strict=True)
        ]  # fmt: skip
        account_no = [
            f"{(c * 7919 + p * 104729) % 10**12:012d}" for c, p in zip(company, plan, strict=True)
        ]
        frame = pd.DataFrame(
            {
                "计划代码": pd.array(plan_code, dtype="string"),
                "计划名称": pd.array([plan_titles[p] for p in plan], dtype="string"),
                "客户名称": pd.array(customer, dtype="string"),
                "年金账户名": pd.array([f"{official[c]}企业年金" for c in company], dtype="string"),
                "年金账户号": pd.array(account_no, dtype="string"),
                "公司代码": pd.array(existing, dtype="string"),
                "期末资产规模": pd.array(
                    [f"{x:.2f}" for x in generator.gamma(2.0, 500_000.0, size=size)],
                    dtype="string",
                ),
            },
            index=pd.RangeIndex(done, done + size),
        )
        done += size
        yield frame, [known_ids[c] for c in company]


def generate_frame(
    config: SampleConfig,
    *,
    names: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """All sample rows in one frame."""
    parts = list(iter_frames(config, names=names, ids=ids, chunk_rows=max(1, config.rows)))
    return parts[0] if len(parts) == 1 else pd.DataFrame(columns=list(SAMPLE_COLUMNS))


def write_sample_file(
    path: Path | str,
    config: SampleConfig,
    *,
    names: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    chunk_rows: int = frames.DEFAULT_CHUNK_ROWS,
) -> Path:
    """Write the sample to ``path`` (CSV in UTF-8, Excel or Parquet by suffix), in chunks."""
    path = Path(path)
    with frames.open_writer(path) as writer:
        for frame in iter_frames(config, names=names, ids=ids, chunk_rows=chunk_rows):
            writer.write(frame)
    return path

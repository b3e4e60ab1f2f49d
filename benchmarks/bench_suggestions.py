"""Review suggestions: 10,000 unknown names against 1,000,000 mapped aliases.

Figures: time to build the alias index (taking 1,000,000 names apart and blocking them),
time to suggest for 10,000 unknown names, names/s, peak RSS, and how often the right company
is the first suggestion or among three for the unknown names that are variants of a mapped
one (branch of a mapped parent, region moved or left out, another legal form, one character
mistyped). Target: index plus suggestions in at most 30 s.

The engine is pure (no database), so this benchmark needs no PostgreSQL. Run with
``.venv/bin/python benchmarks/bench_suggestions.py``; JSON goes to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import sys
import time
from datetime import UTC, datetime
from typing import Any

from _results import write_results
from work_data_hub.infrastructure.enrichment import normalizer
from work_data_hub.infrastructure.enrichment.review.suggestions import AliasIndex

ALIASES = 1_000_000
UNKNOWN = 10_000
#: Share of unknown names that are variants of a mapped company (the rest are new).
VARIANT_SHARE = 0.7

_REGIONS = (
    "北京 上海 天津 重庆 广州 深圳 杭州 宁波 南京 苏州 无锡 武汉 成都 西安 长沙 郑州 青岛 济南"
)
_REGIONS += " 厦门 福州 合肥 南昌 昆明 贵阳 沈阳 大连 哈尔滨 石家庄 太原 南宁 海口 兰州 珠海 佛山"
_TRADES = (
    "科技 实业 投资 建设 物流 贸易 医药 能源 电子 食品 化工 机械 环保 置业 传媒 纺织 汽车 软件"
)
_TRADES += " 信息技术 新材料 生物科技 工程 餐饮管理 教育科技 农业发展 供应链管理 电力设备 咨询 商贸"
_CHARS = (
    "华信泰恒瑞安盛达鑫宏远隆联创新博嘉诚德金天正源丰汇融通力祥凯益铭锦弘永兴明辉卓越腾飞"
    "中国东方长城世纪海纳百川鼎元聚宝同润光龙江山河星月云峰林森海洋宇宙晨阳春秋和平富贵"
    "康健乐美佳优品亿万千众合利达通顺发展科技智能数字未来前沿启航领航卓尔非凡精工匠心"
)
_FORMS = ("有限公司", "股份有限公司", "集团有限公司", "有限责任公司")
_HOMOPHONES = dict(zip("华信泰恒瑞安盛达鑫宏", "化心太衡锐按胜大馨洪", strict=True))


def _name(rng: random.Random, regions: list[str], trades: list[str]) -> str:
    brand = "".join(rng.sample(_CHARS, rng.choice((2, 2, 3))))
    region = rng.choice(regions)
    form = rng.choice(_FORMS)
    if rng.random() < 0.2:
        return f"{brand}({region}){rng.choice(trades)}{form}"
    return f"{region}{brand}{rng.choice(trades)}{form}"


def make_aliases(count: int, seed: int = 1) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    regions, trades = _REGIONS.split(), _TRADES.split()
    seen: set[str] = set()
    names: list[str] = []
    while len(names) < count:
        name = normalizer.normalize_for_temp_id(_name(rng, regions, trades))
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names, [str(1_000_000_000 + i) for i in range(count)]


def _variant(name: str, rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return f"{name}{rng.choice(_REGIONS.split())}分公司"
    if kind == 1:  # another legal form
        for form in sorted(_FORMS, key=len, reverse=True):
            if name.endswith(form):
                return name[: -len(form)] + rng.choice([f for f in _FORMS if f != form])
    if kind == 2:  # region left out
        for region in _REGIONS.split():
            if name.startswith(region):
                return name[len(region) :]
            if f"（{region}）" in name:
                return name.replace(f"（{region}）", "")
    for position, char in enumerate(name):  # one character mistyped (a homophone)
        if char in _HOMOPHONES:
            return name[:position] + _HOMOPHONES[char] + name[position + 1 :]
    return f"{name}{rng.choice(_REGIONS.split())}分公司"


def make_unknown(
    aliases: list[str], ids: list[str], count: int, seed: int = 2
) -> tuple[list[str], list[str | None]]:
    rng = random.Random(seed)
    known = set(aliases)
    regions, trades = _REGIONS.split(), _TRADES.split()
    names: list[str] = []
    truth: list[str | None] = []
    while len(names) < count:
        if rng.random() < VARIANT_SHARE:
            index = rng.randrange(len(aliases))
            name = normalizer.normalize_for_temp_id(_variant(aliases[index], rng))
            answer: str | None = ids[index]
        else:
            name = normalizer.normalize_for_temp_id(_name(rng, regions, trades))
            answer = None
        if name and name not in known:
            known.add(name)
            names.append(name)
            truth.append(answer)
    return names, truth


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def run(alias_count: int, unknown_count: int) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    aliases, ids = make_aliases(alias_count)
    unknown, truth = make_unknown(aliases, ids, unknown_count)
    print(f"data: {alias_count:,} aliases, {unknown_count:,} unknown names in "
          f"{time.perf_counter() - started:.1f} s (not counted)")  # fmt: skip
    rss_data = _peak_rss_mb()

    started = time.perf_counter()
    index = AliasIndex(aliases, ids, ["eqc"] * alias_count)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    suggestions = index.suggest(unknown)
    suggest_s = time.perf_counter() - started
    total_s = build_s + suggest_s

    variants = [(s, t) for s, t in zip(suggestions, truth, strict=True) if t is not None]
    top1 = sum(1 for s, t in variants if s and s[0].company_id == t)
    top3 = sum(1 for s, t in variants if any(x.company_id == t for x in s[:3]))
    with_any = sum(1 for s in suggestions if s)
    peak = _peak_rss_mb()
    load_after = os.getloadavg()[0]
    print(f"index of {alias_count:,} aliases: {build_s:.1f} s")
    print(f"suggestions for {unknown_count:,} names: {suggest_s:.1f} s "
          f"({unknown_count / suggest_s:,.0f} names/s)")  # fmt: skip
    print(f"total {total_s:.1f} s (target <= 30 s)")
    print(f"names with a suggestion: {with_any:,} of {unknown_count:,}")
    print(f"variants of a mapped company: {len(variants):,}; right id first "
          f"{top1 / len(variants):.1%}, in top 3 {top3 / len(variants):.1%}")  # fmt: skip
    print(f"peak RSS: {peak:.0f} MB (after generating the data: {rss_data:.0f} MB); "
          f"load average {load_before:.1f} -> {load_after:.1f}")  # fmt: skip
    return {
        "benchmark": "suggestions",
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "aliases": alias_count,
        "unknown_names": unknown_count,
        "index_s": round(build_s, 2),
        "suggest_s": round(suggest_s, 2),
        "total_s": round(total_s, 2),
        "names_with_suggestion": with_any,
        "variants": len(variants),
        "top1_accuracy": round(top1 / len(variants), 4) if variants else None,
        "top3_accuracy": round(top3 / len(variants), 4) if variants else None,
        "peak_rss_mb": round(peak, 1),
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "targets": {"total_s": 30},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aliases", type=int, default=ALIASES)
    parser.add_argument("--unknown", type=int, default=UNKNOWN)
    args = parser.parse_args()
    result = run(args.aliases, args.unknown)
    path = write_results("bench_suggestions", result)
    print(f"results: {path}")


if __name__ == "__main__":
    main()

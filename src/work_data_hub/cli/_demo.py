"""The service behind ``wdh-enrich demo``: the main job end to end on a private SQLite database.

Generates a sample annuity file, migrates a fresh embedded database, starts the local EQC
server in this process on a free port, resolves the file with a small sync budget, works
the queue, remaps the temporary ids and resolves the file once more (the next month's
run): every step through the same services as the commands, so it shows what they do.
The command itself (:mod:`work_data_hub.cli.demo`) imports this module when it runs.
"""

from __future__ import annotations

import dataclasses
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from work_data_hub import review, sample_data
from work_data_hub.cli import _eqc, _pipeline, _remap, _strategy
from work_data_hub.eqc_server.testing import running_eqc_server
from work_data_hub.infrastructure.db import engine as db_engine
from work_data_hub.infrastructure.db import migrate
from work_data_hub.infrastructure.enrichment import normalizer, temp_ids
from work_data_hub.infrastructure.enrichment.queue import admin as queue_admin
from work_data_hub.infrastructure.enrichment.queue import details as details_pass
from work_data_hub.infrastructure.enrichment.queue import worker
from work_data_hub.io import frames
from work_data_hub.settings import Settings
from work_data_hub.utils import clock

__all__ = ["DEMO_REGISTRY_SIZE", "DEMO_SYNC_BUDGET", "DemoResult", "Stage", "run_demo"]

#: Registry of the demo's EQC server; smaller than the default so it starts fast.
DEMO_REGISTRY_SIZE = 3_000
DEMO_SYNC_BUDGET = 10
#: Share of the demo's employers whose rows ever carry their id in 公司代码.
DEMO_ID_COMPANY_SHARE = 0.5
#: Companies of the sample spelled anew (branch, legal form, region) for the review step.
DEMO_REVIEW_NAMES = 60


@dataclass(frozen=True, kw_only=True)
class Stage:
    """Id coverage of the file after one step, checked against the sample's ground truth:
    ``real_ids`` are the right company's ids, ``wrong_ids`` another company's (never a
    hit)."""

    name: str
    rows: int
    real_ids: int
    wrong_ids: int
    temp_ids: int
    no_id: int

    @property
    def hit_rate(self) -> float:
        return self.real_ids / self.rows if self.rows else 0.0

    def row(self) -> list[Any]:
        return [
            self.name,
            self.rows,
            self.real_ids,
            self.wrong_ids,
            self.temp_ids,
            self.no_id,
            f"{self.hit_rate:.1%}",
        ]


@dataclass(frozen=True, kw_only=True)
class DemoResult:
    """Everything the demo did, for the table and for tests."""

    workdir: Path
    sample_path: Path
    resolved_path: Path
    remapped_path: Path
    stages: list[Stage]
    first_run: dict[str, Any]
    second_run: dict[str, Any]
    worker: dict[str, Any]
    queue_after: dict[str, Any]
    eqc_calls: int
    review: dict[str, Any] = dataclasses.field(default_factory=dict)


def _stage(name: str, ids: pd.Series, truth: pd.Series) -> Stage:
    text = ids.astype("string").str.strip()
    temp = temp_ids.temp_id_mask(ids)
    missing = text.isna() | text.isin(["", "N/A"]).fillna(True).astype(bool)
    real = ~temp & ~missing
    same = text.fillna("").to_numpy(dtype=object) == truth.fillna("").to_numpy(dtype=object)
    right = real & same
    return Stage(
        name=name,
        rows=len(text),
        real_ids=int(right.sum()),
        wrong_ids=int((real & ~right).sum()),
        temp_ids=int(temp.sum()),
        no_id=int((missing & ~temp).sum()),
    )


def _demo_companies(
    registry: list[tuple[str, str]], companies: int, seed: int
) -> tuple[list[str], list[str]]:
    """Customers and their real ids: registry companies, every fourth one unknown to EQC."""
    step = max(1, len(registry) // companies)
    known = iter(registry[::step])
    names = {name for name, _ in registry}
    unknown = iter(
        (n, sample_data.stable_company_id(n))
        for n in sample_data.company_names(companies * 2, seed + 1)
        if n not in names
    )
    picked = [next(unknown) if i % 4 == 3 else next(known) for i in range(companies)]
    return [name for name, _ in picked], [company_id for _, company_id in picked]


def run_demo(
    settings: Settings,
    workdir: Path,
    *,
    rows: int = 5_000,
    seed: int = 20240601,
    sync_budget: int = DEMO_SYNC_BUDGET,
    concurrency: int = 8,
) -> DemoResult:
    """Run every step in ``workdir`` (emptied first) and return what happened."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    database_url = f"sqlite:///{workdir / 'demo.sqlite3'}"
    # Half the employers never fill 公司代码, as in real files: their names are left to
    # the mapping cache, EQC and the queue.
    config = sample_data.SampleConfig(rows=rows, seed=seed, id_company_share=DEMO_ID_COMPANY_SHARE)
    with running_eqc_server(registry_size=DEMO_REGISTRY_SIZE, seed=seed) as eqc:
        demo_settings = dataclasses.replace(
            settings,
            database_url=database_url,
            eqc_token=eqc.token,
            eqc_base_url=eqc.base_url,
            # The local server is not rate limited like the real registry.
            eqc_rate_limit=100_000,
            eqc_rate_window_s=1.0,
        )
        registry = [(c.full_name, c.company_id) for c in eqc.registry.companies]
        names, ids = _demo_companies(registry, config.companies, seed)
        sample_path = sample_data.write_sample_file(
            workdir / "annuity_2024_06.csv", config, names=names, ids=ids
        )
        truth = sample_data.true_ids(config, names=names, ids=ids)
        engine = db_engine.create_engine(database_url)
        try:
            migrate.upgrade(engine)
            result = _run_steps(
                demo_settings,
                engine,
                sample_path,
                truth,
                sync_budget=sync_budget,
                concurrency=concurrency,
            )
            result = dataclasses.replace(
                result,
                review=_review_step(
                    demo_settings, engine, workdir, names, ids, seed=seed, concurrency=concurrency
                ),
            )
        finally:
            engine.dispose()
        eqc_calls = eqc.calls.total
    return dataclasses.replace(result, workdir=workdir, eqc_calls=eqc_calls)


def _run_steps(
    settings: Settings,
    engine: sa.Engine,
    sample_path: Path,
    truth: pd.Series,
    *,
    sync_budget: int,
    concurrency: int,
) -> DemoResult:
    source = frames.open_source(sample_path)
    original = frames.read_frame(sample_path)
    strategy = _strategy.build_strategy(
        source.columns, {}, source_name=sample_path.name, sync_budget=sync_budget
    )
    resolved_path = _pipeline.default_output_path(sample_path, "resolved")
    remapped_path = _pipeline.default_output_path(sample_path, "remapped")
    client = _eqc.make_client(settings, "the demo")
    with client:
        first = _pipeline.resolve_file(
            engine,
            source,
            resolved_path,
            strategy,
            salt=settings.alias_salt,
            provider_factory=_eqc.provider_factory(client),
        )
        stats = worker.process_enrichment_queue(engine, client, concurrency=concurrency)
        # Spare capacity: the found companies' details teach their former names.
        details_pass.fetch_details(engine, client)
    _remap.remap_file(engine, frames.open_source(resolved_path), remapped_path)
    # Next month's file: the same customers, now found in the mapping cache.
    second_path = _pipeline.default_output_path(sample_path, "next_run")
    second = _pipeline.resolve_file(
        engine,
        source,
        second_path,
        dataclasses.replace(strategy, sync_lookup_budget=0, use_enrichment_service=False),
        salt=settings.alias_salt,
    )
    truth = truth.reset_index(drop=True)
    stages = [
        _stage("input (公司代码)", original["公司代码"], truth),
        _stage("after resolve", frames.read_frame(resolved_path)["company_id"], truth),
        _stage("after queue work + remap", frames.read_frame(remapped_path)["company_id"], truth),
        _stage("next run (mapping cache)", frames.read_frame(second_path)["company_id"], truth),
    ]
    queue_after = queue_admin.queue_status(engine, clock.utcnow()).to_dict()
    return DemoResult(
        workdir=sample_path.parent,
        sample_path=sample_path,
        resolved_path=resolved_path,
        remapped_path=remapped_path,
        stages=stages,
        first_run=first.report.to_dict(),
        second_run=second.report.to_dict(),
        worker=stats.to_dict(),
        queue_after=queue_after,
        eqc_calls=0,
    )


def _review_step(
    settings: Settings,
    engine: sa.Engine,
    workdir: Path,
    names: list[str],
    ids: list[str],
    *,
    seed: int,
    concurrency: int,
) -> dict[str, Any]:
    """Next month's file spells some companies anew (a branch office, another legal form,
    the region left out): resolve it, work the queue, and score the review suggestions of
    the names still unknown against the generator's ground truth."""
    rng = random.Random(seed + 2)  # noqa: S311 - sample data, not secrets
    step = max(1, len(names) // DEMO_REVIEW_NAMES)
    truth: dict[str, str] = {}
    spellings: list[str] = []
    for name, company_id in list(zip(names, ids, strict=True))[::step][:DEMO_REVIEW_NAMES]:
        spelling = sample_data.review_variant(name, rng)
        key = normalizer.normalize_for_temp_id(spelling)
        if key and key not in truth:
            truth[key] = company_id
            spellings.append(spelling)
    path = workdir / "annuity_2024_07.csv"
    frames.write_frame(pd.DataFrame({"客户名称": spellings}), path)
    source = frames.open_source(path)
    strategy = _strategy.build_strategy(source.columns, {}, source_name=path.name, sync_budget=0)
    _pipeline.resolve_file(
        engine,
        source,
        _pipeline.default_output_path(path, "resolved"),
        strategy,
        salt=settings.alias_salt,
    )
    with _eqc.make_client(settings, "the demo") as client:
        worker.process_enrichment_queue(engine, client, concurrency=concurrency)
    rows = review.unknown_for_review(engine)
    scored = [
        (row, truth[key])
        for row in rows
        if (key := normalizer.normalize_for_temp_id(row.company.company_name)) in truth
    ]
    first = sum(
        1
        for row, answer in scored
        if row.suggestions[:1] and row.suggestions[0].company_id == answer
    )
    three = sum(1 for row, answer in scored if any(s.company_id == answer for s in row.suggestions))
    return {
        "new_spellings": len(spellings),
        "still_unknown": len(scored),
        "top1": first,
        "top3": three,
        "top1_rate": round(first / len(scored), 4) if scored else None,
        "top3_rate": round(three / len(scored), 4) if scored else None,
    }

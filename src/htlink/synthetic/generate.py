"""``generate``: a scenario and a seed in, a folder of agency extracts with ground truth out.

The steps: draw the name pools and the synthetic state (Faker, seeded), the
population, who is known to which agency and when, render each agency's
extract with its formats and errors, write everything, and measure how far
exact matching gets.  The same (scenario, seed) always gives byte-identical
files.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from htlink.synthetic import output
from htlink.synthetic.agencies import BUILDERS, AgencyTable
from htlink.synthetic.geography import build_geography
from htlink.synthetic.membership import assign_agencies, draw_records
from htlink.synthetic.pools import build_name_pools
from htlink.synthetic.population import build_population
from htlink.synthetic.randomness import stage_random, stage_rng
from htlink.synthetic.recall import RecallResult, exact_match_recall
from htlink.synthetic.scenario import Scenario, ScenarioError, default_scenario, load_scenario
from htlink.synthetic.summary import build_summary
from htlink.synthetic.world import AgencyJob, World

#: ``progress(what, fraction_done)``: what the generator is doing, and how far it is.
ProgressCallback = Callable[[str, float], None]


@dataclass(frozen=True)
class SynthResult:
    """What :func:`generate` wrote and measured."""

    out_dir: Path
    files: dict[str, Path]
    records: dict[str, int]
    people: int
    recall: RecallResult
    summary: dict[str, Any]
    seconds: float


def _as_scenario(scenario: Scenario | str | Path | None) -> Scenario:
    if scenario is None:
        return default_scenario()
    if isinstance(scenario, Scenario):
        return scenario
    return load_scenario(scenario)


def generate(
    scenario: Scenario | str | Path | None,
    seed: int,
    out_dir: str | Path,
    *,
    people: int | None = None,
    force: bool = False,
    progress: ProgressCallback | None = None,
) -> SynthResult:
    """Generate a synthetic world into ``out_dir``.

    ``scenario`` is a :class:`Scenario`, a scenario YAML file, or None for the
    built-in default; ``people`` overrides its population size.  Raises
    :class:`~htlink.synthetic.scenario.ScenarioError` for a bad scenario and
    :class:`~htlink.synthetic.output.OutputFolderError` when ``out_dir`` is
    not empty and ``force`` is not set.
    """
    started = time.perf_counter()
    report = progress or (lambda _what, _fraction: None)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ScenarioError(["the seed must be a whole number of 0 or more"])
    spec = _as_scenario(scenario)
    if people is not None:
        spec = spec.with_people(people)
    folder = Path(out_dir)
    output.check_out_dir(folder, force)

    report("name pools and the synthetic state", 0.0)
    pools = build_name_pools(list(spec.population.locales), stage_rng(seed, "pools"))
    geography = build_geography(stage_rng(seed, "geography"))
    report("population", 0.08)
    population = build_population(
        spec.population, spec.reference_date, pools, geography, stage_rng(seed, "population")
    )
    world = World(scenario=spec, seed=seed, pools=pools, geography=geography,
                  population=population)
    report("agency membership", 0.2)
    kinds, member = assign_agencies(population, spec, stage_rng(seed, "membership"))
    tables: list[AgencyTable] = []
    for j, kind in enumerate(kinds):
        report(f"{kind} records", 0.25 + 0.4 * j / len(kinds))
        draw = draw_records(population, spec.agencies[kind], member[:, j],
                            stage_rng(seed, f"records:{kind}"))
        job = AgencyJob(world=world, spec=spec.agencies[kind], draw=draw,
                        rng=stage_rng(seed, f"render:{kind}"),
                        rnd=stage_random(seed, f"render:{kind}"))
        tables.append(BUILDERS[kind](job))

    with output.staged(folder) as stage:
        files: dict[str, Path] = {}
        for i, table in enumerate(tables):
            report(f"writing {table.kind}.csv", 0.65 + 0.15 * i / len(tables))
            output.write_csv(table.frame, stage / f"{table.kind}.csv")
            output.write_mapping(table, stage / output.MAPPINGS_DIR / f"{table.kind}.yaml")
            files[table.kind] = folder / f"{table.kind}.csv"
            files[f"mapping:{table.kind}"] = folder / output.MAPPINGS_DIR / f"{table.kind}.yaml"
        output.write_truth(tables, population.person_id, stage / output.TRUTH_FILE)
        files["truth"] = folder / output.TRUTH_FILE
        report("exact-match recall", 0.82)
        recall = exact_match_recall(stage)
        summary = build_summary(spec, seed, kinds, member, tables, recall)
        output.write_summary(summary, stage / output.SUMMARY_FILE)
        files["summary"] = folder / output.SUMMARY_FILE
    report("done", 1.0)
    return SynthResult(
        out_dir=folder,
        files=files,
        records={t.kind: len(t.frame) for t in tables},
        people=summary["people"],
        recall=recall,
        summary=summary,
        seconds=time.perf_counter() - started,
    )

"""``htlink synth``: a synthetic world of three agencies with ground truth."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from htlink.cli.console import err, handle_errors, out


def synth(
    scenario: Path | None = typer.Option(
        None,
        "--scenario",
        help="Scenario YAML (e.g. synthetic/default.yaml); default: the built-in default.",
    ),
    seed: int = typer.Option(1, "--seed", min=0, help="Random seed: same seed, same files."),
    out_dir: Path = typer.Option(
        ..., "--out", help="Output folder (must be empty or new, unless --force)."
    ),
    people: int | None = typer.Option(
        None, "--people", min=1, help="Number of people (overrides the scenario)."
    ),
    force: bool = typer.Option(
        False, "--force", help="Overwrite the files htlink synth writes in an existing --out."
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Generate synthetic agency extracts (healthcare, social services, prosecution).

    Writes one CSV per agency in its own columns and formats, with the
    scenario's errors, plus truth.csv (which records are the same person),
    a mapping file per agency for `htlink encode --map-file`, and summary.json.
    """
    _synth(**locals())


@handle_errors
def _synth(**opts: object) -> None:
    from htlink.synthetic import generate

    show = not opts["quiet"] and err.is_terminal
    progress = Progress(
        TextColumn("[bold]synth[/] {task.description:<36}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err,
        disable=not show,
        transient=True,
    )
    task = progress.add_task("starting", total=1.0)

    def on_progress(what: str, fraction: float) -> None:
        progress.update(task, completed=fraction, description=what)

    with progress:
        result = generate(
            opts["scenario"],  # type: ignore[arg-type]
            opts["seed"],  # type: ignore[arg-type]
            opts["out_dir"],  # type: ignore[arg-type]
            people=opts["people"],  # type: ignore[arg-type]
            force=bool(opts["force"]),
            progress=on_progress,
        )
    summary = result.summary
    table = Table(title=f"Scenario {summary['scenario_name']!r}, seed {summary['seed']}")
    for col, justify in (("agency", "left"), ("records", "right"), ("people", "right"),
                         ("file", "left"), ("record id", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for kind, records in result.records.items():
        dup = summary["duplicates"][kind]
        info = summary["files"][kind]
        table.add_row(kind, f"{records:,}", f"{dup['people']:,}", info["file"], info["id_column"])
    out.print(table)
    exactly = summary["overlap"]["people_in_exactly"]
    out.print(
        f"{result.people:,} people: "
        + ", ".join(f"{n:,} in {k} agenc{'y' if k == '1' else 'ies'}" for k, n in exactly.items())
        + f"; {sum(result.records.values()):,} records in {result.seconds:.1f} s."
    )
    recall = result.recall
    if recall.recall is None:
        out.print("No person has two records, so there is no exact-match recall to measure.")
    else:
        out.print(
            f"Exact matching on (normalized name, date of birth) finds {recall.exact_pairs:,} "
            f"of {recall.true_pairs:,} true pairs: recall [bold]{recall.recall:.3f}[/]."
        )
    out.print(f"Written to {result.out_dir} (truth.csv, mappings/, summary.json).")

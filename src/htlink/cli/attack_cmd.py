"""``htlink attack bench``: re-identification attacks against linkage configurations.

Thin layer over :func:`htlink.attacks.run_bench`; see docs/attacks.md.
Register with ``app.add_typer(attack_cmd.app, name="attack")``.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from htlink.cli.console import err, handle_errors, out

app = typer.Typer(
    help="Attack the encodings: measure re-identification on synthetic data.",
    no_args_is_help=True,
)


@app.callback()
def attack() -> None:
    """Attack the encodings: measure re-identification on synthetic data."""


@app.command("bench")
def bench(
    small: bool = typer.Option(
        False, "--small", help="The small CI configuration (1,500 people, 600 attacked records)."
    ),
    people: int | None = typer.Option(
        None, "--people", min=50, help="People in the synthetic world (default 20,000)."
    ),
    configs: list[str] = typer.Option(
        [],
        "--config",
        help="A configuration: a built-in name (person-v1, posthoc:balanced, ...) or "
        "SCHEMA.json[+blip:P][+fold][+balanced]. Repeat; default: every built-in one.",
        show_default=False,
    ),
    attack_size: int | None = typer.Option(
        None, "--attack-size", min=10, help="Encoded records attacked (default 3,000)."
    ),
    graph_size: int | None = typer.Option(
        None, "--graph-size", min=10, help="Encoded records for the graph attack (default 1,500)."
    ),
    seed: int = typer.Option(1, "--seed", min=0, help="Generator and sampling seed."),
    no_linkage: bool = typer.Option(False, "--no-linkage", help="Skip the linkage F1."),
    world_dir: Path | None = typer.Option(
        None,
        "--world-dir",
        help="Folder for the synthetic world: reused when it holds the same people and "
        "seed, otherwise generated there (htlink synth --force).",
    ),
    out_path: Path | None = typer.Option(
        None, "--out", help="Write the results as JSON (e.g. benchmarks/results/attacks.json)."
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress messages."),
) -> None:
    """Run every attack against every configuration and print re-identification rates (%)."""
    _bench(**locals())


@handle_errors
def _bench(**opts: object) -> None:
    from htlink.attacks.bench import BenchOptions, run_bench

    overrides: dict[str, object] = {"seed": opts["seed"], "linkage": not opts["no_linkage"]}
    for key in ("people", "attack_size", "graph_size", "world_dir"):
        if opts[key] is not None:
            overrides[key] = opts[key]
    if opts["configs"]:
        overrides["configs"] = tuple(opts["configs"])  # type: ignore[arg-type]
    options = BenchOptions.small(**overrides) if opts["small"] else BenchOptions(**overrides)  # type: ignore[arg-type]

    def say(message: str) -> None:
        if not opts["quiet"]:
            err.print(f"[dim]attack[/] {message}")

    result = run_bench(options, progress=say)
    header, rows = result.table_rows()
    table = Table(
        title=f"Re-identification rate (%) by attack@overlap; linkage F1 "
        f"({options.people:,} people, {options.attack_size:,} attacked records)"
    )
    for i, col in enumerate(header):
        table.add_column(col, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    out.print(table)
    if opts["out_path"] is not None:
        path = Path(str(opts["out_path"]))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result.to_dict(), indent=1) + "\n", encoding="utf-8")
        out.print(f"Results written to {path}")

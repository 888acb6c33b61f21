"""``htlink release``: the release officer's build of extract, tables, audit and report."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from htlink.cli.console import err, handle_errors, out

app = typer.Typer(
    help="Build de-identified releases: k-anonymous extract, protected tables, audit, report.",
    no_args_is_help=True,
)


@app.command("build")
@handle_errors
def build(
    policy: Path = typer.Option(..., "--policy", help="The release policy (YAML)."),
    payloads: list[Path] = typer.Option(
        ..., "--payload", help="A payload file from `htlink payload export`; repeat per agency."
    ),
    release_key: Path = typer.Option(
        ..., "--release-key", help="Your private release key (NAME.key)."
    ),
    out_dir: Path = typer.Option(..., "--out", help="The release folder (must not exist)."),
    links: list[Path] = typer.Option(
        [],
        "--links",
        help="Links files of this project: refuse payload pseudonyms none of them knows.",
        show_default=False,
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Merge payloads, apply the policy, audit, and write the release (all or nothing)."""
    from htlink.release.build import build_release
    from htlink.release.keys import load_release_private_key
    from htlink.release.policy import load_policy

    pol = load_policy(policy)
    passphrase = os.environ.get("HTLINK_RELEASE_PASSPHRASE")
    key = load_release_private_key(release_key, passphrase.encode() if passphrase else None)
    progress = Progress(
        TextColumn("[bold]{task.description}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=quiet or not err.is_terminal,
        transient=True,
    )
    tasks: dict[str, int] = {}

    def on_progress(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(stage, total=total)
        progress.update(tasks[stage], completed=done, total=total)

    with progress:
        result = build_release(
            pol, payloads, key, out_dir, links=links or None, on_progress=on_progress
        )
    out.print(f"[green]Release written[/] to {result.out_dir} in {result.seconds:.1f} s "
              f"({result.people:,} people, policy {pol.name}).")  # fmt: skip
    a = result.anonymity
    if a is not None:
        l_text = f", l {a.l_achieved} (required {a.l_diversity})" if a.l_diversity else ""
        out.print(
            f"Extract: {int((~a.suppressed).sum()):,} records, k {a.k_achieved} (required "
            f"{a.k}){l_text}, {a.n_suppressed:,} suppressed, information loss {a.loss:.3f}"
            f"{'' if a.optimal else ' (heuristic search)'}; independent check passed."
        )
    else:
        out.print("Aggregates only: no extract in this release.")
    s = result.suppression
    if s is not None:
        out.print(
            f"Tables: {len(result.tables)}, {s.primary:,} primary and {s.complementary:,} "
            f"complementary suppressions; audit passed ({s.audit.lp_solved:,} LPs)."
        )
    out.print(f"Report: {result.out_dir / 'report.html'}")

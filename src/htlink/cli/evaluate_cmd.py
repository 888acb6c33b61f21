"""``htlink evaluate``: score links (and scored pairs) against ground truth.

Thin layer over :func:`htlink.evaluate.evaluate_files` and
:func:`htlink.evaluate.write_report`.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from htlink.cli.console import err, handle_errors, out
from htlink.errors import InputDataError

if TYPE_CHECKING:  # pandas and matplotlib: import them only to evaluate
    from htlink.evaluate.evaluation import Evaluation


def print_headline(evaluation: Evaluation) -> None:
    """The headline figures as a table (counts and scores only)."""
    table = Table(title="Linkage evaluation")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("meaning")
    for name, value, meaning in evaluation.headline():
        table.add_row(name, value, meaning)
    out.print(table)


def evaluate(
    links_args: list[Path] | None = typer.Argument(
        None,
        metavar="[LINKS]...",
        help="Links files from the hub (AGENCY.links.csv); same as --links.",
        show_default=False,
    ),
    truth: Path = typer.Option(
        ..., "--truth", help="Ground truth CSV: agency,record_id,person_id."
    ),
    links: list[Path] = typer.Option(
        [],
        "--links",
        help="A links file: row_token (or record_id),pseudonym,confidence[,agency]. "
        "Repeat, or list several after one --links.",
        show_default=False,
    ),
    tokens: list[str] = typer.Option(
        [],
        "--tokens",
        help="AGENCY=PATH to that agency's row-tokens.csv, to resolve row tokens. Repeat.",
        show_default=False,
    ),
    pairs: Path | None = typer.Option(
        None,
        "--pairs",
        help="Scored candidate pairs: agency_a,record_a,agency_b,record_b,similarity "
        "(or row_token_a/row_token_b), for the threshold sweep and blocking measures.",
    ),
    threshold: float | None = typer.Option(
        None, "--threshold", help="The threshold in use or proposed; marked in the sweep."
    ),
    scope: str = typer.Option(
        "auto",
        "--scope",
        help="True pairs the sweep counts: all, cross (across agencies only) or auto.",
    ),
    out_dir: Path = typer.Option(
        ..., "--out", help="Folder for report.html, metrics.json and the PNG charts."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an earlier evaluation in --out."),
) -> None:
    """Score a linkage against ground truth and write an HTML report.

    Pairwise precision, recall and F1 (overall, per agency pair, within
    agencies), whole-person measures, and with --pairs a threshold sweep and
    blocking measures. Only for data with a truth file: synthetic or FEBRL.
    """
    _evaluate(
        links=[*links, *(links_args or [])],
        truth=truth,
        tokens=tokens,
        pairs=pairs,
        threshold=threshold,
        scope=scope,
        out_dir=out_dir,
        force=force,
    )


@handle_errors
def _evaluate(
    *,
    links: list[Path],
    truth: Path,
    tokens: list[str],
    pairs: Path | None,
    threshold: float | None,
    scope: str,
    out_dir: Path,
    force: bool,
) -> None:
    from htlink.evaluate import evaluate_files, parse_token_specs, write_report

    if not links and pairs is None:
        raise InputDataError(
            "Nothing to evaluate: no links files and no --pairs.",
            "Pass the hub's links files (--links A.links.csv B.links.csv) and/or --pairs.",
        )
    with contextlib.ExitStack() as stack:
        if err.is_terminal:
            stack.enter_context(err.status("evaluating", spinner="dots"))
        evaluation = evaluate_files(
            truth,
            links,
            tokens=parse_token_specs(tokens),
            pairs=pairs,
            threshold=threshold,
            scope=scope.lower(),
        )
        paths = write_report(evaluation, out_dir, overwrite=force)
    print_headline(evaluation)
    for note in evaluation.notes:
        out.print(f"[yellow]note:[/] {note}")
    out.print(f"Report:   {paths['report']}")
    out.print(f"Metrics:  {paths['metrics']}")

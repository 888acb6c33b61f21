"""``htlink match``: link submissions locally, writing each agency's links file."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from htlink.cli.console import err, handle_errors, out
from htlink.errors import HtlinkError


def match(
    submissions: list[Path] = typer.Argument(..., help="Submission folders (OUT/submission)."),
    threshold: str = typer.Option(..., "--threshold", help="Dice threshold in (0, 1], or 'auto'."),
    out_dir: Path = typer.Option(
        ..., "--out", help="Folder for <agency>.links.csv and summary.json."
    ),
    project_key: Path | None = typer.Option(
        None,
        "--project-key",
        help="The project's pseudonym key (default: OUT/project.key, made if absent).",
    ),
    deduplicated: list[str] = typer.Option(
        [],
        "--deduplicated",
        help="An agency with at most one record per person.",
        show_default=False,
    ),
    min_average: float | None = typer.Option(
        None,
        "--min-average",
        help="Two clusters merge only if their members' mean Dice reaches this "
        "(default: the threshold; 0 turns average linkage off).",
    ),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        metavar="ADDRESS",
        help="Run the comparisons on the Dask cluster at ADDRESS (tcp://HOST:8786; see "
        "docs/scale-out.md). Default: on this machine.",
        show_default=False,
    ),
    write_pairs: float | None = typer.Option(
        None,
        "--write-pairs",
        help="Also write DIR/pairs.csv: every pair scoring at least this (for `htlink evaluate "
        "--pairs` on synthetic data only; it links rows across agencies).",
    ),
) -> None:
    """Link submissions from two or more agencies into people.

    Writes DIR/<agency>.links.csv (row_token, pseudonym, confidence) for each
    agency -- that agency's rows only -- and DIR/summary.json with aggregates.
    """
    _match(**locals())


@handle_errors
def _match(**opts: object) -> None:
    from htlink.encode.submission import read_submission
    from htlink.match.engine import check_compatible, link_submissions
    from htlink.match.pseudonyms import load_or_create_project_key
    from htlink.match.similarities import as_words
    from htlink.match.threshold import choose_threshold

    subs = [read_submission(p) for p in opts["submissions"]]  # type: ignore[attr-defined]
    check_compatible(subs)
    text = str(opts["threshold"]).strip().lower()
    if text == "auto":
        choice = choose_threshold([as_words(s.clks) for s in subs])
        threshold = choice.threshold
        out.print(f"Threshold: {choice.explanation}", soft_wrap=True)
    else:
        try:
            threshold = float(text)
        except ValueError:
            raise HtlinkError(
                f"--threshold {opts['threshold']!r} is not a number.",
                "Give a Dice threshold such as 0.8, or 'auto'.",
            ) from None
    out_dir: Path = opts["out_dir"]  # type: ignore[assignment]
    out_dir.mkdir(parents=True, exist_ok=True)
    key_path = opts["project_key"] or out_dir / "project.key"
    key, created = load_or_create_project_key(key_path)  # type: ignore[arg-type]
    if created:
        err.print(
            f"Made a new project key in {key_path}: keep it to get the same pseudonyms when "
            "you re-run this project."
        )
    result = link_submissions(
        subs,
        threshold,
        key,
        set(opts["deduplicated"]),  # type: ignore[arg-type]
        min_average=opts["min_average"],  # type: ignore[arg-type]
        scheduler=opts["scheduler"],
    )
    for agency, frame in result.links.items():
        frame.to_csv(out_dir / f"{agency}.links.csv", index=False)
    (out_dir / "summary.json").write_text(json.dumps(result.summary, indent=2) + "\n")
    s = result.summary
    out.print(
        f"[green]Linked[/] {sum(s['agencies'].values()):,} records from {len(s['agencies'])} "
        f"agencies into {s['people']:,} people at threshold {threshold:.2f}."
    )
    for pair, counts in s["pairs"].items():
        out.print(
            f"  {pair}: {counts['candidates']:,} candidate pairs, "
            f"{counts.get('accepted_links', 0):,} links kept"
        )
    out.print(f"Links for each agency: {out_dir}/<agency>.links.csv")
    if opts["write_pairs"] is not None:
        from htlink.match.engine import scored_pairs

        minimum = float(opts["write_pairs"])  # type: ignore[arg-type]
        if not 0.0 < minimum <= 1.0:
            raise HtlinkError(f"--write-pairs {minimum} must be in (0, 1].")
        pairs = scored_pairs(subs, minimum)
        pairs.to_csv(out_dir / "pairs.csv", index=False)
        err.print(
            f"[yellow]Wrote {len(pairs):,} scored pairs to {out_dir / 'pairs.csv'}[/]: row-level "
            "links across agencies, for evaluation on synthetic data only. Never share it."
        )

"""``htlink match``: link submissions locally, writing each agency's links file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
    blocking: str = typer.Option(
        "auto",
        "--blocking",
        metavar="auto|lsh|none",
        help="Which pairs are compared: none = every pair (exact); lsh = pairs sharing an LSH "
        "band of the encodings' bits (pair completeness about 0.99); auto = every pair up to "
        "50 million per agency pair, LSH above that where it is expected to be faster.",
    ),
    write_pairs: float | None = typer.Option(
        None,
        "--write-pairs",
        help="Also write DIR/pairs.csv: every pair scoring at least this (for `htlink evaluate "
        "--pairs` on synthetic data only; it links rows across agencies).",
    ),
    method: str = typer.Option(
        "dice",
        "--method",
        help="dice: CLK Dice above --threshold. probabilistic: Fellegi-Sunter match "
        "probabilities estimated by EM on field-level encodings (`htlink encode --field-level`); "
        "--threshold is then the match probability (auto = 0.5) and --min-average the mean CLK "
        "Dice clusters need (default 0.6, the candidate floor). See docs/matching.md.",
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
    method = _check_method(str(opts["method"]), subs, opts["scheduler"], opts.get("blocking"))
    blocking = _check_blocking(str(opts["blocking"]))
    if text == "auto" and method == "probabilistic":
        threshold = 0.5
        out.print("Threshold: match probability 0.5 (a match is then more likely than not).")
    elif text == "auto":
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
    if method == "probabilistic":
        from htlink.match.probabilistic import link_probabilistic

        result = link_probabilistic(
            subs,
            key,
            threshold,
            deduplicated=set(opts["deduplicated"]),  # type: ignore[arg-type]
            min_average=opts["min_average"],  # type: ignore[arg-type]
        )
    else:
        result = link_submissions(
            subs,
            threshold,
            key,
            set(opts["deduplicated"]),  # type: ignore[arg-type]
            min_average=opts["min_average"],  # type: ignore[arg-type]
            scheduler=opts["scheduler"],
            blocking=blocking,
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
        how = ""
        if "blocking" in counts:
            how = f"{counts['compared']:,} compared ({counts['blocking']}), "
        out.print(
            f"  {pair}: {how}{counts['candidates']:,} candidate pairs, "
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


def _check_method(method: str, subs: list[Any], scheduler: object, blocking: object) -> str:
    """``--method``, checked before anything is written (probabilistic needs field encodings)."""
    method = method.strip().lower()
    if method not in ("dice", "probabilistic"):
        raise HtlinkError(f"--method {method!r} is not known.", "Use dice or probabilistic.")
    if method == "probabilistic":
        from htlink.match.probabilistic import field_features

        field_features(subs)
        if scheduler is not None:
            raise HtlinkError(
                "--scheduler is not available with --method probabilistic yet.",
                "Leave out --scheduler: probabilistic matching runs on this machine.",
            )
        if str(blocking).strip().lower() == "lsh":
            raise HtlinkError(
                "--blocking lsh is not available with --method probabilistic yet.",
                "Leave out --blocking: probabilistic mode compares every pair's CLKs for its "
                "candidates (docs/matching.md, section 8).",
            )
    return method


def _check_blocking(blocking: str) -> str:
    """``--blocking``, checked before anything is written."""
    from htlink.match.engine import BLOCKING_MODES

    blocking = blocking.strip().lower()
    if blocking not in BLOCKING_MODES:
        raise HtlinkError(
            f"--blocking {blocking!r} is not known.", f"Use one of: {', '.join(BLOCKING_MODES)}."
        )
    return blocking

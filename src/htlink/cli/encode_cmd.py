"""``htlink encode``: an agency's extract in, a signed submission folder out."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from htlink.cli.console import err, handle_errors, out
from htlink.errors import InputDataError

if TYPE_CHECKING:  # the encoder pulls in pandas and pyarrow: import them only to encode
    from htlink.encode.pipeline import EncodeResult


def print_report(result: EncodeResult) -> None:
    report = result.report
    table = Table(title="Data quality (counts only; no record values)")
    for col, justify in (
        ("feature", "left"),
        ("column", "left"),
        ("complete", "right"),
        ("missing", "right"),
        ("invalid", "right"),
        ("distinct", "right"),
        ("top share", "right"),
        ("bits", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for f in report.features:
        table.add_row(
            f["feature"],
            str(f["column"] or "(absent)"),
            f"{f['completeness']:.1%}",
            str(f["missing_in_input"]),
            str(f["invalid_made_missing"]),
            str(f["distinct_values"]),
            f"{f['top_value_share']:.1%}",
            str(f["mean_bits_set"]),
        )
    out.print(table)
    pc = report.popcount_summary()
    out.print(
        f"Bits set per encoding: mean {pc['mean']}, 5-95% {pc['p05']}-{pc['p95']} of "
        f"{report.bit_length}."
    )


def encode(
    schema: Path = typer.Option(..., "--schema", help="The shared linkage schema (JSON)."),
    secret: Path = typer.Option(..., "--secret", help="The linkage secret file (mode 0600)."),
    input_path: Path = typer.Option(..., "--input", help="Your extract: CSV or Parquet."),
    agency: str = typer.Option(
        ..., "--agency", help="Your agency's short name, e.g. county-hospital."
    ),
    out_dir: Path = typer.Option(
        ..., "--out", help="Output folder (must not exist, unless --force)."
    ),
    maps: list[str] = typer.Option(
        [], "--map", help="FEATURE=COLUMN; repeat for each feature.", show_default=False
    ),
    map_file: Path | None = typer.Option(None, "--map-file", help="YAML mapping file."),
    id_column: str | None = typer.Option(
        None, "--id-column", help="Your record id column (goes into the private row-token map)."
    ),
    consent_column: str | None = typer.Option(
        None, "--consent-column", help="Keep only rows whose value here is yes/true/1."
    ),
    absent: list[str] = typer.Option(
        [], "--absent", help="A schema feature your agency does not hold.", show_default=False
    ),
    date_order: str | None = typer.Option(
        None, "--date-order", help="How to read dates like 03/04/1990: MDY (US) or DMY."
    ),
    signing_key: Path | None = typer.Option(
        None, "--signing-key", help="Your agency's private signing key (htlink keys agency-new)."
    ),
    output_format: list[str] = typer.Option(
        [], "--format", help="Also write 'clkhash-json' for anonlink tools.", show_default=False
    ),
    field_level: bool = typer.Option(
        False,
        "--field-level",
        help="Also write one Bloom filter per feature, for `htlink match --method "
        "probabilistic`. Only if the project asks for it: per-feature filters are much easier "
        "to attack (frequency and dictionary alignment) than the combined CLK, and they show "
        "which CLK bits each feature set. See docs/threat-model.md.",
    ),
    report: bool = typer.Option(False, "--report", help="Write and print the data-quality report."),
    encoding: str = typer.Option("utf-8", "--encoding", help="Text encoding of a CSV input."),
    delimiter: str | None = typer.Option(None, "--delimiter", help="CSV delimiter (default ',')."),
    workers: int = typer.Option(1, "--workers", min=1, help="Processes to use (all cores: nproc)."),
    chunk_size: int = typer.Option(20_000, "--chunk-size", min=100, help="Records per chunk."),
    force: bool = typer.Option(False, "--force", help="Replace an existing --out folder."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Encode your records into a submission for the linkage hub.

    Names, dates of birth and addresses never leave this machine: the submission
    holds only Bloom-filter encodings and random row tokens.
    """
    _encode(**locals())


@handle_errors
def _encode(**opts: object) -> None:
    from htlink.cli.schema_cmd import print_security_warnings
    from htlink.encode.mapping import ColumnMapping, load_mapping_file, parse_map_options
    from htlink.encode.pipeline import EncodeRequest, encode_file
    from htlink.encode.reader import InputSpec
    from htlink.schema import load_schema_file

    formats = set(opts["output_format"])  # type: ignore[arg-type]
    unknown = formats - {"clkhash-json"}
    if unknown:
        raise InputDataError(
            f"--format {', '.join(sorted(unknown))} is not known.",
            "The only extra format is clkhash-json.",
        )
    schema = load_schema_file(opts["schema"])  # type: ignore[arg-type]
    for warning in schema.warnings:
        err.print(f"[yellow]schema warning:[/] {warning}")
    print_security_warnings(schema)
    if schema.hardening.blip_f:
        err.print(
            "[yellow]BLIP is on[/]: encodings are randomized and not reproducible; "
            "encoding the same file twice gives different bits."
        )
    file_mapping = load_mapping_file(opts["map_file"]) if opts["map_file"] else ColumnMapping()  # type: ignore[arg-type]
    cli_mapping = ColumnMapping(
        columns=parse_map_options(opts["maps"]),  # type: ignore[arg-type]
        absent=set(opts["absent"]),  # type: ignore[arg-type]
        id_column=opts["id_column"],  # type: ignore[arg-type]
        consent_column=opts["consent_column"],  # type: ignore[arg-type]
        date_order=(opts["date_order"] or "").upper() or None,  # type: ignore[attr-defined]
    )
    mapping = file_mapping.merged(cli_mapping)
    input_path: Path = opts["input_path"]  # type: ignore[assignment]
    spec = InputSpec(
        path=input_path,
        encoding=opts["encoding"],  # type: ignore[arg-type]
        delimiter=opts["delimiter"],  # type: ignore[arg-type]
    )
    size = input_path.stat().st_size if input_path.exists() else 0
    show = not opts["quiet"] and err.is_terminal
    progress = Progress(
        TextColumn("[bold]encoding[/]"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[records]:,} records"),
        TimeRemainingColumn(),
        console=err,
        disable=not show,
        transient=True,
    )
    task = progress.add_task("encode", total=size or None, records=0)

    def on_progress(bytes_read: int, records: int) -> None:
        progress.update(task, completed=min(bytes_read, size), records=records)

    passphrase = os.environ.get("HTLINK_SIGNING_PASSPHRASE")
    request = EncodeRequest(
        schema=schema,
        secret_path=opts["secret"],  # type: ignore[arg-type]
        input=spec,
        mapping=mapping,
        agency=opts["agency"],  # type: ignore[arg-type]
        out_dir=opts["out_dir"],  # type: ignore[arg-type]
        signing_key=opts["signing_key"],  # type: ignore[arg-type]
        signing_passphrase=passphrase.encode() if passphrase else None,
        clkhash_json="clkhash-json" in formats,
        field_level=bool(opts["field_level"]),
        report=bool(opts["report"]),
        overwrite=bool(opts["force"]),
        chunk_size=opts["chunk_size"],  # type: ignore[arg-type]
        workers=opts["workers"],  # type: ignore[arg-type]
        on_progress=on_progress,
    )
    with progress:
        result = encode_file(request)
    out.print(
        f"[green]Encoded[/] {result.records:,} records for {request.agency}"
        + (
            f"; {result.consent_excluded:,} kept out for lack of consent."
            if mapping.consent_column
            else "."
        )
    )
    if opts["report"]:
        print_report(result)
    for warning in result.report.warnings:
        out.print(f"[yellow]warning:[/] {warning}")
    if "field_encodings" in result.manifest:
        out.print(
            "[yellow]Field-level encodings included[/] (--field-level): one Bloom filter per "
            "feature, easier to attack than the CLK. Send them only to a hub your project "
            "agreed on for probabilistic matching."
        )
    if "signature" not in result.manifest:
        out.print(
            "[yellow]The submission is not signed[/]: the hub will refuse it. Pass "
            "--signing-key (make one with `htlink keys agency-new`)."
        )
    out.print(f"Send to the hub:  {result.out_dir / 'submission'}")
    out.print(f"Keep private:     {result.paths['row_tokens']}")
    if "report_html" in result.paths:
        out.print(f"Quality report:   {result.paths['report_html']}")

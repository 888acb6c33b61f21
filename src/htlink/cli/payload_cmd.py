"""``htlink payload``: an agency's attribute columns keyed by pseudonym, for the release officer."""

from __future__ import annotations

from pathlib import Path

import typer

from htlink.cli.console import err, handle_errors, out

app = typer.Typer(
    help="Export attribute columns keyed by pseudonym, encrypted to the release officer.",
    no_args_is_help=True,
)


@app.command("export")
@handle_errors
def export(
    links: Path = typer.Option(..., "--links", help="Your <agency>.links.csv from the hub."),
    tokens: Path = typer.Option(
        ..., "--tokens", help="Your private/row-tokens.csv from `htlink encode`."
    ),
    input_path: Path = typer.Option(..., "--input", help="The extract you encoded (CSV/Parquet)."),
    columns: str = typer.Option(..., "--columns", help="Columns to export, comma-separated."),
    release_key: Path = typer.Option(
        ..., "--release-key", help="The release officer's public key (NAME.pub)."
    ),
    out_path: Path = typer.Option(..., "--out", help="The payload file to write."),
    coarsen: list[str] = typer.Option(
        [],
        "--coarsen",
        help="COLUMN=FORM for an identifier: year, quarter, month, zip3 or age@DATECOLUMN.",
        show_default=False,
    ),
    id_column: str | None = typer.Option(
        None, "--id-column", help="The record id column you encoded with (default: row numbers)."
    ),
    agency: str | None = typer.Option(
        None, "--agency", help="Your agency name (default: from the links file name)."
    ),
    date_order: str | None = typer.Option(
        None, "--date-order", help="How to read dates like 03/04/1990: MDY or DMY."
    ),
    map_file: Path | None = typer.Option(
        None, "--map-file", help="Your encode mapping file (for its id_column and date_order)."
    ),
    policy: Path | None = typer.Option(
        None, "--policy", help="The release policy (adds its identifier patterns)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing --out file."),
) -> None:
    """Write your chosen columns keyed by pseudonym, encrypted to the release officer.

    Names, dates of birth, addresses, ZIP codes, phone numbers and record numbers
    are refused unless coarsened (--coarsen DOB=year, ZIP=zip3, ...).
    """
    from htlink.release.export import ExportRequest, export_payload, parse_coarsen
    from htlink.release.policy import IDENTIFIER_PATTERNS, load_policy

    patterns = list(IDENTIFIER_PATTERNS)
    if policy is not None:
        patterns = load_policy(policy).identifier_patterns
    if map_file is not None:
        from htlink.encode.mapping import load_mapping_file

        mapping = load_mapping_file(map_file)
        id_column = id_column or mapping.id_column
        date_order = date_order or mapping.date_order
    request = ExportRequest(
        links=links,
        tokens=tokens,
        input=input_path,
        columns=[c.strip() for c in columns.split(",") if c.strip()],
        release_key=release_key,
        out=out_path,
        coarsen=parse_coarsen(coarsen),
        agency=agency,
        id_column=id_column,
        date_order=(date_order or "").upper() or None,
        identifier_patterns=patterns,
        overwrite=force,
    )
    with err.status("encrypting the payload", spinner="dots"):
        result = export_payload(request)
    out.print(
        f"[green]Wrote[/] {result.out}: {result.rows:,} records of {result.people:,} people "
        f"from {result.agency}, columns {', '.join(result.columns)}."
    )
    if result.records_unlinked:
        out.print(f"{result.records_unlinked:,} records have no link and were not exported.")
    out.print(f"Encrypted to release key {result.recipient_key_id[:23]}…; send it to the officer.")

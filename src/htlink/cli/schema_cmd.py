"""``htlink schema``: check and describe a linkage schema."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from htlink.cli.console import err, handle_errors, out
from htlink.schema import LinkageSchema, load_schema_file
from htlink.schema.describe import describe_schema

app = typer.Typer(help="Check and describe linkage schemas.", no_args_is_help=True)


@app.command("check")
@handle_errors
def check(schema_file: Path = typer.Argument(..., help="The linkage schema (JSON).")) -> None:
    """Validate a schema; print its fingerprint, or every problem with where it is."""
    schema = load_schema_file(schema_file)
    for warning in schema.warnings:
        out.print(f"[yellow]warning:[/] {warning}")
    print_security_warnings(schema)
    kind = "htlink (with normalization rules)" if schema.has_extension else "pure clkhash v3"
    out.print(f"[green]OK[/]: {schema_file} is a valid {kind} linkage schema.")
    out.print(f"hardening: {schema.hardening.describe()}")
    out.print(f"fingerprint: {schema.fingerprint}")


def print_security_warnings(schema: LinkageSchema) -> None:
    """Print the schema's security warnings loudly, on standard error."""
    for warning in schema.security_warnings:
        err.print(f"[bold red]SECURITY WARNING:[/] {warning}")


@app.command("describe")
@handle_errors
def describe(schema_file: Path = typer.Argument(..., help="The linkage schema (JSON).")) -> None:
    """Show how each feature is normalized, tokenized and hashed."""
    schema = load_schema_file(schema_file)
    info = describe_schema(schema)
    out.print(f"[bold]{schema_file}[/]  fingerprint {schema.fingerprint}")
    out.print(info["summary"])
    out.print(f"hardening: {schema.hardening.describe()}")
    table = Table(show_lines=False)
    for col in ("feature", "format", "normalize", "tokens", "bits", "hash", "missing"):
        table.add_column(col)
    for row in info["features"]:
        table.add_row(
            *[
                row[c]
                for c in ("feature", "format", "normalize", "tokens", "bits", "hash", "missing")
            ]
        )
    out.print(table)
    for warning in schema.warnings:
        out.print(f"[yellow]warning:[/] {warning}")
    print_security_warnings(schema)

"""``htlink submit`` and ``htlink links fetch``: an agency's side of the hub."""

from __future__ import annotations

from pathlib import Path

import typer

from htlink.cli.console import err, handle_errors, out
from htlink.cli.hub_cmd import HUB_URL, PROJECT, TOKEN, TOKEN_FILE, _client

links_app = typer.Typer(help="Fetch your agency's links from the hub.", no_args_is_help=True)


@handle_errors
def submit(
    submission: Path = typer.Argument(..., help="The submission folder (OUT/submission)."),
    hub: str = HUB_URL,
    project: str = PROJECT,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    replace: bool = typer.Option(
        False, "--replace", help="Replace your agency's earlier submission (recorded)."
    ),
) -> None:
    """Upload a submission to the hub with your agency's upload token.

    The hub checks the signature, content hash, schema and counts before it keeps
    anything, and says exactly what is wrong if it refuses.
    """
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from htlink.encode.submission import ENCODINGS_FILE, read_manifest

    manifest = read_manifest(submission)
    size = (
        (submission / ENCODINGS_FILE).stat().st_size
        if (submission / ENCODINGS_FILE).is_file()
        else 0
    )
    with (
        _client(hub, token, token_file) as client,
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=err,
            transient=True,
        ) as bar,
    ):
        task = bar.add_task("uploading", total=size or None)
        accepted = client.upload(
            project,
            submission,
            replace=replace,
            on_bytes=lambda n: bar.advance(task, n),
        )
    verb = "replaced the earlier submission with" if accepted["replaced"] else "accepted"
    out.print(
        f"[green]The hub {verb}[/] {accepted['record_count']:,} records from "
        f"{manifest['agency']} (submission {accepted['submission_id']})."
    )


@links_app.command("fetch")
@handle_errors
def fetch(
    hub: str = HUB_URL,
    project: str = PROJECT,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    out_file: Path = typer.Option(..., "--out", help="Where to write the links CSV."),
    run: str | None = typer.Option(None, "--run", help="A run id (default: the newest)."),
) -> None:
    """Download your agency's links: row_token, pseudonym -- your rows only."""
    with _client(hub, token, token_file) as client:
        meta = client.fetch_links(project, out_file, run)
    out.print(
        f"[green]Wrote[/] {int(meta['rows'] or 0):,} links from run {meta['run']} to {out_file}."
    )
    out.print("Join them to your records with private/row-tokens.csv (row_token).")

"""``htlink hub``: run the linkage hub and administer it (the hub operator's commands)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from htlink.cli.console import err, handle_errors, out
from htlink.crypto.files import create_new_file
from htlink.errors import HtlinkError

app = typer.Typer(help="Run and administer the linkage hub (hub operator).", no_args_is_help=True)
project_app = typer.Typer(help="Create and inspect projects.", no_args_is_help=True)
token_app = typer.Typer(help="Issue, list and revoke agency tokens.", no_args_is_help=True)
run_app = typer.Typer(help="Start, follow and cancel linkage runs.", no_args_is_help=True)
audit_app = typer.Typer(help="Check the hub's audit log.", no_args_is_help=True)
app.add_typer(project_app, name="project")
app.add_typer(token_app, name="token")
app.add_typer(run_app, name="run")
app.add_typer(audit_app, name="audit")

DATA_DIR = typer.Option(..., "--data-dir", help="The hub's data directory.")
DATABASE_URL = typer.Option(
    None,
    "--database-url",
    envvar="HTLINK_HUB_DATABASE_URL",
    help="postgresql://USER@HOST:PORT/DB (default: SQLite in the data directory).",
    show_default=False,
)
HUB_URL = typer.Option(..., "--hub", envvar="HTLINK_HUB_URL", help="The hub's URL.")
TOKEN = typer.Option(
    None, "--token", envvar="HTLINK_HUB_TOKEN", help="Your hub token.", show_default=False
)
TOKEN_FILE = typer.Option(
    None,
    "--token-file",
    help="A file holding your hub token (safer than --token).",
    show_default=False,
)
PROJECT = typer.Option(..., "--project", help="The project's name.")


def resolve_token(token: str | None, token_file: Path | None) -> str:
    """The token from --token / HTLINK_HUB_TOKEN or --token-file."""
    if token_file is not None:
        if not token_file.is_file():
            raise HtlinkError(f"The token file {token_file} does not exist.")
        return token_file.read_text(encoding="utf-8").strip()
    if token:
        return token.strip()
    raise HtlinkError(
        "No hub token given.",
        "Pass --token-file FILE (or --token, or set HTLINK_HUB_TOKEN).",
    )


def write_secret_file(path: Path, text: str) -> None:
    """Write ``text`` to a new file readable by its owner only; never overwrite."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        create_new_file(path, (text + "\n").encode("utf-8"))
    except FileExistsError:
        raise HtlinkError(
            f"{path} already exists; htlink will not overwrite a token file.",
            "Choose another path or move the old file away.",
        ) from None


def _client(hub: str, token: str | None, token_file: Path | None) -> Any:
    from htlink.hub.client import HubClient

    return HubClient(hub, resolve_token(token, token_file))


def _settings(data_dir: Path, database_url: str | None, **options: Any) -> Any:
    from htlink.hub.settings import HubSettings

    return HubSettings.create(data_dir, database_url, **options)


def _admin_token(hub: Any, label: str) -> str:
    from htlink.hub import audit, tokens

    with hub.db.session() as s:
        text, row = tokens.issue(s, "admin", label=label)
        audit.append(
            s,
            actor="operator:local",
            action="token.create",
            target=f"token:{row.id}",
            outcome="ok",
            detail={"role": "admin"},
        )
    return text


def _deliver_token(text: str, token_file: Path | None, what: str) -> None:
    if token_file is not None:
        write_secret_file(token_file, text)
        out.print(f"[green]Wrote[/] the {what} to {token_file} (readable by you only).")
    else:
        out.print(f"The {what} (shown once; the hub keeps only its hash):")
        out.print(text, soft_wrap=True)


@app.command("init")
@handle_errors
def init(
    data_dir: Path = DATA_DIR,
    database_url: str | None = DATABASE_URL,
    token_file: Path | None = typer.Option(
        None, "--token-file", help="Write the admin token to this new file (mode 0600)."
    ),
) -> None:
    """Create the hub's data directory and database, and its first admin token."""
    from sqlalchemy import select

    from htlink.hub.app import open_hub
    from htlink.hub.database import redacted
    from htlink.hub.models import Token

    hub = open_hub(_settings(data_dir, database_url))
    try:
        with hub.db.session() as s:
            if s.scalar(select(Token).where(Token.role == "admin")) is not None:
                raise HtlinkError(
                    f"The hub at {redacted(hub.settings.database_url)} is already initialised.",
                    "To make another admin token use `htlink hub admin-token`.",
                )
        text = _admin_token(hub, "first admin token (hub init)")
    finally:
        hub.db.dispose()
    out.print(
        f"[green]Initialised[/] the hub in {hub.settings.data_dir} "
        f"(database {redacted(hub.settings.database_url)})."
    )
    _deliver_token(text, token_file, "admin token")


@app.command("admin-token")
@handle_errors
def admin_token(
    data_dir: Path = DATA_DIR,
    database_url: str | None = DATABASE_URL,
    token_file: Path | None = typer.Option(None, "--token-file", help="Write it to this new file."),
    revoke: str | None = typer.Option(
        None, "--revoke", metavar="TOKEN_ID", help="Revoke this admin token instead."
    ),
) -> None:
    """Make another admin token (or revoke one) directly in the hub's database."""
    from htlink.hub import audit, tokens
    from htlink.hub.app import open_hub

    hub = open_hub(_settings(data_dir, database_url))
    try:
        if revoke:
            with hub.db.session() as s:
                if tokens.revoke(s, revoke) is None:
                    raise HtlinkError(f"There is no token {revoke}.")
                audit.append(
                    s,
                    actor="operator:local",
                    action="token.revoke",
                    target=f"token:{revoke}",
                    outcome="ok",
                )
            out.print(f"Revoked token {revoke}.")
            return
        text = _admin_token(hub, "admin token (hub admin-token)")
    finally:
        hub.db.dispose()
    _deliver_token(text, token_file, "admin token")


@app.command("serve")
@handle_errors
def serve(
    data_dir: Path = DATA_DIR,
    database_url: str | None = DATABASE_URL,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8750, "--port", help="Port to listen on."),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        metavar="ADDRESS",
        help="Run the comparisons of runs on this Dask cluster (tcp://HOST:8786).",
    ),
    max_upload_gib: float = typer.Option(8.0, "--max-upload-gib", help="Largest upload accepted."),
    max_records: int = typer.Option(
        50_000_000, "--max-records", help="Most records accepted in one submission."
    ),
    run_workers: int = typer.Option(1, "--run-workers", help="Runs executed at the same time."),
    ssl_certfile: Path | None = typer.Option(None, "--ssl-certfile", help="TLS certificate (PEM)."),
    ssl_keyfile: Path | None = typer.Option(None, "--ssl-keyfile", help="TLS private key (PEM)."),
) -> None:
    """Serve the hub's HTTP API and dashboard until stopped (Ctrl-C)."""
    import uvicorn
    from sqlalchemy import select

    from htlink.hub.app import create_app, open_hub
    from htlink.hub.database import redacted
    from htlink.hub.models import Token

    settings = _settings(
        data_dir,
        database_url,
        scheduler=scheduler,
        max_upload_bytes=int(max_upload_gib * (1 << 30)),
        max_records=max_records,
        run_workers=run_workers,
    )
    hub = open_hub(settings)
    try:
        with hub.db.session() as s:
            if s.scalar(select(Token).where(Token.role == "admin")) is None:
                raise HtlinkError(
                    "The hub has not been initialised.",
                    f"Run `htlink hub init --data-dir {data_dir}` first.",
                )
    finally:
        hub.db.dispose()
    scheme = "https" if ssl_certfile else "http"
    err.print(
        f"htlink hub: data {settings.data_dir}, database {redacted(settings.database_url)}, "
        f"listening on {scheme}://{host}:{port} (dashboard: /dashboard)"
    )
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="info",
        ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
        ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
        timeout_graceful_shutdown=10,
    )


@app.command("openapi")
@handle_errors
def openapi(
    out_file: Path | None = typer.Option(None, "--out", help="Write here (default: print)."),
) -> None:
    """Print the hub API's OpenAPI schema (no hub needed)."""
    from htlink.hub.app import create_app
    from htlink.hub.settings import HubSettings

    schema = create_app(HubSettings.create("/nonexistent-htlink-hub")).openapi()
    text = json.dumps(schema, indent=2) + "\n"
    if out_file:
        out_file.write_text(text, encoding="utf-8")
        out.print(f"Wrote {out_file}")
    else:
        typer.echo(text, nl=False)


# -- projects ----------------------------------------------------------------------------
@project_app.command("create")
@handle_errors
def project_create(
    hub: str = HUB_URL,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    name: str = typer.Option(..., "--name", help="The project's name."),
    schema: Path = typer.Option(..., "--schema", help="The linkage schema every agency uses."),
    agency: list[str] = typer.Option(
        ..., "--agency", help="NAME=PUBLIC_KEY_FILE, once per agency.", show_default=False
    ),
    deduplicated: list[str] = typer.Option(
        [],
        "--deduplicated",
        help="An agency with at most one record per person.",
        show_default=False,
    ),
    threshold: str = typer.Option("auto", "--threshold", help="Dice threshold, or 'auto'."),
    min_average: float | None = typer.Option(None, "--min-average", help="Average-linkage floor."),
    blocking: str = typer.Option("auto", "--blocking", help="auto, lsh or none."),
    token_expiry_days: float | None = typer.Option(
        None, "--token-expiry-days", help="Agency tokens expire after this many days."
    ),
    tokens_out: Path = typer.Option(
        ..., "--tokens-out", help="Folder for the agencies' tokens (one 0600 file each)."
    ),
) -> None:
    """Create a project and write each agency's upload and results tokens to files."""
    from htlink.schema import load_schema_file

    parsed = load_schema_file(schema)
    agencies = []
    for spec in agency:
        agency_name, sep, key_path = spec.partition("=")
        if not sep or not agency_name or not key_path:
            raise HtlinkError(f"--agency {spec!r} is not NAME=PUBLIC_KEY_FILE.")
        key_file = Path(key_path)
        if not key_file.is_file():
            raise HtlinkError(f"The public key file {key_file} does not exist.")
        agencies.append(
            {
                "name": agency_name,
                "public_key_pem": key_file.read_text(encoding="ascii", errors="replace"),
                "deduplicated": agency_name in deduplicated,
            }
        )
    unknown = sorted(set(deduplicated) - {a["name"] for a in agencies})
    if unknown:
        raise HtlinkError(f"--deduplicated names agencies not given with --agency: {unknown}.")
    text = threshold.strip().lower()
    if text != "auto":
        try:
            thr: float | str = float(text)
        except ValueError:
            raise HtlinkError(f"--threshold {threshold!r} is not a number or 'auto'.") from None
    else:
        thr = "auto"
    body = {
        "name": name,
        "linkage_schema": parsed.raw,
        "agencies": agencies,
        "matching": {"threshold": thr, "min_average": min_average, "blocking": blocking},
        "token_expiry_days": token_expiry_days,
    }
    with _client(hub, token, token_file) as client:
        created = client.create_project(body)
    tokens_out.mkdir(parents=True, exist_ok=True)
    for agency_name, pair in created["tokens"].items():
        for role in ("upload", "results"):
            write_secret_file(tokens_out / f"{agency_name}.{role}.token", pair[role])
    out.print(
        f"[green]Created[/] project {created['project']} (schema "
        f"{created['schema_fingerprint'][:23]}…, {created['bit_length']} bits)."
    )
    out.print(
        f"Tokens for each agency are in {tokens_out}/<agency>.upload.token and "
        "<agency>.results.token: hand each agency its own two files over a secure channel."
    )


@project_app.command("list")
@handle_errors
def project_list(
    hub: str = HUB_URL, token: str | None = TOKEN, token_file: Path | None = TOKEN_FILE
) -> None:
    """List the hub's projects."""
    with _client(hub, token, token_file) as client:
        for p in client.projects():
            agencies = ", ".join(a["name"] for a in p["agencies"])
            out.print(f"{p['name']}: {agencies} (threshold {p['matching']['threshold']})")


@project_app.command("status")
@handle_errors
def project_status(
    hub: str = HUB_URL,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    project: str = PROJECT,
) -> None:
    """Which agencies have submitted (an agency's token sees only its own)."""
    with _client(hub, token, token_file) as client:
        status = client.status(project)
    for s in status["submissions"]:
        if s["submitted"]:
            out.print(
                f"{s['agency']}: submitted {s['record_count']:,} records at "
                f"{s['received_at']} (replaced {s['replaced_count']} times)"
            )
        else:
            out.print(f"{s['agency']}: [yellow]waiting[/]")


# -- tokens ------------------------------------------------------------------------------
@token_app.command("issue")
@handle_errors
def token_issue(
    hub: str = HUB_URL,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    project: str = PROJECT,
    agency: str = typer.Option(..., "--agency"),
    role: str = typer.Option(..., "--role", help="upload or results"),
    expires_in_days: float | None = typer.Option(None, "--expires-in-days"),
    out_file: Path = typer.Option(..., "--out", help="Write the new token to this new file."),
) -> None:
    """Issue another upload or results token for an agency."""
    with _client(hub, token, token_file) as client:
        created = client.issue_token(
            project,
            {
                "role": role,
                "agency": agency,
                "expires_in_days": expires_in_days,
            },
        )
    write_secret_file(out_file, created["token"])
    out.print(
        f"[green]Issued[/] {role} token {created['info']['id']} for {agency}; "
        f"written to {out_file}."
    )


@token_app.command("list")
@handle_errors
def token_list(
    hub: str = HUB_URL,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    project: str = PROJECT,
) -> None:
    """List a project's tokens (ids, roles, expiry, revocation; never the tokens)."""
    with _client(hub, token, token_file) as client:
        for t in client.tokens(project):
            state = "revoked" if t["revoked_at"] else f"expires {t['expires_at'] or 'never'}"
            out.print(f"{t['id']}  {t['role']:<8} {t['agency']:<24} {state}")


@token_app.command("revoke")
@handle_errors
def token_revoke(
    token_id: str = typer.Argument(..., help="The token's id (from `htlink hub token list`)."),
    hub: str = HUB_URL,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
) -> None:
    """Revoke a token at once."""
    with _client(hub, token, token_file) as client:
        client.revoke_token(token_id)
    out.print(f"Revoked token {token_id}.")


# -- runs --------------------------------------------------------------------------------
def _print_run(info: dict[str, Any]) -> None:
    out.print(f"run {info['id']}: {info['status']} ({info['progress'] * 100:.0f}% {info['stage']})")
    if info.get("error"):
        out.print(f"  {info['error']}")
    summary = info.get("summary")
    if summary:
        out.print(f"  {summary['people']:,} people at threshold {summary['threshold']:.2f}")
        for pair, counts in summary["pairs"].items():
            out.print(
                f"  {pair}: {counts['candidates']:,} candidate pairs, "
                f"{counts.get('accepted_links', 0):,} links kept"
            )


@run_app.command("start")
@handle_errors
def run_start(
    hub: str = HUB_URL,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    project: str = PROJECT,
    agencies: str | None = typer.Option(None, "--agencies", help="Comma-separated subset."),
    wait: bool = typer.Option(False, "--wait", help="Follow the run until it ends."),
) -> None:
    """Start a linkage run over the agencies' current submissions."""
    chosen = [a.strip() for a in agencies.split(",")] if agencies else None
    with _client(hub, token, token_file) as client:
        info = client.start_run(project, chosen)
        out.print(f"Started run {info['id']} for {', '.join(info['agencies'])}.")
        if wait:
            info = _follow(client, project, info["id"])
            _print_run(info)
            if info["status"] != "completed":
                raise typer.Exit(1)


def _follow(client: Any, project: str, run_id: str) -> dict[str, Any]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("queued", total=1.0)

        def show(info: dict[str, Any]) -> None:
            bar.update(
                task, completed=info["progress"], description=info["stage"] or info["status"]
            )

        return client.wait_run(project, run_id, show)


@run_app.command("status")
@handle_errors
def run_status(
    hub: str = HUB_URL,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    project: str = PROJECT,
    run_id: str | None = typer.Argument(None, help="A run id (default: the newest run)."),
    wait: bool = typer.Option(False, "--wait", help="Follow the run until it ends."),
) -> None:
    """A run's status and progress, and its aggregate summary when complete."""
    with _client(hub, token, token_file) as client:
        if run_id is None:
            runs = client.runs(project)
            if not runs:
                raise HtlinkError(f"Project {project} has no runs yet.")
            run_id = runs[0]["id"]
        info = _follow(client, project, run_id) if wait else client.run(project, run_id)
    _print_run(info)


@run_app.command("cancel")
@handle_errors
def run_cancel(
    run_id: str = typer.Argument(...),
    hub: str = HUB_URL,
    token: str | None = TOKEN,
    token_file: Path | None = TOKEN_FILE,
    project: str = PROJECT,
) -> None:
    """Cancel a queued or running run."""
    with _client(hub, token, token_file) as client:
        client.cancel_run(project, run_id)
    out.print(f"Asked run {run_id} to stop.")


# -- audit -------------------------------------------------------------------------------
@audit_app.command("verify")
@handle_errors
def audit_verify(
    data_dir: Path = DATA_DIR,
    database_url: str | None = DATABASE_URL,
    expect_head: str | None = typer.Option(
        None, "--expect-head", help="A head hash recorded earlier: it must still be in the log."
    ),
) -> None:
    """Check that no audit entry was edited or deleted; print the head hash to record."""
    from htlink.hub.audit import verify_chain
    from htlink.hub.database import Database

    db = Database(_settings(data_dir, database_url).database_url)
    try:
        with db.session() as s:
            report = verify_chain(s, expect_head)
    finally:
        db.dispose()
    if not report.ok:
        err.print(f"[bold red]The audit log is not intact[/] ({report.entries:,} entries):")
        for problem in report.problems:
            err.print(f"  - {problem}", soft_wrap=True)
        raise typer.Exit(1)
    out.print(
        f"[green]The audit log is intact[/]: {report.entries:,} entries, newest {report.head_seq}."
    )
    out.print(f"head hash: {report.head_hash}")
    out.print("Record the head hash outside the hub; pass it to --expect-head next time.")

"""``htlink keys``: the linkage secret and agency signing keys."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from htlink.cli.console import handle_errors, out
from htlink.crypto.secret import write_new_secret
from htlink.crypto.signing import generate_agency_keypair

app = typer.Typer(help="Make linkage secrets and agency signing keys.", no_args_is_help=True)


@app.command("new")
@handle_errors
def new_secret(
    out_path: Path = typer.Option(..., "--out", help="Where to write the secret (mode 0600)."),
) -> None:
    """Make a 256-bit linkage secret to share among the agencies -- never with the hub."""
    path = write_new_secret(out_path)
    out.print(f"[green]Wrote[/] a new linkage secret to {path} (readable by you only).")
    out.print(
        "Share it with the other agencies over a channel the hub operator cannot read; "
        "every agency must encode with the same secret."
    )


@app.command("agency-new")
@handle_errors
def agency_new(
    out_name: Path = typer.Option(
        ..., "--out", help="Base name: writes NAME.key (private, 0600) and NAME.pub."
    ),
) -> None:
    """Make an Ed25519 signing key pair for this agency's submissions.

    Set HTLINK_SIGNING_PASSPHRASE to protect the private key with a passphrase.
    """
    passphrase = os.environ.get("HTLINK_SIGNING_PASSPHRASE")
    private = out_name.with_name(out_name.name + ".key")
    public = out_name.with_name(out_name.name + ".pub")
    fingerprint = generate_agency_keypair(
        private, public, passphrase.encode() if passphrase else None
    )
    out.print(
        f"[green]Wrote[/] {private} (keep it here) and {public} (give it to the hub operator)."
    )
    out.print(f"public key fingerprint: {fingerprint}")


@app.command("release-new")
@handle_errors
def release_new(
    out_name: Path = typer.Option(
        ..., "--out", help="Base name: writes NAME.key (private, 0600) and NAME.pub."
    ),
) -> None:
    """Make the release officer's X25519 key pair: agencies encrypt payloads to NAME.pub.

    Set HTLINK_RELEASE_PASSPHRASE to protect the private key with a passphrase.
    """
    from htlink.release.keys import generate_release_keypair

    passphrase = os.environ.get("HTLINK_RELEASE_PASSPHRASE")
    private = out_name.with_name(out_name.name + ".key")
    public = out_name.with_name(out_name.name + ".pub")
    kid = generate_release_keypair(private, public, passphrase.encode() if passphrase else None)
    out.print(
        f"[green]Wrote[/] {private} (keep it; only it opens payloads) and {public} "
        "(give it to the agencies)."
    )
    out.print(f"release key id: {kid}")

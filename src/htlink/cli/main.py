"""The ``htlink`` command: one sub-command group per role."""

from __future__ import annotations

import typer

from htlink import __version__
from htlink.cli import (
    attack_cmd,
    encode_cmd,
    evaluate_cmd,
    hub_cmd,
    keys_cmd,
    match_cmd,
    payload_cmd,
    release_cmd,
    schema_cmd,
    submit_cmd,
    synth_cmd,
)

app = typer.Typer(
    name="htlink",
    help="Privacy-preserving record linkage and de-identification.",
    no_args_is_help=True,
    # rich tracebacks with local variables would print record values and secrets
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
app.add_typer(schema_cmd.app, name="schema")
app.add_typer(keys_cmd.app, name="keys")
app.command("encode")(encode_cmd.encode)
app.command("synth")(synth_cmd.synth)
app.command("match")(match_cmd.match)
app.command("evaluate")(evaluate_cmd.evaluate)
app.add_typer(payload_cmd.app, name="payload")
app.add_typer(release_cmd.app, name="release")
app.add_typer(hub_cmd.app, name="hub")
app.add_typer(attack_cmd.app, name="attack")
app.command("submit")(submit_cmd.submit)
app.add_typer(submit_cmd.links_app, name="links")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"htlink {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """Privacy-preserving record linkage and de-identification."""


def run() -> None:
    app()


if __name__ == "__main__":
    run()

"""Shared console output and the one place where errors become exit codes.

Errors are printed as a short message plus a hint, never as a traceback:
tracebacks can carry values from the data.  ``HTLINK_DEBUG=1`` shows the
traceback of an *unexpected* error for developers working on synthetic data.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from htlink.errors import HtlinkError

out = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, highlight=False)

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except HtlinkError as exc:
            err.print(f"[bold red]Error:[/] {exc.message}", soft_wrap=True)
            if exc.hint:
                err.print(f"[yellow]How to fix:[/] {exc.hint}", soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("[red]Interrupted; nothing was written.[/]")
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            if os.environ.get("HTLINK_DEBUG") == "1":
                raise
            err.print(
                f"[bold red]Internal error[/] ({type(exc).__name__}) in htlink. Nothing was "
                "written. The details are withheld because they could contain record values; "
                "re-run with HTLINK_DEBUG=1 on test data to see them, and report the bug.",
                soft_wrap=True,
            )
            raise typer.Exit(70) from None

    return wrapper  # type: ignore[return-value]


def is_interactive() -> bool:
    return sys.stderr.isatty()

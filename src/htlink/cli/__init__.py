"""The command-line interface (Typer); each command is a thin layer over the library."""

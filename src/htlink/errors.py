"""The one error type users see.

Every refusal in htlink is an :class:`HtlinkError`: a short statement of what
is wrong and a hint that says how to fix it.  Messages name columns, features,
row numbers and files -- never the value of a record or a secret -- so they are
safe to paste into a ticket or a log.  The CLI prints them without a traceback.
"""

from __future__ import annotations


class HtlinkError(Exception):
    """A problem the user can fix: what is wrong, and how to fix it."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n{self.hint}"
        return self.message


class SchemaError(HtlinkError):
    """The linkage schema is not valid; ``problems`` lists each offending key."""

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        where = f" ({source})" if source else ""
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"The linkage schema{where} is not valid:\n{lines}",
            "Fix the keys listed above; `htlink schema describe` shows how htlink reads "
            "a valid schema.",
        )
        self.problems = problems


class InputDataError(HtlinkError):
    """The agency's input file cannot be read as described."""


class SecretError(HtlinkError):
    """The linkage secret file is missing, too short or readable by others."""


class SubmissionError(HtlinkError):
    """A submission is incomplete, altered or inconsistent."""

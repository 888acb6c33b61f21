"""Errors the hub returns: an HTTP status, a stable code, a message and a hint.

The JSON body is always ``{"error": {"code", "message", "hint"}}``.  Codes are
stable (clients and tests branch on them); messages name fields, agencies and
limits but never a record value, an encoding or a token.
"""

from __future__ import annotations


class HubError(Exception):
    def __init__(self, status: int, code: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.hint = hint

    def body(self) -> dict[str, dict[str, str | None]]:
        return {"error": {"code": self.code, "message": self.message, "hint": self.hint}}


def not_found(what: str) -> HubError:
    return HubError(404, "not_found", f"No such {what}.")


def forbidden(message: str = "This token may not do that.") -> HubError:
    return HubError(
        403, "forbidden", message, "Use the token the hub operator issued for this task."
    )

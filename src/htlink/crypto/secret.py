"""The linkage secret: made once, shared among the agencies only, never sent to the hub.

The secret file holds text.  Encoding uses that text, UTF-8 encoded, exactly as
clkhash uses its ``secret`` argument (trailing line breaks are dropped, as the
shell does for ``"$(cat secret.key)"``), so an agency running clkhash with the
same file gets the same CLKs.

``htlink keys new`` writes 256 random bits as 64 hex digits, mode 0600.  Loading
refuses a secret file that is missing, empty, readable by other users, or whose
text cannot carry 128 bits (estimated generously from its length and alphabet;
a long passphrase can still be weak, so prefer ``htlink keys new``).

Nothing here ever prints, logs or embeds the secret in an error.
"""

from __future__ import annotations

import math
import os
import secrets
import stat
import string
from pathlib import Path

from htlink.errors import SecretError

SECRET_BITS = 256
MIN_SECRET_BITS = 128
_ALPHABETS = (
    (set(string.digits), 10),
    (set("0123456789abcdef"), 16),
    (set("0123456789ABCDEF"), 16),
    (set(string.ascii_letters + string.digits + "+/=-_"), 64),
    (set(string.printable) - set("\t\n\r\x0b\x0c"), 95),
)


def estimated_bits(text: str) -> float:
    """An upper bound on the entropy of ``text``: length x log2(smallest alphabet it fits).

    Text outside printable ASCII is credited 8 bits per UTF-8 byte.  A secret of one
    repeated character gets 0 bits.
    """
    if not text or len(set(text)) == 1:
        return 0.0
    chars = set(text)
    for alphabet, size in _ALPHABETS:
        if chars <= alphabet:
            return len(text) * math.log2(size)
    return 8.0 * len(text.encode("utf-8"))


def new_secret_text() -> str:
    """256 random bits as 64 lowercase hex digits."""
    return secrets.token_hex(SECRET_BITS // 8)


def write_new_secret(path: str | Path, *, overwrite: bool = False) -> Path:
    """Create a secret file with mode 0600 (never overwriting one unless asked)."""
    p = Path(path)
    if p.exists() and not overwrite:
        raise SecretError(
            f"{p} already exists; htlink will not overwrite a linkage secret.",
            "Choose another path, or delete the old file first if you are sure no agency "
            "still encodes with it (encodings made with different secrets cannot be linked).",
        )
    p.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(p, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (new_secret_text() + "\n").encode("ascii"))
    finally:
        os.close(fd)
    return p


def load_secret(path: str | Path) -> bytes:
    """Read and check a linkage secret file; return the bytes used for key derivation."""
    p = Path(path)
    fix = (
        "Use the secret file your project coordinator gave you, or make one with `htlink keys new`."
    )
    if not p.is_file():
        raise SecretError(f"The secret file {p} does not exist or is not a file.", fix)
    if os.name == "posix":
        mode = p.stat().st_mode
        if mode & (stat.S_IROTH | stat.S_IWOTH):
            raise SecretError(
                f"The secret file {p} can be read or written by every user of this machine "
                f"(mode {stat.S_IMODE(mode):o}).",
                f"Restrict it to its owner: chmod 600 {p}",
            )
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise SecretError(f"The secret file {p} is not UTF-8 text.", fix) from None
    except OSError as exc:
        raise SecretError(f"The secret file {p} cannot be read ({exc.strerror}).", fix) from None
    text = text.rstrip("\r\n")
    if not text:
        raise SecretError(f"The secret file {p} is empty.", fix)
    bits = estimated_bits(text)
    if bits < MIN_SECRET_BITS:
        raise SecretError(
            f"The secret in {p} is too short: it can carry at most {bits:.0f} bits, and "
            f"htlink needs at least {MIN_SECRET_BITS}.",
            "Make a strong one with `htlink keys new --out FILE` and share it with the "
            "other agencies (never with the hub).",
        )
    return text.encode("utf-8")

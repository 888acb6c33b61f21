"""Creating files that hold keys and tokens: new files only, with an exact mode."""

from __future__ import annotations

import os
from pathlib import Path


def create_new_file(path: str | Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to a file that must not exist yet, with permissions exactly ``mode``.

    ``O_EXCL`` refuses an existing file (``FileExistsError``) and ``O_NOFOLLOW`` a
    symbolic link planted at the path; ``fchmod`` sets the mode whatever the umask.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
    finally:
        os.close(fd)

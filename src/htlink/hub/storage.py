"""Files under the hub's data directory, always written atomically.

Layout::

    DATA/hub.sqlite3                                  the default database
    DATA/logs/hub.log                                 the service log (no identifiers)
    DATA/staging/<random>/                            work in progress; emptied at start
    DATA/projects/<project>/project.key               the pseudonym key (mode 0600)
    DATA/projects/<project>/submissions/<agency>/<id>/encodings.parquet, manifest.json
    DATA/projects/<project>/runs/<run>/links/<agency>.parquet

Everything is first written under ``staging/`` (same file system) and renamed
into place in one step, so a crash or refused upload never leaves a partial
file where the hub would read it.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path


class Storage:
    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir)

    def prepare(self) -> None:
        """Create the layout (mode 0700) and clear leftovers of interrupted work."""
        for sub in ("", "staging", "projects", "logs"):
            path = self.root / sub
            path.mkdir(parents=True, exist_ok=True)
            os.chmod(path, 0o700)
        for leftover in (self.root / "staging").iterdir():
            remove(leftover)

    def staging(self) -> Path:
        path = self.root / "staging" / secrets.token_hex(12)
        path.mkdir(mode=0o700)
        return path

    def project_dir(self, project: str) -> Path:
        return self.root / "projects" / project

    def project_key(self, project: str) -> Path:
        return self.project_dir(project) / "project.key"

    def submission_dir(self, project: str, agency: str, submission_id: str) -> Path:
        return self.project_dir(project) / "submissions" / agency / submission_id

    def run_dir(self, project: str, run_id: str) -> Path:
        return self.project_dir(project) / "runs" / run_id

    def links_file(self, project: str, run_id: str, agency: str) -> Path:
        return self.run_dir(project, run_id) / "links" / f"{agency}.parquet"

    def log_file(self) -> Path:
        return self.root / "logs" / "hub.log"


def fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as fh:
                os.fsync(fh.fileno())


def move_into_place(staged: Path, final: Path) -> None:
    """Rename ``staged`` (a folder) to ``final`` in one step after syncing it to disk."""
    fsync_tree(staged)
    final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.rename(staged, final)


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)

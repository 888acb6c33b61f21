"""Project pseudonyms: one per person, random per project, stable across re-runs.

A cluster's pseudonym is HMAC-SHA256, under the project's own random key, of its
canonical member: the smallest (agency, row token) in the cluster.  The same
submissions under the same project key give the same pseudonyms; another
project (another key) gives unrelated ones; and without the key nobody can tell
which row tokens a pseudonym was made from.  The project key is not the
linkage secret: the hub makes and keeps it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

import numpy as np

from htlink.crypto.files import create_new_file
from htlink.errors import HtlinkError

KEY_BYTES = 32


def new_project_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def load_or_create_project_key(path: Path) -> tuple[bytes, bool]:
    """The project key in ``path`` (hex), creating it (mode 0600) if absent."""
    if path.exists():
        try:
            key = bytes.fromhex(path.read_text().strip())
        except ValueError:
            raise HtlinkError(f"{path} is not a project key (64 hex digits).") from None
        if len(key) != KEY_BYTES:
            raise HtlinkError(f"{path} is not a project key (64 hex digits).")
        return key, False
    path.parent.mkdir(parents=True, exist_ok=True)
    key = new_project_key()
    create_new_file(path, (key.hex() + "\n").encode("ascii"))
    return key, True


def cluster_pseudonyms(
    roots: np.ndarray, agency_of: np.ndarray, tokens: list[str], agencies: list[str], key: bytes
) -> np.ndarray:
    """A pseudonym per record: the same for all records of a cluster."""
    labels = np.array([f"{agencies[a]}\x00{t}" for a, t in zip(agency_of, tokens, strict=True)])
    order = np.lexsort((labels, roots))
    sorted_roots = roots[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = sorted_roots[1:] != sorted_roots[:-1]
    canonical = {
        int(r): hmac.new(key, labels[i].encode(), hashlib.sha256).hexdigest()[:32]
        for r, i in zip(sorted_roots[first], order[first], strict=True)
    }
    return np.array([canonical[int(r)] for r in roots], dtype=object)

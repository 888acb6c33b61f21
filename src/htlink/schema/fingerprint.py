"""A canonical fingerprint of a linkage schema.

Two agencies can only link if they encoded with the same schema, so every
submission carries this fingerprint and the hub refuses a mismatch.  The
fingerprint is the SHA-256 of the schema's canonical JSON: keys sorted, no
insignificant whitespace, UTF-8, and with every ``description`` removed, so
reformatting the file or rewording a description does not change it while any
change to what is encoded does.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

PREFIX = "sha256:"


def _without_descriptions(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_descriptions(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [_without_descriptions(v) for v in node]
    return node


def canonical_json(raw: dict[str, Any]) -> bytes:
    """The bytes that are hashed: sorted keys, compact separators, UTF-8."""
    return json.dumps(
        _without_descriptions(raw), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def schema_fingerprint(raw: dict[str, Any]) -> str:
    """``sha256:<64 hex digits>`` of the canonical JSON."""
    return PREFIX + hashlib.sha256(canonical_json(raw)).hexdigest()

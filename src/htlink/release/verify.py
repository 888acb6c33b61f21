"""An independent check of k-anonymity and l-diversity on the extract as written.

It shares no code with the search (:mod:`htlink.release.kanonymity`): it reads
the extract file back as text, groups rows on the quasi-identifier columns with
pandas, and counts.  The release is refused unless this check agrees.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from htlink.errors import HtlinkError


class VerificationError(HtlinkError):
    """The written extract does not satisfy the policy."""


@dataclass
class Verification:
    rows: int
    classes: int
    k_achieved: int
    l_achieved: int | None
    ok: bool


def verify_frame(
    extract: pd.DataFrame,
    quasi_identifiers: list[str],
    k: int,
    sensitive: list[str] | None = None,
    l_diversity: int | None = None,
) -> Verification:
    """Smallest equivalence class and smallest count of distinct sensitive values per class."""
    if extract.empty:
        return Verification(0, 0, 0, None, False)
    text = extract.astype("string").fillna("\x00missing")
    groups = text.groupby(quasi_identifiers, dropna=False, sort=False)
    sizes = groups.size()
    k_ach = int(sizes.min())
    l_ach: int | None = None
    if l_diversity is not None:
        l_ach = min(int(groups[s].nunique(dropna=False).min()) for s in sensitive or [])
    ok = k_ach >= k and (l_diversity is None or (l_ach is not None and l_ach >= l_diversity))
    return Verification(len(extract), len(sizes), k_ach, l_ach, ok)


def verify_extract_file(
    path: Path,
    quasi_identifiers: list[str],
    k: int,
    sensitive: list[str] | None = None,
    l_diversity: int | None = None,
) -> Verification:
    """Re-read ``path`` (CSV) and verify it; raise :class:`VerificationError` if it fails."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in [*quasi_identifiers, *(sensitive or [])] if c not in frame.columns]
    if missing:
        raise VerificationError(
            f"The written extract lacks the columns {', '.join(missing)}.",
            "This is a bug in htlink; nothing was released.",
        )
    result = verify_frame(frame, quasi_identifiers, k, sensitive, l_diversity)
    if not result.ok:
        raise VerificationError(
            f"The independent check of the written extract failed: smallest group "
            f"{result.k_achieved} (k = {k})"
            + (
                f", fewest distinct sensitive values {result.l_achieved} (l = {l_diversity})"
                if l_diversity
                else ""
            )
            + ". Nothing was released.",
            "This is a bug in htlink; please report it with the policy (not the data).",
        )
    return result

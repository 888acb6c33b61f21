"""The matching engine: Dice similarity on CLKs, candidate pairs, clustering, pseudonyms."""

from htlink.match.engine import LinkResult, check_compatible, link_submissions
from htlink.match.similarities import dice_pairs, dice_pairs_within
from htlink.match.solving import cluster_records
from htlink.match.threshold import choose_threshold

__all__ = [
    "LinkResult",
    "check_compatible",
    "choose_threshold",
    "cluster_records",
    "dice_pairs",
    "dice_pairs_within",
    "link_submissions",
]

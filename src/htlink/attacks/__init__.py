"""Re-identification attacks on Bloom-filter encodings: the attack bench of issue 7.

Bloom-filter encodings are not encryption.  This package measures how much an
attacker who holds encodings (the hub operator, or anyone who obtains a
submission) plus a plaintext population list can re-identify, for any linkage
configuration, beside what that configuration costs in linkage quality.

One concept per module:

* :mod:`~htlink.attacks.data` -- the attacked data: a synthetic world, normalized
  exactly as ``htlink encode`` normalizes it, the encoded sample and the
  attacker's plaintext list (overlap 100% or 50%);
* :mod:`~htlink.attacks.configs` -- linkage configurations: a schema plus
  optional hardening simulated outside the encoder (labelled *post-hoc*);
* :mod:`~htlink.attacks.bits` -- bit matrices, Dice, re-identification scoring;
* one module per attack: :mod:`~htlink.attacks.dictionary`,
  :mod:`~htlink.attacks.frequency`, :mod:`~htlink.attacks.pattern_mining`,
  :mod:`~htlink.attacks.graph_matching`;
* :mod:`~htlink.attacks.bench` -- runs every attack for every configuration and
  measures each configuration's linkage F1 on the same world.

Every attack returns one guess per attacked encoding (a plaintext value or
record, or none); :func:`~htlink.attacks.bits.reidentification` scores guesses
against the true normalized values.  See docs/attacks.md.
"""

from htlink.attacks.bench import BenchOptions, BenchResult, run_bench
from htlink.attacks.bits import Reidentification, reidentification
from htlink.attacks.configs import LinkageConfig, builtin_configs

__all__ = [
    "BenchOptions",
    "BenchResult",
    "LinkageConfig",
    "Reidentification",
    "builtin_configs",
    "reidentification",
    "run_bench",
]

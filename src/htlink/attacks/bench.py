"""The attack bench: every attack against every configuration, beside its linkage F1.

For each configuration (:mod:`htlink.attacks.configs`) the bench

1. encodes every record of the synthetic world with a fresh random secret;
2. links the three agencies' encodings and scores the links against the
   generator's truth (:mod:`htlink.attacks.linkage`): pairwise F1 over all true
   pairs at the threshold ``htlink match --threshold auto`` chooses, and the best
   F1 over a threshold sweep (hardening moves scores, so configurations are
   compared at their best thresholds);
3. runs the attacks on the same samples for every configuration (fixed seeds):

   ============== ========================== ============================================
   name           attacked encodings          guess / correct when
   ============== ========================== ============================================
   dict-known     CLK                         best-Dice record of the list encoded with
                                              the real secret; record key equal
   dict-unknown   CLK                         same with a random secret
   freq-field     single-field encoding of    value of equal frequency rank; value equal
                  ``field`` (surname)
   freq-clk       CLK                         record of equal frequency rank; key equal
   pattern-field  single-field encoding       q-gram reconstruction; value equal
   pattern-clk    CLK                         q-gram reconstruction; record key equal
   graph          CLK (``graph_size``)        graph-matched record; record key equal
   ============== ========================== ============================================

   each at overlap 100% and 50% between the encoded records and the attacker's list.

The record key is ``given_name|surname|dob``
(:data:`htlink.attacks.bits.RECORD_KEY_FEATURES`).  Rates are correct guesses /
attacked encodings with the target value present.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from htlink.attacks.bits import (
    KEY_SEPARATOR,
    RECORD_KEY_FEATURES,
    Reidentification,
    reidentification,
    unpack,
)
from htlink.attacks.configs import DEFAULT_CONFIGS, Encoded, LinkageConfig, parse_config
from htlink.attacks.data import World, attack_sample, load_world, make_world
from htlink.attacks.dictionary import dictionary_attack
from htlink.attacks.frequency import frequency_attack
from htlink.attacks.graph_matching import graph_matching_attack
from htlink.attacks.linkage import linkage_quality
from htlink.attacks.pattern_mining import pattern_mining_attack
from htlink.encode.tokens import tokenize
from htlink.encode.values import INVALID, prepare_value
from htlink.errors import HtlinkError
from htlink.schema import LinkageSchema

ATTACKS = (
    "dict-known", "dict-unknown", "freq-field", "freq-clk", "pattern-field", "pattern-clk",
    "graph",
)  # fmt: skip
OVERLAPS = (1.0, 0.5)
#: Columns of the printed table: (attack, overlap).
TABLE_COLUMNS: tuple[tuple[str, float], ...] = (
    ("dict-known", 1.0), ("dict-unknown", 1.0), ("freq-field", 1.0), ("freq-field", 0.5),
    ("freq-clk", 1.0), ("pattern-field", 1.0), ("pattern-field", 0.5), ("pattern-clk", 1.0),
    ("graph", 1.0), ("graph", 0.5),
)  # fmt: skip


@dataclass
class BenchOptions:
    """Sizes and choices of one bench run (defaults: the full run; :meth:`small` for CI)."""

    people: int = 20_000  # the default scenario's population
    seed: int = 1  # generator seed (and the base of the sampling seeds)
    attack_size: int = 3000  # encoded records attacked (and the attacker's list size)
    graph_size: int = 1500  # encoded records for the graph attack (n x n work)
    field: str = "surname"  # the feature of the single-field attacks
    configs: tuple[str, ...] = DEFAULT_CONFIGS
    attacks: tuple[str, ...] = ATTACKS
    overlaps: tuple[float, ...] = OVERLAPS
    linkage: bool = True
    world_dir: Path | None = None  # default: a folder under the system temp dir
    repo_root: Path | None = None  # where configs/schemas/ is (default: cwd)

    @classmethod
    def small(cls, **overrides: Any) -> BenchOptions:
        values: dict[str, Any] = {"people": 1500, "attack_size": 600, "graph_size": 300}
        values.update(overrides)
        return cls(**values)


@dataclass
class AttackOutcome:
    config: str
    attack: str
    overlap: float
    target: str  # "record" or the field name
    score: Reidentification
    seconds: float
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "attack": self.attack,
            "overlap": self.overlap,
            "target": self.target,
            **self.score.to_dict(),
            "seconds": round(self.seconds, 2),
            **({"details": self.details} if self.details else {}),
        }


@dataclass
class ConfigOutcome:
    name: str
    spec: str
    posthoc: bool
    bit_length: int
    linkage: dict[str, Any] | None
    attacks: list[AttackOutcome]

    def rate(self, attack: str, overlap: float) -> float | None:
        for a in self.attacks:
            if a.attack == attack and a.overlap == overlap:
                return a.score.rate
        return None


@dataclass
class BenchResult:
    options: BenchOptions
    world: dict[str, Any]
    configs: list[ConfigOutcome]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        opts = asdict(self.options)
        opts["world_dir"] = None  # a local path: not part of the result
        opts["repo_root"] = None
        return {
            "format": "htlink-attack-bench",
            "format_version": 1,
            "options": opts,
            "world": self.world,
            "record_key": list(RECORD_KEY_FEATURES),
            "configs": [
                {
                    "name": c.name,
                    "spec": c.spec,
                    "posthoc": c.posthoc,
                    "bit_length": c.bit_length,
                    "linkage": c.linkage,
                    "attacks": [a.to_dict() for a in c.attacks],
                }
                for c in self.configs
            ],
            "seconds": round(self.seconds, 1),
        }

    def table_rows(self) -> tuple[list[str], list[list[str]]]:
        """Header and rows of the summary table (rates in %, F1 beside them)."""
        header = [
            "configuration", "F1 auto (thr.)", "F1 best (thr.)",
            *(f"{a}@{int(o * 100)}" for a, o in TABLE_COLUMNS),
        ]  # fmt: skip
        rows = []
        for c in self.configs:
            f1 = best = "-"
            if c.linkage:
                f1 = f"{c.linkage['f1']:.4f} ({c.linkage['threshold']:.2f})"
                if c.linkage.get("best"):
                    b = c.linkage["best"]
                    best = f"{b['f1']:.4f} ({b['threshold']:.2f})"
            cells = []
            for attack, overlap in TABLE_COLUMNS:
                rate = c.rate(attack, overlap)
                cells.append("-" if rate is None else f"{100 * rate:.1f}")
            rows.append([c.name, f1, best, *cells])
        return header, rows

    def markdown_table(self) -> str:
        header, rows = self.table_rows()
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)


# --- tokenizers: the attacker knows the schema, so tokenizes as the encoder does ---------


def field_tokenizer(schema: LinkageSchema, feature: str) -> Callable[[str], list[str]]:
    feat = schema.feature(feature)
    assert feat.hashing is not None
    comparison = feat.hashing.comparison

    def tokens(value: str) -> list[str]:
        text = prepare_value(feat, value)
        return [] if text is INVALID else tokenize(comparison, text)

    return tokens


def record_tokenizer(schema: LinkageSchema) -> Callable[[str], list[str]]:
    """Tokens of a whole record written as :func:`record_tuple` strings, tagged by feature."""
    names = [f.identifier for f in schema.hashed_features]
    per_feature = {n: field_tokenizer(schema, n) for n in names}

    def tokens(record: str) -> list[str]:
        out = []
        for name, value in zip(names, record.split(KEY_SEPARATOR), strict=True):
            if value:
                out += [f"{name}:{t}" for t in per_feature[name](value)]
        return out

    return tokens


def record_tuples(columns: dict[str, list[str | None]], names: Sequence[str]) -> np.ndarray:
    """Every record as one string: all hashed feature values (key features first)."""
    order = [*RECORD_KEY_FEATURES, *(n for n in names if n not in RECORD_KEY_FEATURES)]
    rows = zip(*(columns[n] for n in order), strict=True)
    return np.array([KEY_SEPARATOR.join(v or "" for v in r) for r in rows], dtype=object)


def _key_of_tuple(t: str | None) -> str | None:
    if t is None:
        return None
    return KEY_SEPARATOR.join(t.split(KEY_SEPARATOR)[: len(RECORD_KEY_FEATURES)])


def _token_matrix(records: Sequence[str], tokens: Callable[[str], list[str]]) -> np.ndarray:
    sets = [tokens(r) for r in records]
    vocab = {t: i for i, t in enumerate(sorted({t for s in sets for t in s}))}
    m = np.zeros((len(records), len(vocab)), dtype=np.uint8)
    for r, s in enumerate(sets):
        m[r, [vocab[t] for t in s]] = 1
    return m


# --- the attacks of one configuration ----------------------------------------------------


class _ConfigRun:
    def __init__(self, world: World, config: LinkageConfig, opts: BenchOptions,
                 secret: bytes, encoded: Encoded) -> None:  # fmt: skip
        self.world = world
        self.config = config
        self.opts = opts
        self.secret = secret
        self.encoded = encoded
        self.names = [f.identifier for f in config.schema.hashed_features]
        self.tuples = record_tuples(world.columns(), self.names)
        self.keys = np.array([_key_of_tuple(t) for t in self.tuples], dtype=object)
        field_values = world.records[opts.field].to_numpy(dtype=object)
        self.field_values = np.array(
            [None if v is None or v == "" else v for v in field_values], dtype=object
        )

    def _rng(self, attack: str, overlap: float) -> np.random.Generator:
        return np.random.default_rng([self.opts.seed, ATTACKS.index(attack), int(overlap * 100)])

    def run(self, attack: str, overlap: float, sample_seed: int) -> AttackOutcome:
        opts = self.opts
        size = opts.graph_size if attack == "graph" else opts.attack_size
        sample = attack_sample(
            self.world, size, overlap, np.random.default_rng([sample_seed, size])
        )
        e, p = sample.encoded, sample.plaintext
        rng = self._rng(attack, overlap)
        started = time.perf_counter()
        details: dict[str, Any] = {}
        target = "record"
        if attack in ("dict-known", "dict-unknown"):
            secret = self.secret if attack == "dict-known" else secrets.token_bytes(32)
            attacker = self.config.encoder(secret)
            cand = attacker.encode(self.world.columns(p), rng)
            guess = dictionary_attack(self.encoded.bits()[e], cand.bits())
            guesses = self.keys[p][guess.best]
            truth, plain = self.keys[e], self.keys[p]
        elif attack in ("freq-field", "pattern-field"):
            target = opts.field
            truth, plain = self.field_values[e], self.field_values[p]
            bits = unpack(self.encoded.fields[opts.field][e], self.encoded.length)
            if attack == "freq-field":
                guesses = frequency_attack(bits, plain, rng)
            else:
                mined = pattern_mining_attack(
                    bits, plain, field_tokenizer(self.config.schema, opts.field), rng
                )
                guesses = mined.guesses
                details = {"aligned": mined.aligned, "qgrams_identified": len(mined.identified)}
        elif attack in ("freq-clk", "pattern-clk"):
            truth, plain = self.keys[e], self.keys[p]
            bits = self.encoded.bits()[e]
            if attack == "freq-clk":
                tuples = frequency_attack(bits, self.tuples[p], rng)
            else:
                mined = pattern_mining_attack(
                    bits, self.tuples[p], record_tokenizer(self.config.schema), rng
                )
                tuples = mined.guesses
                details = {"aligned": mined.aligned, "qgrams_identified": len(mined.identified)}
            guesses = np.array([_key_of_tuple(t) for t in tuples], dtype=object)
        elif attack == "graph":
            truth, plain = self.keys[e], self.keys[p]
            tokens = _token_matrix(self.tuples[p].tolist(), record_tokenizer(self.config.schema))
            # the attacker's own encodings of its list: the schema (hardening included) is
            # public, only the secret is not, so it encodes with a secret of its own
            own = self.config.encoder(secrets.token_bytes(32)).encode(self.world.columns(p), rng)
            matched = graph_matching_attack(
                self.encoded.bits()[e], tokens, reference_bits=own.bits()
            )
            details = {
                "view": matched.view,
                "rounds": int(matched.rounds),
                "consistency": round(float(matched.consistency), 4),
            }
            guesses = np.array(
                [self.keys[p][m] if m >= 0 else None for m in matched.match], dtype=object
            )
        else:
            raise ValueError(f"unknown attack {attack!r}")
        score = reidentification(truth, guesses, plain)
        return AttackOutcome(
            config=self.config.name,
            attack=attack,
            overlap=overlap,
            target=target,
            score=score,
            seconds=time.perf_counter() - started,
            details=details,
        )


Progress = Callable[[str], None]


def run_bench(opts: BenchOptions, progress: Progress | None = None) -> BenchResult:
    """Run every attack of ``opts`` against every configuration; see the module docstring."""
    import tempfile

    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    configs = [parse_config(spec, opts.repo_root) for spec in opts.configs]
    world_dir = opts.world_dir or Path(tempfile.gettempdir()) / (
        f"htlink-attack-world-{opts.people}-{opts.seed}"
    )
    say(f"synthetic world: {opts.people:,} people (seed {opts.seed}) in {world_dir}")
    make_world(world_dir, opts.people, opts.seed)
    worlds: dict[str, World] = {}
    outcomes = []
    for config in configs:
        fp = config.schema.fingerprint
        if fp not in worlds:
            worlds[fp] = load_world(world_dir, config.schema)
        world = worlds[fp]
        if opts.field not in world.features:
            raise HtlinkError(f"The schema of {config.name} has no feature {opts.field!r}.")
        secret = secrets.token_bytes(32)
        say(f"[{config.name}] encoding {len(world.records):,} records")
        encoded = config.encoder(secret).encode(
            world.columns(), np.random.default_rng([opts.seed, 99]), fields=(opts.field,)
        )
        linkage = None
        if opts.linkage:
            say(f"[{config.name}] linkage quality")
            linkage = linkage_quality(world, encoded, fp)
        run = _ConfigRun(world, config, opts, secret, encoded)
        results = []
        for attack in opts.attacks:
            for overlap in opts.overlaps:
                say(f"[{config.name}] {attack} at overlap {int(overlap * 100)}%")
                sample_seed = opts.seed * 1000 + int(overlap * 100)
                results.append(run.run(attack, overlap, sample_seed))
        outcomes.append(
            ConfigOutcome(
                name=config.name,
                spec=config.spec,
                posthoc=config.posthoc,
                bit_length=encoded.length,
                linkage=linkage,
                attacks=results,
            )
        )
    any_world = next(iter(worlds.values()))
    world_info = {
        "scenario": "default",
        "people": opts.people,
        "seed": opts.seed,
        "records": {a: int((any_world.records["agency"] == a).sum()) for a in any_world.agencies},
    }
    return BenchResult(opts, world_info, outcomes, time.perf_counter() - started)

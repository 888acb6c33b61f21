"""The attacked data: a synthetic world, normalized as ``htlink encode`` normalizes it.

* :func:`make_world` runs the generator (``htlink synth``: default scenario,
  ``people`` overrides its size) into a folder, or reuses one already there.
* :func:`load_world` reads every agency's extract with its mapping file and
  normalizes it with :func:`htlink.encode.pipeline.prepare_chunk` -- the very
  code ``htlink encode`` runs -- so the values here are the values encoded.
* :func:`attack_sample` draws what the attack sees and what the attacker
  holds: ``encoded`` -- ``n`` random records of one agency (healthcare: it
  holds every feature), and ``plaintext`` -- the attacker's population list of
  ``n`` records: at overlap 1.0 the same records' values (shuffled); at overlap
  0.5 the values of a random half of them plus as many records of *other*
  people of the same synthetic population (same Faker name pools and name
  tables, so the same name distribution).  The list holds values only; person
  ids are kept beside it for scoring, never used by an attack.

Everything is synthetic (Faker and htlink's own name tables); no real person's
identifiers are involved.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from htlink.encode.mapping import load_mapping_file
from htlink.encode.pipeline import prepare_chunk
from htlink.encode.reader import InputSpec, iter_chunks
from htlink.errors import HtlinkError
from htlink.evaluate.truth import load_truth
from htlink.schema import LinkageSchema

#: The agency whose records are attacked (it holds every feature of person-v1).
ATTACKED_AGENCY = "healthcare"


def make_world(folder: Path, people: int, seed: int = 1) -> Path:
    """Generate the default scenario with ``people`` people into ``folder`` (reused if present)."""
    from htlink.synthetic import generate

    if (folder / "truth.csv").is_file() and (folder / "summary.json").is_file():
        import json

        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        if summary.get("people") == people and summary.get("seed") == seed:
            return folder
    generate(None, seed, folder, people=people, force=True)
    return folder


@dataclass
class World:
    """Every record of every agency: ``agency, record_id, person_id`` and one column per feature."""

    records: pd.DataFrame
    features: tuple[str, ...]
    folder: Path

    @property
    def agencies(self) -> list[str]:
        return list(pd.unique(self.records["agency"]))

    def columns(self, rows: np.ndarray | None = None) -> dict[str, list[str | None]]:
        """Feature columns (normalized values, None when missing) of ``rows`` (default all)."""
        frame = self.records if rows is None else self.records.iloc[rows]
        return {
            f: [None if v is None or v == "" else v for v in frame[f].tolist()]
            for f in self.features
        }


def load_world(folder: Path, schema: LinkageSchema, agencies: tuple[str, ...] = ()) -> World:
    """Read and normalize every agency extract of a synthetic world folder."""
    truth = load_truth(folder / "truth.csv").table
    person = dict(zip(zip(truth["agency"], truth["record_id"], strict=True),
                      truth["person_id"], strict=True))
    wanted = agencies or tuple(sorted(truth["agency"].unique()))
    features = tuple(f.identifier for f in schema.hashed_features)
    frames = []
    for agency in wanted:
        mapping = load_mapping_file(folder / "mappings" / f"{agency}.yaml")
        needed = list(
            dict.fromkeys(
                [spec.column for spec in mapping.columns.values()]
                + ([mapping.id_column] if mapping.id_column else [])
            )
        )
        offset = 0
        for chunk in iter_chunks(InputSpec(folder / f"{agency}.csv"), needed, 50_000):
            prepared = prepare_chunk(chunk, schema, mapping, offset)
            offset += len(chunk)
            frame = pd.DataFrame(prepared.columns, columns=list(features), dtype=object)
            frame.insert(0, "record_id", prepared.ids)
            frame.insert(0, "agency", agency)
            frames.append(frame)
    records = pd.concat(frames, ignore_index=True)
    records.insert(
        2,
        "person_id",
        [person.get((a, r)) for a, r in zip(records["agency"], records["record_id"], strict=True)],
    )
    if records["person_id"].isna().any():
        raise ValueError("records without a truth row: the world folder is inconsistent")
    return World(records=records, features=features, folder=folder)


@dataclass
class AttackSample:
    """Rows of :attr:`World.records`: the encoded records and the attacker's plaintext list."""

    encoded: np.ndarray  # row numbers of the attacked encodings
    plaintext: np.ndarray  # row numbers whose values form the attacker's list
    overlap: float


def attack_sample(
    world: World, n: int, overlap: float, rng: np.random.Generator,
    agency: str = ATTACKED_AGENCY,
) -> AttackSample:
    """``n`` encoded records of ``agency`` and an attacker's list of ``n`` records.

    ``overlap`` (0 < overlap <= 1) is the share of the list made of the encoded
    records' own values; the rest are records of people not encoded.
    """
    if not 0.0 < overlap <= 1.0:
        raise ValueError("overlap must be in (0, 1]")
    pool = np.flatnonzero((world.records["agency"] == agency).to_numpy())
    n = min(n, len(pool) // 2 if overlap < 1 else len(pool))
    encoded = np.sort(rng.choice(pool, size=n, replace=False))
    shared = rng.choice(encoded, size=round(n * overlap), replace=False)
    persons = set(world.records["person_id"].to_numpy()[encoded])
    others_pool = pool[~np.isin(world.records["person_id"].to_numpy()[pool], list(persons))]
    extra = n - len(shared)
    if extra > len(others_pool):
        raise HtlinkError(
            f"The synthetic world is too small for {n:,} attacked records at overlap {overlap}.",
            "Use more people (--people) or a smaller --attack-size.",
        )
    others = rng.choice(others_pool, size=extra, replace=False)
    plaintext = rng.permutation(np.concatenate([shared, others]))
    return AttackSample(encoded=encoded, plaintext=plaintext, overlap=overlap)

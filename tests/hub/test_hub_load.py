"""Load on loopback: three agencies upload 200,000 encodings each while 20 clients poll.

No request may fail, nothing may be lost (the hub stores byte-identical files and
reports the right counts throughout), and the run's links equal what ``htlink match``
computes locally on the same submission folders with the hub's project key.
"""

from __future__ import annotations

import hashlib
import inspect
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.hub.hubtools import LiveHub, make_agency, person_schema, write_submission

pytestmark = pytest.mark.slow

ROWS = 200_000
PEOPLE = 300_000
# Each agency holds 200,000 of 300,000 people: 100,000 are in all three agencies.
SPANS = {"clinic": (0, 200_000), "shelter": (50_000, 250_000), "court": (100_000, 300_000)}
POLLERS = 20
PROJECT = "load-2026"


def engine_blocks() -> bool:
    from htlink.match.engine import link_submissions

    return "blocking" in inspect.signature(link_submissions).parameters


def people(n: int, seed: int, width: int = 128) -> np.ndarray:
    """``n`` random encodings of 25 % or 50 % fill, from two random bytes per CLK byte."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, size=(n, width), dtype=np.uint8)
    b = rng.integers(0, 256, size=(n, width), dtype=np.uint8)
    quarter = rng.random(n) < 0.5
    a[quarter] &= b[quarter]
    return a


def with_typos(clks: np.ndarray, flips: int, seed: int) -> np.ndarray:
    """A copy of ``clks`` with ``flips`` random bits flipped per row, rows shuffled."""
    rng = np.random.default_rng(seed)
    out = clks.copy()
    rows = np.arange(len(out))
    for _ in range(flips):
        bit = rng.integers(0, out.shape[1] * 8, size=len(out))
        out[rows, bit >> 3] ^= (1 << (bit & 7)).astype(np.uint8)
    return out[rng.permutation(len(out))]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


class Pollers:
    """``POLLERS`` threads asking for status and whoami with every kind of token."""

    def __init__(self, hub: LiveHub, tokens: list[tuple[str, str | None]]) -> None:
        self.hub = hub
        self.tokens = tokens
        self.stop = threading.Event()
        self.requests: Counter[str] = Counter()
        self.failures: list[str] = []
        self.lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._poll, args=(k,), daemon=True) for k in range(POLLERS)
        ]

    def _poll(self, k: int) -> None:
        token, agency = self.tokens[k % len(self.tokens)]
        http = self.hub.http(token)
        while not self.stop.is_set():
            for path in (f"/api/v1/projects/{PROJECT}/status", "/api/v1/whoami"):
                try:
                    response = http.get(path)
                    ok = response.status_code == 200
                    problem = None if ok else f"{path}: HTTP {response.status_code}"
                    if ok and path.endswith("/status"):
                        problem = self._check_status(response.json(), agency)
                except Exception as exc:
                    problem = f"{path}: {type(exc).__name__}: {exc}"
                with self.lock:
                    self.requests[path.rsplit("/", 1)[-1]] += 1
                    if problem:
                        self.failures.append(problem)
            time.sleep(0.01)

    @staticmethod
    def _check_status(status: dict[str, Any], agency: str | None) -> str | None:
        rows = status["submissions"]
        names = [r["agency"] for r in rows]
        if names != ([agency] if agency else sorted(SPANS)):
            return f"status shows {names} to {agency or 'admin'}"
        for row in rows:
            if row["submitted"] and row["record_count"] != ROWS:
                return f"status shows {row['record_count']} records for {row['agency']}"
        return None

    def __enter__(self) -> Pollers:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)


def test_three_agencies_upload_200k_while_20_clients_poll(
    live_hub: LiveHub, tmp_path: Path
) -> None:
    timings: dict[str, float] = {}
    blocking = engine_blocks()
    threshold = 0.95
    matching: dict[str, Any] = {"threshold": threshold}
    matching["blocking"] = "lsh" if blocking else "auto"

    t0 = time.perf_counter()
    base = people(PEOPLE, seed=20)
    agencies = {name: make_agency(name) for name in SPANS}
    folders = {}
    for k, (name, (lo, hi)) in enumerate(SPANS.items()):
        folders[name] = write_submission(
            tmp_path / "subs" / name, agencies[name], with_typos(base[lo:hi], 2, k), seed=k
        )
    del base
    timings["generate"] = time.perf_counter() - t0

    admin = live_hub.client()
    created = admin.create_project(
        {
            "name": PROJECT,
            "linkage_schema": person_schema().raw,
            "agencies": [
                {"name": a.name, "public_key_pem": a.public_pem, "deduplicated": True}
                for a in agencies.values()
            ],
            "matching": matching,
        }
    )
    tokens = created["tokens"]
    poll_tokens: list[tuple[str, str | None]] = [(live_hub.admin_token, None)]
    for name in SPANS:
        poll_tokens += [(tokens[name]["upload"], name), (tokens[name]["results"], name)]

    accepted: dict[str, dict[str, Any]] = {}
    errors: list[str] = []

    def upload(name: str) -> None:
        try:
            with live_hub.client(tokens[name]["upload"]) as c:
                accepted[name] = c.upload(PROJECT, folders[name])
        except Exception as exc:
            errors.append(f"{name}: {type(exc).__name__}: {exc}")

    t0 = time.perf_counter()
    with Pollers(live_hub, poll_tokens) as pollers:
        uploaders = [threading.Thread(target=upload, args=(n,)) for n in SPANS]
        for t in uploaders:
            t.start()
        for t in uploaders:
            t.join(timeout=600)
        time.sleep(0.5)  # a last round of polls after the uploads
    timings["uploads"] = time.perf_counter() - t0

    assert errors == []
    assert pollers.failures == [], pollers.failures[:10]
    assert pollers.requests["status"] > POLLERS and pollers.requests["whoami"] > POLLERS
    assert {n: a["record_count"] for n, a in accepted.items()} == dict.fromkeys(SPANS, ROWS)
    status = admin.status(PROJECT)["submissions"]
    assert [(s["agency"], s["submitted"], s["record_count"]) for s in status] == [
        (n, True, ROWS) for n in sorted(SPANS)
    ]
    for name in SPANS:  # nothing lost: the stored file is the agency's file, byte for byte
        stored = (
            live_hub.data_dir
            / "projects"
            / PROJECT
            / "submissions"
            / name
            / accepted[name]["submission_id"]
            / "encodings.parquet"
        )
        assert sha256_file(stored) == sha256_file(folders[name] / "encodings.parquet")
    assert list((live_hub.data_dir / "staging").iterdir()) == []

    t0 = time.perf_counter()
    run = admin.start_run(PROJECT)
    info = admin.wait_run(PROJECT, run["id"], interval=0.5)
    timings["hub_run"] = time.perf_counter() - t0
    assert info["status"] == "completed", info
    hub_links = {}
    for name in SPANS:
        out = tmp_path / "hub" / f"{name}.links.csv"
        meta = live_hub.client(tokens[name]["results"]).fetch_links(PROJECT, out)
        assert meta["run"] == run["id"] and int(meta["rows"]) == ROWS
        hub_links[name] = out

    t0 = time.perf_counter()
    key = live_hub.data_dir / "projects" / PROJECT / "project.key"
    cmd = [
        sys.executable,
        "-m",
        "htlink.cli.main",
        "match",
        *(str(folders[n]) for n in SPANS),
        "--threshold",
        str(threshold),
        "--out",
        str(tmp_path / "local"),
        "--project-key",
        str(key),
    ]
    for name in SPANS:
        cmd += ["--deduplicated", name]
    if blocking:
        cmd += ["--blocking", "lsh"]
    local = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, check=False)
    timings["local_match"] = time.perf_counter() - t0
    assert local.returncode == 0, local.stderr[-3000:]

    people_per_agency = {}
    for name in SPANS:
        got = pd.read_csv(hub_links[name], dtype={"row_token": str, "pseudonym": str})
        want = pd.read_csv(
            tmp_path / "local" / f"{name}.links.csv", dtype={"row_token": str, "pseudonym": str}
        )
        assert len(got) == ROWS and got["row_token"].is_unique
        got = got.sort_values("row_token").reset_index(drop=True)
        want = want.sort_values("row_token").reset_index(drop=True)
        pd.testing.assert_series_equal(got["row_token"], want["row_token"])
        pd.testing.assert_series_equal(got["pseudonym"], want["pseudonym"])
        assert list(got.columns) == ["row_token", "pseudonym"]  # no scores leave the hub
        people_per_agency[name] = set(got["pseudonym"])
    # the overlap was found: 100,000 people are in all three agencies
    shared = people_per_agency["clinic"] & people_per_agency["shelter"] & people_per_agency["court"]
    assert len(shared) > 0.95 * 100_000
    print(
        f"\nload test ({'lsh' if blocking else 'exhaustive'}, threshold {threshold}): "
        + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
        + f"; polls {dict(pollers.requests)}; people in all three {len(shared):,}"
    )

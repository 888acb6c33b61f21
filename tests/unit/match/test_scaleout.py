"""Chunked candidate generation gives the kernel's exact answer, in-process and on Dask.

The cluster tests use a real ``distributed.LocalCluster`` with two worker
processes, started once for this module: the workers import htlink and compile
(or load) the numba kernel themselves, as they would on other machines.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htlink.errors import HtlinkError
from htlink.match import scaleout
from htlink.match.scaleout import (
    DEFAULT_CHUNK_ROWS,
    CandidatePairs,
    SchedulerError,
    auto_chunk_rows,
    candidate_pairs,
    chunk_bounds,
    lsh_candidate_pairs,
    map_chunks,
    scheduler_client,
    sort_pairs,
)
from htlink.match.similarities import as_words, dice_pairs, dice_pairs_within

THRESHOLD = 0.8


def random_clks(rng: np.random.Generator, n: int, nbytes: int, density: float) -> np.ndarray:
    return np.packbits(rng.random((n, nbytes * 8)) < density, axis=1)


def noisy_copy(rng: np.random.Generator, words: np.ndarray, flip: float) -> np.ndarray:
    """``words`` with about ``flip`` of their bits flipped."""
    bits = np.unpackbits(words.view(np.uint8), axis=1)
    bits ^= (rng.random(bits.shape) < flip).astype(np.uint8)
    return np.packbits(bits, axis=1).view(np.uint64)


@pytest.fixture(scope="module")
def sources() -> tuple[np.ndarray, np.ndarray]:
    """Two sources of 1024-bit CLKs with cross matches, repeat records and exact ties."""
    rng = np.random.default_rng(20240611)
    a = as_words(random_clks(rng, 1_003, 128, 0.25))
    b = as_words(random_clks(rng, 877, 128, 0.25))
    b[:400] = noisy_copy(rng, a[:400], 0.03)  # the same people in both sources
    a[700:800] = noisy_copy(rng, a[:100], 0.02)  # repeat visits within A
    a[900:950] = a[600:650]  # exact duplicates: equal scores (ties)
    b[800:830] = b[100:130]
    return a, b


def expected_cross(a: np.ndarray, b: np.ndarray, threshold: float) -> CandidatePairs:
    i, j, s, compared = dice_pairs(a, b, threshold)
    return CandidatePairs(*sort_pairs(i, j, s), compared)


def expected_within(a: np.ndarray, threshold: float) -> CandidatePairs:
    i, j, s, compared = dice_pairs_within(a, threshold)
    return CandidatePairs(*sort_pairs(i, j, s), compared)


def assert_identical(got: CandidatePairs, want: CandidatePairs) -> None:
    assert got.i.dtype == np.int64 and got.j.dtype == np.int64
    assert got.scores.dtype == np.float64
    np.testing.assert_array_equal(got.i, want.i)
    np.testing.assert_array_equal(got.j, want.j)
    # Bit-for-bit equal scores, not merely close.
    assert got.scores.tobytes() == want.scores.tobytes()
    assert got.compared == want.compared


# ---------------------------------------------------------------- in-process


def test_chunk_bounds_cover_rows_in_order() -> None:
    assert chunk_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert chunk_bounds(8, 4) == [(0, 4), (4, 8)]
    assert chunk_bounds(3, 100) == [(0, 3)]
    assert chunk_bounds(0, 5) == []
    with pytest.raises(HtlinkError, match="chunk_rows"):
        chunk_bounds(10, 0)


def test_auto_chunk_rows_balances_the_cluster() -> None:
    assert auto_chunk_rows(1_000_000, 2) == DEFAULT_CHUNK_ROWS  # capped: bounded task memory
    assert auto_chunk_rows(50_000, 2) == 6_250  # 8 tasks: 4 per worker thread
    assert auto_chunk_rows(2_000, 2) == 1_000  # floored: bounded scheduling overhead
    assert auto_chunk_rows(10, 64) == 1_000


@pytest.mark.parametrize("chunk_rows", [None, 1, 7, 100, 333, 1_003, 50_000])
def test_in_process_cross_equals_kernel(
    sources: tuple[np.ndarray, np.ndarray], chunk_rows: int | None
) -> None:
    a, b = sources
    want = expected_cross(a, b, THRESHOLD)
    assert len(want.i) > 400  # the fixture has matches to find
    assert_identical(candidate_pairs(a, b, THRESHOLD, chunk_rows=chunk_rows), want)


@pytest.mark.parametrize("chunk_rows", [None, 1, 7, 100, 333, 1_003, 50_000])
def test_in_process_within_equals_kernel(
    sources: tuple[np.ndarray, np.ndarray], chunk_rows: int | None
) -> None:
    a, _ = sources
    want = expected_within(a, THRESHOLD)
    assert len(want.i) >= 150  # repeat visits and exact duplicates
    got = candidate_pairs(a, None, THRESHOLD, within=True, chunk_rows=chunk_rows)
    assert_identical(got, want)
    assert np.all(got.i < got.j)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 40),
    m=st.integers(0, 40),
    nbytes=st.sampled_from([1, 8, 13, 64]),
    threshold=st.sampled_from([0.0, 0.3, 0.5, 0.8, 1.0]),
    chunk_rows=st.integers(1, 45),
)
def test_in_process_any_shape_equals_kernel(
    seed: int, n: int, m: int, nbytes: int, threshold: float, chunk_rows: int
) -> None:
    rng = np.random.default_rng(seed)
    a = as_words(random_clks(rng, n, nbytes, rng.uniform(0.05, 0.6)))
    b = as_words(random_clks(rng, m, nbytes, rng.uniform(0.05, 0.6)))
    k = min(n, m)
    b[:k] = a[:k]
    assert_identical(
        candidate_pairs(a, b, threshold, chunk_rows=chunk_rows), expected_cross(a, b, threshold)
    )
    assert_identical(
        candidate_pairs(a, None, threshold, within=True, chunk_rows=chunk_rows),
        expected_within(a, threshold),
    )


def test_results_unpack_like_the_kernel(sources: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = sources
    i, j, scores, compared = candidate_pairs(a[:50], b[:50], THRESHOLD)
    assert len(i) == len(j) == len(scores) and compared > 0


def test_bad_arguments_are_refused_clearly(sources: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = sources
    with pytest.raises(HtlinkError, match="different lengths"):
        candidate_pairs(a, b[:, :8], THRESHOLD)
    with pytest.raises(HtlinkError, match="uint64"):
        candidate_pairs(a.view(np.uint8), b.view(np.uint8), THRESHOLD)
    with pytest.raises(HtlinkError, match="needs b_words"):
        candidate_pairs(a, None, THRESHOLD)
    with pytest.raises(HtlinkError, match="b_words must be None"):
        candidate_pairs(a, b, THRESHOLD, within=True)
    with pytest.raises(HtlinkError, match="chunk_rows"):
        candidate_pairs(a, b, THRESHOLD, chunk_rows=0)


def test_empty_sources(sources: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = sources
    for got in (
        candidate_pairs(a[:0], b, THRESHOLD),
        candidate_pairs(a, b[:0], THRESHOLD),
        candidate_pairs(a[:1], None, THRESHOLD, within=True),
    ):
        assert len(got.i) == len(got.j) == len(got.scores) == 0
        assert got.i.dtype == np.int64 and got.compared == 0


def test_in_process_path_does_not_import_distributed(
    sources: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    real_import = builtins.__import__

    def guarded(name: str, *args: object, **kwargs: object) -> object:
        if name.split(".")[0] in {"distributed", "dask"}:
            raise AssertionError(f"the in-process path imported {name}")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", guarded)
    a, b = sources
    candidate_pairs(a, b, THRESHOLD, chunk_rows=300)
    candidate_pairs(a, None, THRESHOLD, within=True, chunk_rows=300)


# ---------------------------------------------------------------- on a real LocalCluster


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    from distributed import LocalCluster

    local = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # any free port: never collide with a real cluster
        worker_dashboard_address=None,
    )
    try:
        yield local
    finally:
        local.close()


@pytest.fixture(scope="module")
def client(cluster: object) -> Iterator[object]:
    from distributed import Client

    with Client(cluster, set_as_default=False) as connected:  # type: ignore[arg-type]
        connected.wait_for_workers(2, timeout=30)
        yield connected


@pytest.mark.parametrize("chunk_rows", [None, 64, 250, 1_003, 5_000])
def test_cluster_cross_equals_in_process(
    sources: tuple[np.ndarray, np.ndarray], client: object, chunk_rows: int | None
) -> None:
    a, b = sources
    got = candidate_pairs(a, b, THRESHOLD, chunk_rows=chunk_rows, scheduler=client)  # type: ignore[arg-type]
    assert_identical(got, candidate_pairs(a, b, THRESHOLD, chunk_rows=chunk_rows))
    assert_identical(got, expected_cross(a, b, THRESHOLD))


@pytest.mark.parametrize("chunk_rows", [None, 64, 250, 1_003, 5_000])
def test_cluster_within_equals_in_process(
    sources: tuple[np.ndarray, np.ndarray], client: object, chunk_rows: int | None
) -> None:
    a, _ = sources
    got = candidate_pairs(
        a,
        None,
        THRESHOLD,
        within=True,
        chunk_rows=chunk_rows,
        scheduler=client,  # type: ignore[arg-type]
    )
    assert_identical(got, expected_within(a, THRESHOLD))


def test_cluster_runs_tasks_on_both_workers(
    sources: tuple[np.ndarray, np.ndarray], client: object
) -> None:
    """The work really is spread: with 8 chunks both worker processes take tasks."""
    a, b = sources
    before = _tasks_per_worker(client)
    candidate_pairs(a, b, 0.5, chunk_rows=126, scheduler=client)  # type: ignore[arg-type]
    after = _tasks_per_worker(client)
    assert len(after) == 2
    assert all(after[w] > before.get(w, 0) for w in after)


def _tasks_per_worker(client: object) -> dict[str, int]:
    def executed(dask_worker: object) -> int:
        return int(dask_worker.state.executed_count)  # type: ignore[attr-defined]

    return client.run(executed)  # type: ignore[attr-defined,no-any-return]


def chunk_summary(chunk: np.ndarray, shared: str, offset: int) -> tuple[int, int, int, str]:
    """A stand-in for any per-chunk computation (e.g. a blocked comparison with a shared plan)."""
    return offset, len(chunk), int(chunk.sum(dtype=np.uint64) % 1_000_003), shared


def test_map_chunks_runs_any_task_in_chunk_order(
    sources: tuple[np.ndarray, np.ndarray], client: object
) -> None:
    import sys

    import cloudpickle

    # The workers cannot import this test module; send the function itself.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        a, _ = sources
        here = map_chunks(chunk_summary, a, "plan", chunk_rows=97)
        there = map_chunks(chunk_summary, a, "plan", chunk_rows=97, scheduler=client)  # type: ignore[arg-type]
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert here == there
    assert [offset for offset, *_ in there] == list(range(0, len(a), 97))
    assert sum(n for _, n, _, _ in there) == len(a)
    assert map_chunks(chunk_summary, a[:0], "plan", scheduler=client) == []  # type: ignore[arg-type]


def test_address_string_path(sources: tuple[np.ndarray, np.ndarray], cluster: object) -> None:
    a, b = sources
    address = cluster.scheduler_address  # type: ignore[attr-defined]
    assert address.startswith("tcp://")
    assert_identical(
        candidate_pairs(a, b, THRESHOLD, chunk_rows=300, scheduler=address),
        expected_cross(a, b, THRESHOLD),
    )
    # One connection for several calls, as the engine does it.
    with scheduler_client(address) as connected:
        assert connected is not None
        got = candidate_pairs(a, None, THRESHOLD, within=True, chunk_rows=300, scheduler=connected)
        assert_identical(got, expected_within(a, THRESHOLD))
    assert connected.status == "closed"


def test_scheduler_client_passes_none_and_clients_through(client: object) -> None:
    with scheduler_client(None) as nothing:
        assert nothing is None
    with scheduler_client(client) as same:  # type: ignore[arg-type]
        assert same is client
    assert client.status == "running"  # type: ignore[attr-defined]  # not closed: not ours


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_scheduler_is_a_clear_error(
    sources: tuple[np.ndarray, np.ndarray],
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(scaleout, "CONNECT_TIMEOUT_S", 1.0)
    a, b = sources
    address = f"tcp://127.0.0.1:{_closed_port()}"
    started = time.monotonic()
    with pytest.raises(SchedulerError) as caught:
        candidate_pairs(a, b, THRESHOLD, scheduler=address)
    assert time.monotonic() - started < 10
    error = caught.value
    assert isinstance(error, HtlinkError)
    assert address in error.message and "Could not reach" in error.message
    assert error.hint and "dask scheduler" in error.hint and "--scheduler" in error.hint
    assert error.__cause__ is None and error.__suppress_context__
    assert "Traceback" not in capfd.readouterr().err


def test_silent_listener_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """A port that accepts but never speaks Dask does not hang the run."""
    monkeypatch.setattr(scaleout, "CONNECT_TIMEOUT_S", 1.0)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(SchedulerError, match="Could not reach"):
            scaleout.connect(address)
        assert time.monotonic() - started < 10


@pytest.mark.parametrize("address", ["", "   ", "http://127.0.0.1:8786", "tcp://host:notaport"])
def test_malformed_address_is_a_clear_error(address: str) -> None:
    with pytest.raises(SchedulerError) as caught:
        scaleout.connect(address)
    assert caught.value.hint


def test_scheduler_without_workers_is_a_clear_error(
    sources: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    from distributed import LocalCluster

    monkeypatch.setattr(scaleout, "CONNECT_TIMEOUT_S", 1.0)
    a, b = sources
    with LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as empty:
        with pytest.raises(SchedulerError, match="no workers"):
            candidate_pairs(a, b, THRESHOLD, scheduler=empty.scheduler_address)


def test_lost_worker_data_is_resent_and_the_result_unchanged(
    sources: tuple[np.ndarray, np.ndarray], client: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scattered data dies with its worker; the run re-sends it (tasks are pure)."""
    from distributed.client import FutureCancelledError

    real = scaleout._submit_and_gather
    calls = []

    def lose_data_once(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise FutureCancelledError("cross_task-0", reason="scattered data lost")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(scaleout, "_submit_and_gather", lose_data_once)
    a, b = sources
    got = candidate_pairs(a, b, THRESHOLD, chunk_rows=300, scheduler=client)  # type: ignore[arg-type]
    assert len(calls) == 2
    assert_identical(got, expected_cross(a, b, THRESHOLD))


def test_workers_lost_on_every_attempt_is_a_clear_error(
    sources: tuple[np.ndarray, np.ndarray], client: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distributed.client import FutureCancelledError

    def always_lost(*args: object, **kwargs: object) -> object:
        raise FutureCancelledError("cross_task-0", reason="scattered data lost")

    monkeypatch.setattr(scaleout, "_submit_and_gather", always_lost)
    a, b = sources
    with pytest.raises(SchedulerError, match="workers were lost") as caught:
        candidate_pairs(a, b, THRESHOLD, scheduler=client)  # type: ignore[arg-type]
    assert caught.value.hint and caught.value.__cause__ is None


def test_crashing_task_is_a_clear_error(
    sources: tuple[np.ndarray, np.ndarray], client: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distributed.scheduler import KilledWorker

    def killed(*args: object, **kwargs: object) -> object:
        raise KilledWorker("cross_task-0", "tcp://127.0.0.1:1", allowed_failures=3)

    monkeypatch.setattr(scaleout, "_submit_and_gather", killed)
    a, b = sources
    with pytest.raises(SchedulerError, match="crashed Dask workers") as caught:
        candidate_pairs(a, b, THRESHOLD, scheduler=client)  # type: ignore[arg-type]
    assert "memory" in (caught.value.hint or "")


# ------------------------------------------------- unordered results, sorting, progress, LSH


class StopRunError(Exception):
    """What a caller (the hub) raises from a progress callback to cancel a run."""


def pair_rows(got: CandidatePairs) -> list[tuple[int, int, float]]:
    return sorted(zip(got.i.tolist(), got.j.tolist(), got.scores.tolist(), strict=True))


@pytest.mark.parametrize("within", [False, True])
def test_unordered_results_are_the_same_pairs(
    sources: tuple[np.ndarray, np.ndarray], within: bool
) -> None:
    a, b = sources
    other = None if within else b
    ordered = candidate_pairs(a, other, THRESHOLD, within=within, chunk_rows=300)
    unordered = candidate_pairs(a, other, THRESHOLD, within=within, chunk_rows=300, ordered=False)
    assert unordered.compared == ordered.compared
    assert pair_rows(unordered) == pair_rows(ordered)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), max_size=80),
    st.booleans(),
)
def test_sort_pairs_equals_the_lexsort(pairs: list[tuple[int, int]], grouped: bool) -> None:
    """The fast path (rows already grouped by i) and the general one both equal lexsort."""
    if grouped:
        pairs = sorted(pairs, key=lambda p: p[0])  # i grouped, j in any order
    i = np.array([p[0] for p in pairs], dtype=np.int64)
    j = np.array([p[1] for p in pairs], dtype=np.int64)
    scores = np.arange(len(pairs), dtype=np.float64)  # tells equal pairs apart: stability
    order = np.lexsort((j, i))
    got = sort_pairs(i, j, scores)
    for x, y in zip(got, (i[order], j[order], scores[order]), strict=True):
        assert np.array_equal(x, y)


def test_progress_is_called_per_chunk_in_process(sources: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = sources
    calls: list[tuple[int, int]] = []
    candidate_pairs(a, b, THRESHOLD, chunk_rows=300, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]


def test_progress_can_stop_an_in_process_run(sources: tuple[np.ndarray, np.ndarray]) -> None:
    a, _ = sources
    ran: list[int] = []

    def task(chunk: np.ndarray, shared: object, offset: int) -> int:
        ran.append(offset)
        return offset

    def stop_after_two(done: int, total: int) -> None:
        if done == 2:
            raise StopRunError

    with pytest.raises(StopRunError):
        map_chunks(task, a, None, chunk_rows=100, progress=stop_after_two)
    assert ran == [0, 100]


def test_lsh_in_process_equals_the_blocking_module(
    sources: tuple[np.ndarray, np.ndarray],
) -> None:
    from htlink.match.blocking import lsh_pairs, lsh_pairs_within, plan_lsh

    a, b = sources
    plan = plan_lsh(a, b, THRESHOLD, allow_exhaustive=False)
    got = lsh_candidate_pairs(a, b, THRESHOLD, plan)
    i, j, s, stats = lsh_pairs(a, b, THRESHOLD, plan=plan)
    assert_identical(got.pairs, CandidatePairs(i, j, s, stats.candidate_pairs))
    assert len(i) > 400 and stats.candidate_pairs < len(a) * len(b) // 10
    within_plan = plan_lsh(a, None, THRESHOLD, allow_exhaustive=False)
    got = lsh_candidate_pairs(a, None, THRESHOLD, within_plan)
    i, j, s, stats = lsh_pairs_within(a, THRESHOLD, plan=within_plan)
    assert_identical(got.pairs, CandidatePairs(i, j, s, stats.candidate_pairs))


@pytest.mark.parametrize("within", [False, True])
def test_cluster_lsh_equals_in_process(
    sources: tuple[np.ndarray, np.ndarray], client: object, within: bool
) -> None:
    """Band selections on the workers, merged: the same pairs and scores as one run here."""
    from htlink.match.blocking import plan_lsh

    a, b = sources
    other = None if within else b
    plan = plan_lsh(a, other, THRESHOLD, allow_exhaustive=False)
    assert plan.bands >= 2  # so that both workers get a share of the bands
    here = lsh_candidate_pairs(a, other, THRESHOLD, plan)
    calls: list[tuple[int, int]] = []
    there = lsh_candidate_pairs(
        a,
        other,
        THRESHOLD,
        plan,
        scheduler=client,
        progress=lambda d, t: calls.append((d, t)),  # type: ignore[arg-type]
    )
    np.testing.assert_array_equal(there.pairs.i, here.pairs.i)
    np.testing.assert_array_equal(there.pairs.j, here.pairs.j)
    assert there.pairs.scores.tobytes() == here.pairs.scores.tobytes()
    assert there.stats["tasks"] == 2
    # each task counts its own comparisons; a pair colliding in both tasks' bands counts twice
    assert here.pairs.compared <= there.pairs.compared <= 2 * here.pairs.compared
    assert calls == [(0, 2), (1, 2), (2, 2)]


def test_progress_can_cancel_a_cluster_run(
    sources: tuple[np.ndarray, np.ndarray], client: object
) -> None:
    a, b = sources

    def stop(done: int, total: int) -> None:
        if done == 1:
            raise StopRunError

    with pytest.raises(StopRunError):
        candidate_pairs(a, b, THRESHOLD, chunk_rows=100, scheduler=client, progress=stop)  # type: ignore[arg-type]
    # the cluster is left clean and usable
    assert_identical(
        candidate_pairs(a, b, THRESHOLD, chunk_rows=300, scheduler=client),  # type: ignore[arg-type]
        expected_cross(a, b, THRESHOLD),
    )


def test_a_cancelled_error_from_progress_is_not_retried(
    sources: tuple[np.ndarray, np.ndarray], client: object
) -> None:
    """Lost workers raise CancelledError and are retried; a caller's own is not."""
    from concurrent.futures import CancelledError

    a, b = sources
    calls: list[int] = []

    def cancel(done: int, total: int) -> None:
        calls.append(done)
        if done == 1:
            raise CancelledError

    with pytest.raises(CancelledError):
        candidate_pairs(a, b, THRESHOLD, chunk_rows=100, scheduler=client, progress=cancel)  # type: ignore[arg-type]
    assert calls == [0, 1]

"""Candidate pairs in chunks: in-process, or on a Dask distributed cluster.

Comparing source A with source B is split into *tasks*: each task compares a
block of ``chunk_rows`` rows of A with all of B, using the same numba kernel as
:func:`htlink.match.similarities.dice_pairs`, and returns its pairs with
*global* row numbers.  A task is a pure function of (its rows of A, B, the
threshold, its row offset), so where it runs cannot change what it returns.

Determinism guarantee
    :func:`candidate_pairs` returns exactly the pairs, scores and comparison
    count of :func:`~htlink.match.similarities.dice_pairs` (or
    :func:`~htlink.match.similarities.dice_pairs_within` with ``within=True``),
    sorted by ``(i, j)`` -- whatever ``chunk_rows`` is and whether the tasks run
    in this process or on a cluster.  Every pair's score is computed by the same
    arithmetic on the same words, so scores are equal bit for bit, not just
    close.

How the work is split
    * Across sources: B is sorted by popcount once (:func:`prepare`); a task
      takes rows ``offset .. offset + len(chunk)`` of A in their original order.
    * Within one source (de-duplication, pairs ``i < j`` only): the source is
      sorted by popcount once; the task for sorted rows ``start .. stop``
      compares them with sorted rows ``start ..`` (the suffix), because a pair
      with ``j > i`` never reaches back before the chunk.  Indices are mapped
      back to the original rows and returned as ``(min, max)``.

On a cluster (``scheduler=``), the prepared B is sent to every worker once
(``client.scatter(..., broadcast=True)``), the chunks of A are scattered, one
task per chunk is submitted with ``client.map``, and the results are gathered
in task order.  Only CLK words (uint64 arrays), popcounts, row numbers and the
threshold travel to the workers: never row tokens, identifiers or secrets.
CLKs are still sensitive, so the cluster must sit inside the hub's trust
boundary (see ``docs/scale-out.md``).

:func:`map_chunks` is the runner underneath: any pure per-chunk function
(``task(rows[lo:hi], shared, lo)``) runs the same way, in-process or on the
cluster, with results in chunk order.

``dask.distributed`` is imported only when a scheduler is given, so the
package links on one machine with nothing but its own dependencies.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import numpy as np
from numba import njit

from htlink.errors import HtlinkError

# The kernel's buffered driver, shared with dice_pairs so both compute the same
# arithmetic; the tests compare candidate_pairs with dice_pairs to catch any drift.
from htlink.match.similarities import _all_pairs, popcounts

if TYPE_CHECKING:  # pragma: no cover - typing only
    from distributed import Client

    from htlink.match.blocking import LshPlan

DEFAULT_CHUNK_ROWS = 20_000
MIN_AUTO_CHUNK_ROWS = 1_000
TASKS_PER_THREAD = 4
LOST_WORKER_RETRIES = 2
CONNECT_TIMEOUT_S = 5.0


class SchedulerError(HtlinkError):
    """The Dask scheduler cannot be reached or cannot run htlink's tasks."""


class CandidatePairs(NamedTuple):
    """Pairs scoring at least the threshold, sorted by ``(i, j)``.

    Unpacks like the kernel's result: ``i, j, scores, compared = ...``.
    """

    i: np.ndarray  # int64 row numbers in A
    j: np.ndarray  # int64 row numbers in B (in A itself with ``within=True``; i < j)
    scores: np.ndarray  # float64 Dice scores
    compared: int  # pairs the kernel actually compared (after popcount bounds)


@dataclass(frozen=True)
class PreparedSide:
    """One side of a comparison sorted by popcount: what every task needs of it."""

    words: np.ndarray  # (n, words) uint64, C-contiguous, rows sorted by popcount
    pop: np.ndarray  # (n,) int64 popcounts, ascending
    order: np.ndarray  # (n,) int64: sorted row -> original row


def prepare(words: np.ndarray) -> PreparedSide:
    """Sort ``words`` by popcount (stably, as the kernel does) once, for many tasks."""
    pop = popcounts(words)
    order = np.argsort(pop, kind="stable").astype(np.int64, copy=False)
    return PreparedSide(np.ascontiguousarray(words[order]), pop[order], order)


TaskResult = tuple[np.ndarray, np.ndarray, np.ndarray, int]
R = TypeVar("R")
ChunkTask = Callable[[np.ndarray, Any, int], R]


def cross_task(a_chunk: np.ndarray, b: PreparedSide, offset: int, threshold: float) -> TaskResult:
    """Pairs between rows ``offset .. offset + len(a_chunk)`` of A and all of B.

    Returns ``(i, j, scores, compared)`` with global row numbers, in the
    kernel's order (by ``i``, then by B's popcount order).
    """
    a_chunk = np.ascontiguousarray(a_chunk)
    i, j, s, compared = _all_pairs(
        a_chunk, popcounts(a_chunk), b.words, b.pop, float(threshold), False
    )
    return i + offset, b.order[j], s, compared


def within_task(chunk: np.ndarray, side: PreparedSide, offset: int, threshold: float) -> TaskResult:
    """Pairs ``i < j`` within one source for its popcount-sorted rows ``offset ..``.

    ``chunk`` is ``side.words[offset : offset + len(chunk)]``.  It is compared
    with the sorted suffix ``offset ..``: in that frame the chunk's row ``k`` is
    the suffix's row ``k``, so the kernel's "only ``j > i``" rule holds
    unchanged, and no pair with ``j > i`` lies before the suffix.  Returns
    original row numbers as ``(min, max)``.
    """
    chunk = np.ascontiguousarray(chunk)
    stop = offset + len(chunk)
    i, j, s, compared = _all_pairs(
        chunk, side.pop[offset:stop], side.words[offset:], side.pop[offset:], float(threshold), True
    )
    a, b = side.order[i + offset], side.order[j + offset]
    return np.minimum(a, b), np.maximum(a, b), s, compared


def chunk_bounds(n_rows: int, chunk_rows: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` covering ``0 .. n_rows`` in order; the last may be short."""
    if chunk_rows < 1:
        raise HtlinkError(
            f"chunk_rows must be at least 1; got {chunk_rows}.",
            f"Use the default ({DEFAULT_CHUNK_ROWS:,}) or a positive number of rows.",
        )
    return [(start, min(start + chunk_rows, n_rows)) for start in range(0, n_rows, chunk_rows)]


def candidate_pairs(
    a_words: np.ndarray,
    b_words: np.ndarray | None,
    threshold: float,
    *,
    within: bool = False,
    chunk_rows: int | None = None,
    scheduler: str | Client | None = None,
    ordered: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> CandidatePairs:
    """Every pair with Dice >= ``threshold``, computed in chunks of ``chunk_rows`` rows of A.

    ``within=False``: pairs ``(i in A, j in B)``, as
    :func:`~htlink.match.similarities.dice_pairs`.  ``within=True``: pairs
    ``i < j`` inside A (``b_words`` must be None or A itself), as
    :func:`~htlink.match.similarities.dice_pairs_within`.

    ``scheduler``: None runs the tasks here, one after another; a Dask
    scheduler address (``"tcp://10.0.0.5:8786"``) or a connected
    ``distributed.Client`` runs them on that cluster.  The result is the same
    either way, sorted by ``(i, j)``.  An address that cannot be reached raises
    :class:`SchedulerError`.

    ``chunk_rows``: rows of A per task.  None picks :data:`DEFAULT_CHUNK_ROWS`
    in-process, and on a cluster at most that but small enough to give every
    worker thread about :data:`TASKS_PER_THREAD` tasks (so no worker idles
    while another finishes a big last chunk).  It never changes the result.

    ``ordered=False`` skips the final sort by ``(i, j)``: the same pairs, scores and
    count, in task order (for callers that sort them their own way, as the clustering
    does).  ``progress(chunks_done, chunks_total)`` is called after every chunk (as
    :func:`map_chunks`); an exception it raises stops the run and propagates.
    """
    if within:
        if b_words is not None and b_words is not a_words:
            raise HtlinkError(
                "within=True compares one source with itself; b_words must be None.",
                "Call candidate_pairs(words, None, threshold, within=True).",
            )
    elif b_words is None:
        raise HtlinkError(
            "candidate_pairs needs b_words to compare two sources.",
            "Pass B's words, or within=True to de-duplicate one source.",
        )
    a_words = _check_words(a_words, "A")
    b_words = a_words if within else _check_words(b_words, "B")
    if a_words.shape[1] != b_words.shape[1]:
        raise HtlinkError(
            f"The two sources have encodings of different lengths ({a_words.shape[1] * 64} and "
            f"{b_words.shape[1] * 64} bits, rounded up to 64).",
            "Both sources must be encoded with the project's schema.",
        )
    if len(a_words) == 0 or len(b_words) == 0:
        return _merge([])
    prepared = prepare(b_words)  # for within, A itself
    if within:
        task, rows = partial(within_task, threshold=float(threshold)), prepared.words
    else:
        task, rows = partial(cross_task, threshold=float(threshold)), a_words
    results = map_chunks(
        task, rows, prepared, chunk_rows=chunk_rows, scheduler=scheduler, progress=progress
    )
    return _merge(results, ordered=ordered)


class LshCandidates(NamedTuple):
    """The pairs of an LSH-blocked run (sorted by ``(i, j)``) and what it did (counts only)."""

    pairs: CandidatePairs
    stats: dict[str, Any]


def lsh_band_task(
    bands: np.ndarray,
    shared: tuple[np.ndarray, np.ndarray | None, LshPlan],
    offset: int,
    threshold: float,
    max_bucket: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """One cluster task of an LSH run: the plan's bands ``offset .. offset + len(bands)``.

    ``shared`` is ``(a_words, b_words, plan)``, with ``b_words=None`` for pairs within
    A.  Runs on one thread (the cluster runs tasks side by side) and returns the pairs
    found through these bands, sorted by ``(i, j)``, and the run's counts; oversized
    buckets are counted, and reported once by the caller rather than warned about on
    the worker.
    """
    from htlink.match.blocking import OversizedBucketWarning, lsh_pairs, lsh_pairs_within

    a_words, b_words, plan = shared
    selected = plan.select(slice(offset, offset + len(bands)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OversizedBucketWarning)
        if b_words is None:
            i, j, s, stats = lsh_pairs_within(
                a_words, threshold, plan=selected, max_bucket=max_bucket, workers=1
            )
        else:
            i, j, s, stats = lsh_pairs(
                a_words, b_words, threshold, plan=selected, max_bucket=max_bucket, workers=1
            )
    counts = {
        "compared": stats.candidate_pairs,
        "skipped_buckets": stats.skipped_buckets,
        "skipped_probes": stats.skipped_probes,
        "skipped_pairs": stats.skipped_pairs,
    }
    return i, j, s, counts


def lsh_candidate_pairs(
    a_words: np.ndarray,
    b_words: np.ndarray | None,
    threshold: float,
    plan: LshPlan,
    *,
    max_bucket: int | None = None,
    scheduler: str | Client | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LshCandidates:
    """The pairs that :func:`~htlink.match.blocking.lsh_pairs` finds with ``plan``, here or on Dask.

    ``b_words=None`` de-duplicates A (:func:`~htlink.match.blocking.lsh_pairs_within`).
    In-process the whole plan runs on this machine's threads.  On a cluster the
    plan's bands are split into one selection per worker thread
    (:meth:`~htlink.match.blocking.LshPlan.select`); each task builds its own bands'
    indexes and probes all rows, and the tasks' pairs are merged with
    :func:`~htlink.match.blocking.union_pairs`.  Pairs and scores are identical either
    way (sorted by ``(i, j)``); ``compared`` counts the comparisons actually made, so it
    can be larger on a cluster (a pair colliding in the bands of two tasks is compared
    by both).  Both sides' encodings go to every worker.
    """
    from htlink.match.blocking import (
        DEFAULT_MAX_BUCKET,
        OversizedBucketWarning,
        lsh_pairs,
        lsh_pairs_within,
        union_pairs,
    )

    max_bucket = DEFAULT_MAX_BUCKET if max_bucket is None else int(max_bucket)
    a_words = _check_words(a_words, "A")
    within = b_words is None
    side = a_words if b_words is None else _check_words(b_words, "B")
    counts = {"skipped_buckets": 0, "skipped_probes": 0, "skipped_pairs": 0}
    if len(a_words) == 0 or len(side) == 0:
        return LshCandidates(_merge([]), {"tasks": 0, **counts})
    if scheduler is None:
        if within:
            i, j, s, stats = lsh_pairs_within(
                a_words, threshold, plan=plan, max_bucket=max_bucket, progress=progress
            )
        else:
            i, j, s, stats = lsh_pairs(
                a_words, side, threshold, plan=plan, max_bucket=max_bucket, progress=progress
            )
        counts = {k: int(getattr(stats, k)) for k in counts}
        pairs = CandidatePairs(i, j, s, int(stats.candidate_pairs))
        return LshCandidates(pairs, {"tasks": 0, **counts})
    with scheduler_client(scheduler) as client:
        assert client is not None
        threads = _require_workers(client)
        per_task = max(1, -(-plan.bands // threads))
        task = partial(lsh_band_task, threshold=float(threshold), max_bucket=max_bucket)
        results = map_chunks(
            task,
            np.arange(plan.bands, dtype=np.int64),
            (a_words, None if within else side, plan),
            chunk_rows=per_task,
            scheduler=client,
            progress=progress,
        )
    i, j, s = union_pairs([r[:3] for r in results], len(side))
    for r in results:
        for k in counts:
            counts[k] += int(r[3][k])
    compared = sum(int(r[3]["compared"]) for r in results)
    if counts["skipped_probes"]:
        warnings.warn(
            f"LSH blocking skipped {counts['skipped_probes']:,} probes into "
            f"{counts['skipped_buckets']:,} buckets larger than max_bucket={max_bucket:,} "
            f"({counts['skipped_pairs']:,} comparisons not made).",
            OversizedBucketWarning,
            stacklevel=2,
        )
    return LshCandidates(CandidatePairs(i, j, s, compared), {"tasks": len(results), **counts})


def map_chunks(
    task: ChunkTask[R],
    rows: np.ndarray,
    shared: Any,
    *,
    chunk_rows: int | None = None,
    scheduler: str | Client | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[R]:
    """``[task(rows[lo:hi], shared, lo) for each chunk]``, here or on a Dask cluster.

    The building block of :func:`candidate_pairs`, for any pure per-chunk
    computation (for example a blocked comparison with one shared plan):
    ``task`` must be importable on the workers (a module-level function of
    htlink, or a ``functools.partial`` of one), and ``shared`` is sent to every
    worker once.  Results come back in chunk order whatever ran them.

    ``chunk_rows``: rows per task.  None picks :data:`DEFAULT_CHUNK_ROWS`
    in-process, and on a cluster at most that but small enough to give every
    worker thread about :data:`TASKS_PER_THREAD` tasks (so no worker idles
    while another finishes a big last chunk).  ``scheduler`` as in
    :func:`candidate_pairs`.

    ``progress(chunks_done, chunks_total)`` is called once with 0 done, then after
    every chunk that finishes (on a cluster, in the order they finish).  If it raises,
    the remaining chunks are not run (on a cluster: cancelled) and the exception
    propagates -- a caller's way to stop a run.
    """
    if scheduler is None:
        size = DEFAULT_CHUNK_ROWS if chunk_rows is None else chunk_rows
        bounds = chunk_bounds(len(rows), size)
        results = []
        if progress is not None:
            progress(0, len(bounds))
        for done, (lo, hi) in enumerate(bounds, start=1):
            results.append(task(rows[lo:hi], shared, lo))
            if progress is not None:
                progress(done, len(bounds))
        return results
    with scheduler_client(scheduler) as client:
        assert client is not None
        threads = _require_workers(client)
        size = auto_chunk_rows(len(rows), threads) if chunk_rows is None else chunk_rows
        bounds = chunk_bounds(len(rows), size)
        if progress is not None:
            progress(0, len(bounds))
        if not bounds:
            return []
        return _run_on_cluster(client, task, rows, shared, bounds, progress)


def auto_chunk_rows(n_rows: int, threads: int) -> int:
    """Rows per task on a cluster with ``threads`` worker threads in all.

    At most :data:`DEFAULT_CHUNK_ROWS` (bounded task memory), at least
    :data:`MIN_AUTO_CHUNK_ROWS` (bounded scheduling overhead), and otherwise
    about :data:`TASKS_PER_THREAD` tasks per thread.
    """
    balanced = -(-n_rows // max(1, threads * TASKS_PER_THREAD))
    return max(1, min(DEFAULT_CHUNK_ROWS, max(MIN_AUTO_CHUNK_ROWS, balanced)))


def _run_on_cluster(
    client: Client,
    task: ChunkTask[R],
    rows: np.ndarray,
    shared: Any,
    bounds: list[tuple[int, int]],
    progress: Callable[[int, int], None] | None = None,
) -> list[R]:
    """Run one task per chunk on ``client``; the results in chunk order.

    Scattered data cannot be recomputed, so if a worker dies holding some of
    it the whole submission is re-sent (up to :data:`LOST_WORKER_RETRIES`
    times); tasks are pure, so a retry gives the same result.
    """
    from concurrent.futures import CancelledError

    from distributed.scheduler import KilledWorker

    for attempt in range(LOST_WORKER_RETRIES + 1):
        try:
            return _submit_and_gather(client, task, rows, shared, bounds, progress)
        except _StoppedError as stopped:
            raise stopped.error from None
        except KilledWorker:
            raise SchedulerError(
                "A matching task crashed Dask workers repeatedly (usually: out of memory).",
                "Give the workers more memory (dask worker --memory-limit) or use smaller "
                "chunks, then re-run.",
            ) from None
        except CancelledError:  # data lost with a worker that died
            if attempt == LOST_WORKER_RETRIES:
                raise SchedulerError(
                    f"Dask workers were lost during the run ({attempt + 1} attempts).",
                    "Check the workers' logs and memory, then re-run; nothing was written.",
                ) from None
        except ImportError as exc:  # names a module, never data
            raise SchedulerError(
                f"The Dask workers cannot import {exc.name or 'htlink'}.",
                "Install the same htlink version in every worker's environment "
                "(pip install htlink), then restart the workers.",
            ) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _submit_and_gather(
    client: Client,
    task: ChunkTask[R],
    rows: np.ndarray,
    shared: Any,
    bounds: list[tuple[int, int]],
    progress: Callable[[int, int], None] | None = None,
) -> list[R]:
    """Send ``shared`` to every worker and the chunks to some, map, gather in order.

    With ``progress``, it is told of every task that finishes; if it raises, every
    task still pending is cancelled and the exception propagates.
    """
    # hash=False: fresh keys on every attempt, never a half-forgotten earlier one.
    shared_future = client.scatter(shared, broadcast=True, hash=False)
    chunks = client.scatter([np.ascontiguousarray(rows[lo:hi]) for lo, hi in bounds], hash=False)
    futures = client.map(task, chunks, [shared_future] * len(bounds), [lo for lo, _ in bounds])
    if progress is not None:
        from distributed import as_completed

        try:
            for done, _ in enumerate(as_completed(futures, loop=client.loop), start=1):
                progress(done, len(futures))
        except BaseException as exc:  # the caller's to handle, never a reason to retry
            client.cancel([*futures, *chunks, shared_future])
            raise _StoppedError(exc) from None
    return client.gather(futures)  # type: ignore[no-any-return]


class _StoppedError(Exception):
    """Carries an exception raised by a progress callback past the retry logic."""

    def __init__(self, error: BaseException) -> None:
        super().__init__("stopped by the progress callback")
        self.error = error


def _require_workers(client: Client, timeout: float | None = None) -> int:
    """Worker threads on the cluster; refuse one without workers rather than wait forever."""
    timeout = CONNECT_TIMEOUT_S if timeout is None else timeout
    threads = sum(client.nthreads().values())
    if threads:
        return threads
    try:
        client.wait_for_workers(1, timeout=timeout)
    except (TimeoutError, OSError):
        raise SchedulerError(
            f"The Dask scheduler has no workers (waited {timeout:g} s).",
            "Start at least one worker with `dask worker SCHEDULER_ADDRESS` on a machine "
            "inside the hub's trust boundary, or leave out --scheduler.",
        ) from None
    return max(1, sum(client.nthreads().values()))


@contextmanager
def scheduler_client(scheduler: str | Client | None) -> Iterator[Client | None]:
    """A Dask client for ``scheduler``, for the duration of a ``with`` block.

    None yields None (run in-process).  A ``distributed.Client`` is yielded
    as is and left open.  An address is connected to (within
    :data:`CONNECT_TIMEOUT_S` seconds) and the connection is closed at the end;
    open one client this way and pass it to several :func:`candidate_pairs`
    calls to connect only once.
    """
    if scheduler is None:
        yield None
        return
    if not isinstance(scheduler, str):
        yield scheduler
        return
    client = connect(scheduler)
    try:
        yield client
    finally:
        client.close()


def connect(address: str, timeout: float | None = None) -> Client:
    """Connect to the Dask scheduler at ``address``; :class:`SchedulerError` if that fails.

    ``timeout`` defaults to :data:`CONNECT_TIMEOUT_S` seconds.
    """
    timeout = CONNECT_TIMEOUT_S if timeout is None else timeout
    address = address.strip()
    hint = (
        "Start it with `dask scheduler` and at least one `dask worker ADDRESS`, check the "
        "address and port (default 8786), any firewall and, for tls://, the TLS settings "
        "(docs/scale-out.md); or leave out --scheduler to run on this machine."
    )
    if not address:
        raise SchedulerError("The Dask scheduler address is empty.", hint)
    try:
        from distributed import Client
        from distributed.security import Security
    except ImportError:
        raise SchedulerError(
            "Running on a Dask cluster needs the `distributed` package.",
            "Install it with pip install 'dask[distributed]', or leave out --scheduler.",
        ) from None
    try:  # TLS files from Dask's configuration, if any (see docs/scale-out.md)
        security = Security()
    except (OSError, ValueError) as exc:
        raise SchedulerError(
            f"Dask's TLS configuration cannot be used ({type(exc).__name__}).",
            "Check the distributed.comm.tls settings (or DASK_DISTRIBUTED__COMM__TLS__* "
            "variables): each file must exist and be readable.",
        ) from None
    try:
        _probe(address, timeout, security.get_connection_args("client"))
    except TypeError:  # distributed's way of saying "tls:// without a TLS context"
        raise SchedulerError(
            f"The scheduler at {address} needs TLS, and no usable TLS client certificate is "
            "configured.",
            "Set distributed.comm.tls.ca-file, .client.cert and .client.key in Dask's "
            "configuration (or the DASK_DISTRIBUTED__COMM__TLS__* variables); see "
            "docs/scale-out.md.",
        ) from None
    except ValueError:
        raise SchedulerError(
            f"{address!r} is not a Dask scheduler address.",
            "Give it as tcp://HOST:PORT, for example tcp://10.0.0.5:8786.",
        ) from None
    except (OSError, TimeoutError) as exc:
        raise SchedulerError(
            f"Could not reach the Dask scheduler at {address} within {timeout:g} s "
            f"({type(exc).__name__}).",
            hint,
        ) from None
    try:
        return Client(address, timeout=timeout, set_as_default=False, security=security)
    except (OSError, TimeoutError, ValueError) as exc:  # went away since the probe
        raise SchedulerError(
            f"Could not connect to the Dask scheduler at {address} ({type(exc).__name__}).",
            hint,
        ) from None


def _probe(address: str, timeout: float, connection_args: dict[str, object]) -> None:
    """Open and close one connection to ``address``, or raise.

    Done before making a ``Client`` because a ``Client`` whose constructor
    failed prints a traceback to stderr when it is garbage-collected.  Runs on
    a private event loop in a helper thread, so it also works when the caller
    is itself inside an event loop (the hub).
    """
    from distributed.comm import connect as comm_connect

    async def open_and_close() -> None:
        comm = await asyncio.wait_for(
            comm_connect(address, timeout=timeout, **connection_args), timeout
        )
        await comm.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, open_and_close()).result()


def _check_words(words: np.ndarray, name: str) -> np.ndarray:
    """``words`` as a C-contiguous 2-D uint64 array, as the kernel needs (no copy if it is)."""
    words = np.asarray(words)
    if words.ndim != 2 or words.dtype != np.uint64:
        raise HtlinkError(
            f"Source {name}'s encodings are a {words.ndim}-D {words.dtype} array, not the "
            "(rows, words) uint64 array the kernel compares.",
            "Convert the CLK bytes with htlink.match.similarities.as_words first.",
        )
    return np.ascontiguousarray(words)


def _merge(results: list[TaskResult], ordered: bool = True) -> CandidatePairs:
    """Concatenate task results in task order, then (``ordered``) sort by ``(i, j)``."""
    if not results:
        return CandidatePairs(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), 0)
    i, j, s = (
        np.asarray(results[0][k] if len(results) == 1 else np.concatenate([r[k] for r in results]))
        for k in range(3)
    )
    i, j = i.astype(np.int64, copy=False), j.astype(np.int64, copy=False)
    s = s.astype(np.float64, copy=False)
    compared = int(sum(int(r[3]) for r in results))
    if ordered:
        i, j, s = sort_pairs(i, j, s)
    return CandidatePairs(i, j, s, compared)


@njit(nogil=True, cache=True)
def _runs_sorted(i: np.ndarray) -> bool:
    for k in range(1, i.shape[0]):
        if i[k] < i[k - 1]:
            return False
    return True


@njit(nogil=True, cache=True)
def _order_within_runs(i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """The stable order by ``j`` inside each run of equal ``i`` (``i`` non-decreasing)."""
    n = i.shape[0]
    order = np.arange(n)
    start = 0
    while start < n:
        stop = start + 1
        while stop < n and i[stop] == i[start]:
            stop += 1
        run = j[start:stop]
        in_order = True
        for k in range(1, stop - start):
            if run[k] < run[k - 1]:
                in_order = False
                break
        if not in_order:
            order[start:stop] = start + np.argsort(run, kind="mergesort")
        start = stop
    return order


def sort_pairs(
    i: np.ndarray, j: np.ndarray, scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs sorted by ``(i, j)``: the order :func:`candidate_pairs` returns.

    Stable, like ``np.lexsort((j, i))``.  Pairs from row chunks of A arrive grouped by
    ``i`` already; then only each row's pairs are sorted (in cache), which is many
    times faster than sorting all of them again.
    """
    i = np.ascontiguousarray(i, dtype=np.int64)
    j = np.ascontiguousarray(j, dtype=np.int64)
    if _runs_sorted(i):
        order = _order_within_runs(i, j)
    else:
        order = np.lexsort((j, i))
    return i[order], j[order], scores[order]


__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "CandidatePairs",
    "LshCandidates",
    "PreparedSide",
    "SchedulerError",
    "auto_chunk_rows",
    "candidate_pairs",
    "chunk_bounds",
    "connect",
    "cross_task",
    "lsh_band_task",
    "lsh_candidate_pairs",
    "map_chunks",
    "prepare",
    "scheduler_client",
    "sort_pairs",
    "within_task",
]

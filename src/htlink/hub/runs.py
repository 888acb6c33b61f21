"""Linkage runs in the background, with progress, cancellation and crash recovery.

A run links the *current* submissions of the chosen agencies with the
project's settings, by calling the same engine as ``htlink match``
(:func:`htlink.match.engine.link_submissions`).  Runs execute on a small thread
pool inside the hub (or, with ``--scheduler``, their comparisons run on a Dask
cluster).  Progress and stage are written to the database about twice a
second; a cancel request is noticed at the next progress report.  Results --
each agency's links -- are written to a staging folder and renamed into place
before the run is marked completed, so a run is either complete or absent.

When the hub starts, any run still marked queued or running was interrupted
by a crash or a kill: it is marked failed (its partial files were never
renamed into place), and every earlier result stays as it was.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select

from htlink.errors import HtlinkError
from htlink.hub import audit, timeutil
from htlink.hub.database import Database
from htlink.hub.models import Project, ProjectAgency, Run, SubmissionRecord
from htlink.hub.settings import HubSettings
from htlink.hub.storage import Storage, move_into_place, remove

log = logging.getLogger("htlink.hub")

ACTIVE = ("queued", "running")
HUB_ACTOR = "hub"


class RunCancelledError(Exception):
    pass


class RunManager:
    def __init__(self, settings: HubSettings, db: Database, storage: Storage) -> None:
        self.settings = settings
        self.db = db
        self.storage = storage
        self._pool = ThreadPoolExecutor(
            max_workers=settings.run_workers, thread_name_prefix="htlink-run"
        )
        self._cancel: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------
    def recover(self) -> int:
        """Mark runs interrupted by a stopped hub as failed; return how many."""
        with self.db.session() as s:
            stale = list(s.scalars(select(Run).where(Run.status.in_(ACTIVE))))
            for run in stale:
                run.status = "failed"
                run.error = "The hub stopped during this run; start the run again."
                run.finished_at = timeutil.now()
                remove(self.storage.run_dir(self._project_name(s, run.project_id), run.id))
                audit.append(
                    s,
                    actor=HUB_ACTOR,
                    action="run.recover",
                    target=f"run:{run.id}",
                    outcome="failed",
                    detail={"reason": "hub_restarted"},
                )
        return len(stale)

    def shutdown(self) -> None:
        with self._lock:
            for event in self._cancel.values():
                event.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- requests ----------------------------------------------------------------------
    def submit(self, run_id: str) -> None:
        with self._lock:
            self._cancel[run_id] = threading.Event()
        self._pool.submit(self._execute, run_id)

    def request_cancel(self, run_id: str) -> None:
        with self._lock:
            event = self._cancel.get(run_id)
        if event is not None:
            event.set()

    # -- execution ---------------------------------------------------------------------
    @staticmethod
    def _project_name(session: Any, project_id: int) -> str:
        return session.get(Project, project_id).name

    def _execute(self, run_id: str) -> None:
        try:
            self._run(run_id)
        except RunCancelledError:
            self._finish(run_id, "cancelled", None, "The run was cancelled.")
        except HtlinkError as exc:
            self._finish(run_id, "failed", None, exc.message)
        except Exception as exc:
            log.error("run %s failed with an internal error (%s)", run_id, type(exc).__name__)
            self._finish(run_id, "failed", None, f"Internal error ({type(exc).__name__}).")
        finally:
            with self._lock:
                self._cancel.pop(run_id, None)

    def _run(self, run_id: str) -> None:
        from htlink.crypto.signing import load_public_key
        from htlink.encode.submission import read_submission
        from htlink.match.engine import link_submissions
        from htlink.match.pseudonyms import load_or_create_project_key
        from htlink.match.similarities import as_words
        from htlink.match.threshold import choose_threshold

        cancel = self._cancel.get(run_id) or threading.Event()
        with self.db.session() as s:
            run = s.get(Run, run_id)
            if run is None or run.status != "queued":
                return
            if run.cancel_requested:
                raise RunCancelledError
            run.status, run.started_at, run.stage = "running", timeutil.now(), "loading"
            project = s.get(Project, run.project_id)
            project_name = project.name
            settings = json.loads(run.settings_json)
            submission_ids = json.loads(run.submissions_json)
            keys = {
                a.name: a.public_key_pem
                for a in s.scalars(
                    select(ProjectAgency).where(ProjectAgency.project_id == project.id)
                )
            }
            subs_meta = [s.get(SubmissionRecord, i) for i in submission_ids]
            folders = [
                (m.agency, self.storage.submission_dir(project_name, m.agency, m.id))
                for m in subs_meta
            ]
        log.info("run %s started: %d agencies", run_id, len(folders))
        reporter = _Progress(self, run_id, cancel)
        submissions = []
        for k, (agency, folder) in enumerate(folders):
            reporter("verifying submissions", k / len(folders))
            submissions.append(read_submission(folder, public_key=load_public_key(keys[agency])))
        threshold = settings["threshold"]
        if threshold == "auto":
            reporter("choosing threshold", 0.0)
            choice = choose_threshold([as_words(x.clks) for x in submissions])
            threshold = choice.threshold
        key, _ = load_or_create_project_key(self.storage.project_key(project_name))
        result = link_submissions(
            submissions,
            float(threshold),
            key,
            deduplicated=set(settings.get("deduplicated", [])),
            min_average=settings.get("min_average"),
            scheduler=self.settings.scheduler,
            blocking=settings.get("blocking", "auto"),
            progress=reporter,
        )
        reporter("writing results", 1.0)
        staged = self.storage.staging()
        try:
            (staged / "links").mkdir()
            for agency, frame in result.links.items():
                # no scores leave the engine: a record's confidence is the Dice score of its
                # best accepted link, i.e. a pair's similarity (issue 7's guard rail)
                table = pa.Table.from_pandas(
                    frame[["row_token", "pseudonym"]], preserve_index=False
                )
                pq.write_table(table, staged / "links" / f"{agency}.parquet", compression="zstd")
            reporter.check()
            move_into_place(staged, self.storage.run_dir(project_name, run_id))
        except BaseException:
            remove(staged)
            raise
        summary = dict(result.summary)
        summary["threshold_rule"] = "auto" if settings["threshold"] == "auto" else "fixed"
        self._finish(run_id, "completed", summary, None)
        log.info("run %s completed", run_id)

    def _finish(
        self, run_id: str, status: str, summary: dict[str, Any] | None, error: str | None
    ) -> None:
        with self.db.session() as s:
            run = s.get(Run, run_id)
            if run is None:
                return
            run.status = status
            run.finished_at = timeutil.now()
            run.error = error
            if summary is not None:
                run.summary_json = json.dumps(summary)
                run.progress = 1.0
                run.stage = "done"
            audit.append(
                s,
                actor=HUB_ACTOR,
                action="run.finish",
                target=f"run:{run_id}",
                outcome=status,
                detail={"people": summary["people"]} if summary else {},
            )
        if status != "completed":
            log.info("run %s ended: %s", run_id, status)

    def report(self, run_id: str, stage: str, fraction: float) -> bool:
        """Store progress; return True when cancellation was requested."""
        with self.db.session() as s:
            run = s.get(Run, run_id)
            if run is None:
                return True
            run.stage = stage[:64]
            run.progress = max(0.0, min(1.0, float(fraction)))
            return bool(run.cancel_requested)


class _Progress:
    """The engine's progress callback: throttled writes, and the cancellation point."""

    def __init__(self, manager: RunManager, run_id: str, cancel: threading.Event) -> None:
        self.manager = manager
        self.run_id = run_id
        self.cancel = cancel
        self._last = 0.0
        self._stage = ""

    def check(self) -> None:
        if self.cancel.is_set():
            raise RunCancelledError

    def __call__(self, stage: str, fraction: float) -> None:
        self.check()
        now = time.monotonic()
        if stage != self._stage or now - self._last >= 0.5:
            self._stage, self._last = stage, now
            if self.manager.report(self.run_id, stage, fraction):
                self.cancel.set()
                raise RunCancelledError


def new_run_id() -> str:
    return secrets.token_hex(8)

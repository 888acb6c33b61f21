"""Helpers shared by the encoding benchmarks: machine facts, the secret, the CLI command line."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from febrl_data import FEATURES, REPO_ROOT

#: A fixed benchmark secret (64 hex digits, 256 bits).  It protects nothing: the data is public.
BENCH_SECRET = hashlib.sha256(b"htlink encoding benchmark - public test secret").hexdigest()


def write_secret(folder: Path) -> Path:
    """Write the benchmark secret as htlink wants it (text file, mode 0600); return its path."""
    path = folder / "secret.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(BENCH_SECRET + "\n")
    path.chmod(0o600)
    return path


def cli_encode_command(
    htlink: Path, schema: Path, secret: Path, data: Path, out: Path, workers: int
) -> list[str]:
    """``htlink encode`` for a FEBRL-shaped CSV whose columns are named like the features."""
    maps = [item for name in FEATURES for item in ("--map", f"{name}={name}")]
    return [
        str(htlink), "encode",
        "--schema", str(schema),
        "--secret", str(secret),
        "--input", str(data),
        *maps,
        "--id-column", "rec_id",
        "--agency", "benchmark",
        "--out", str(out),
        "--workers", str(workers),
        "--quiet",
    ]  # fmt: skip


def utc_now() -> str:
    """The current time, ISO 8601 UTC, to the second."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def machine_info(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the figures depend on: CPUs, memory, interpreter and library versions."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_total = None
    try:
        mem_total = int(Path("/proc/meminfo").read_text().split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": model,
        "memory_bytes": mem_total,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "pandas": _version("pandas"),
        "pyarrow": _version("pyarrow"),
        "htlink": _version("htlink"),
    }
    info.update(extra or {})
    return info


def git_state() -> dict[str, Any]:
    """The commit measured, and whether ``src/`` had uncommitted changes (others edit it)."""

    def git(*cmd: str) -> str:
        proc = subprocess.run(
            ["git", "-C", str(REPO_ROOT), *cmd], capture_output=True, text=True, check=False
        )
        return proc.stdout.strip()

    dirty = bool(git("status", "--porcelain", "src"))
    return {"commit": git("rev-parse", "HEAD"), "src_dirty": dirty}


def display_path(path: Path) -> str:
    """``path`` relative to the repository root when it lies inside it."""
    path = path.resolve()
    return str(path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path)


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (other work on the machine skews timings)."""
    return [round(x, 2) for x in os.getloadavg()]

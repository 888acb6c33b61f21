"""What the hub operator configures: where data lives, which database, limits."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from htlink.errors import HtlinkError

DEFAULT_MAX_UPLOAD_BYTES = 8 << 30  # 8 GiB: about 50 million 1024-bit encodings
DEFAULT_MAX_RECORDS = 50_000_000
DATABASE_FILE = "hub.sqlite3"


class HubConfigError(HtlinkError):
    """The hub cannot start with these settings."""


@dataclass(frozen=True)
class HubSettings:
    data_dir: Path
    database_url: str
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_records: int = DEFAULT_MAX_RECORDS
    scheduler: str | None = None  # Dask scheduler address for runs; None = in-process
    run_workers: int = 1  # runs executed at the same time

    @classmethod
    def create(
        cls,
        data_dir: str | Path,
        database_url: str | None = None,
        **options: object,
    ) -> HubSettings:
        data = Path(data_dir).resolve()
        url = database_url or os.environ.get("HTLINK_HUB_DATABASE_URL") or sqlite_url(data)
        return cls(data_dir=data, database_url=url, **options)  # type: ignore[arg-type]


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{Path(data_dir) / DATABASE_FILE}"

"""Fixtures for hub tests: every test that takes ``db_url`` runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hub.hubtools import LiveHub, create_postgres_database, start_live_hub


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for SQLite in the data directory; a fresh PostgreSQL database otherwise."""
    if request.param == "sqlite":
        yield None
        return
    url, drop = create_postgres_database()
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def live_hub(tmp_path: Path, db_url: str | None) -> Iterator[LiveHub]:
    hub = start_live_hub(tmp_path / "hubdata", db_url)
    try:
        yield hub
    finally:
        hub.stop()

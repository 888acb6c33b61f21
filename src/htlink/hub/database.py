"""Database connection and migrations: SQLite under the data directory by default,
PostgreSQL in production (``--database-url postgresql://...``).  The schema is
created and upgraded by Alembic (``htlink/hub/migrations``) whenever the hub
starts, so an upgraded htlink upgrades its database in place.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from htlink.hub.settings import HubConfigError

MIGRATIONS = Path(__file__).parent / "migrations"


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def _driver_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    try:
        driver_url = _driver_url(url)
    except ArgumentError:
        raise HubConfigError(
            "The database URL is not a URL.",
            "Use sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE.",
        ) from None
    if driver_url.startswith("sqlite"):
        engine = create_engine(driver_url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=FULL")
            cur.close()

        return engine
    if not driver_url.startswith("postgresql"):
        raise HubConfigError(
            f"The hub supports SQLite and PostgreSQL, not {make_url(url).drivername}.",
            "Use sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE.",
        )
    return create_engine(driver_url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def migrate(engine: Engine) -> None:
    """Create or upgrade the hub's tables to the newest revision."""
    cfg = _alembic_config()
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except OperationalError:
        raise HubConfigError(
            f"Cannot reach the hub database at {redacted(str(engine.url))}.",
            "Check that the database server is running and the URL, user and database are right.",
        ) from None


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


class Database:
    """The engine and a session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success, rolled back on any error."""
        with self._sessions() as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()

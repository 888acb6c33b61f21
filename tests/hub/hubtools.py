"""Test tools for the hub: a live hub on loopback, databases, and submissions.

``LiveHub`` runs the real FastAPI app on uvicorn in a thread, listening on a
free loopback port, so tests talk to it over real HTTP.  ``HubProcess`` runs
``htlink hub serve`` as a separate process (for kill tests and log canaries).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
PERSON_SCHEMA = ROOT / "configs" / "schemas" / "person-v1.json"
#: The shipped default (README, scripts/demo.sh): salted by the full date of birth.
DEFAULT_SCHEMA = ROOT / "configs" / "schemas" / "person-v1-salted-dob.json"
POSTGRES_ENV = "HTLINK_TEST_POSTGRES_URL"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- databases ---------------------------------------------------------------------------
def postgres_admin_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(
            f"PostgreSQL tests skipped: {POSTGRES_ENV} is not set (CI sets it; on a machine with "
            "PostgreSQL export e.g. postgresql://postgres@127.0.0.1:5432/test)"
        )
    return url


def create_postgres_database() -> tuple[str, Any]:
    """A fresh, empty PostgreSQL database for one test; returns its URL and a dropper."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin = postgres_admin_url()
    name = "htlink_t_" + secrets.token_hex(6)
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.skip(
            f"PostgreSQL tests skipped: cannot connect to {POSTGRES_ENV} ({exc.__class__.__name__})"
        )
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url, drop


# -- submissions -------------------------------------------------------------------------
@dataclass
class Agency:
    name: str
    key: Any  # Ed25519 private key
    public_pem: str
    key_path: Path | None = None


def make_agency(name: str, folder: Path | None = None) -> Agency:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    path = None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.pub"
        path.write_text(pem)
    return Agency(name=name, key=key, public_pem=pem, key_path=path)


def person_schema() -> Any:
    from htlink.schema import load_schema_file

    return load_schema_file(PERSON_SCHEMA)


def population(n: int, bits: int = 1024, seed: int = 0) -> np.ndarray:
    """``n`` random CLK-like encodings with varied fill (20-45 % of bits set)."""
    rng = np.random.default_rng(seed)
    fill = rng.uniform(0.2, 0.45, size=(n, 1))
    return np.packbits(rng.random((n, bits)) < fill, axis=1)


def noisy(clks: np.ndarray, flips: int, seed: int) -> np.ndarray:
    """Copies of ``clks`` with ``flips`` random bits flipped in each (an agency's typos)."""
    rng = np.random.default_rng(seed)
    bits = np.unpackbits(clks, axis=1)
    rows = np.repeat(np.arange(len(bits)), flips)
    cols = rng.integers(0, bits.shape[1], size=len(rows))
    bits[rows, cols] ^= 1
    return np.packbits(bits, axis=1)


def write_submission(
    folder: Path,
    agency: Agency,
    clks: np.ndarray,
    *,
    fingerprint: str | None = None,
    seed: int = 0,
) -> Path:
    """A signed submission folder exactly as ``htlink encode`` writes one."""
    import json

    from htlink.encode.submission import (
        MANIFEST_FILE,
        build_manifest,
        file_sha256,
        sign_manifest,
        write_encodings,
    )

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + 7919)
    tokens = rng.integers(0, 256, size=(len(clks), 16), dtype=np.uint8)
    enc = folder / "encodings.parquet"
    write_encodings(enc, tokens, clks)
    manifest = build_manifest(
        agency=agency.name,
        schema_fingerprint=fingerprint or person_schema().fingerprint,
        record_count=len(clks),
        bit_length=clks.shape[1] * 8,
        content_hash=file_sha256(enc),
    )
    (folder / MANIFEST_FILE).write_text(json.dumps(sign_manifest(manifest, agency.key), indent=2))
    return folder


# -- a live hub --------------------------------------------------------------------------
@dataclass
class LiveHub:
    url: str
    admin_token: str
    data_dir: Path
    database_url: str
    _server: Any = None
    _thread: threading.Thread | None = None
    clients: list[Any] = field(default_factory=list)

    def client(self, token: str | None = None) -> Any:
        from htlink.hub.client import HubClient

        c = HubClient(self.url, token or self.admin_token)
        self.clients.append(c)
        return c

    def http(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        c = httpx.Client(base_url=self.url, headers=headers, timeout=60)
        self.clients.append(c)
        return c

    def stop(self) -> None:
        for c in self.clients:
            c.close()
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(timeout=30)


def init_hub(data_dir: Path, database_url: str | None) -> tuple[Any, str]:
    """Initialise a hub's data directory and database; return its settings and admin token."""
    from htlink.hub import tokens
    from htlink.hub.app import open_hub
    from htlink.hub.settings import HubSettings

    settings = HubSettings.create(data_dir, database_url)
    hub = open_hub(settings)
    with hub.db.session() as s:
        text, _ = tokens.issue(s, "admin", label="test")
    hub.db.dispose()
    return settings, text


def start_live_hub(data_dir: Path, database_url: str | None, **options: Any) -> LiveHub:
    import uvicorn

    from htlink.hub.app import create_app

    settings, admin = init_hub(data_dir, database_url)
    if options:
        from dataclasses import replace

        settings = replace(settings, **options)
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the hub did not start")
        time.sleep(0.05)
    return LiveHub(
        url=f"http://127.0.0.1:{port}",
        admin_token=admin,
        data_dir=data_dir,
        database_url=settings.database_url,
        _server=server,
        _thread=thread,
    )


@dataclass
class HubProcess:
    """``htlink hub serve`` in its own process, its output captured to a file."""

    data_dir: Path
    database_url: str | None
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *extra: str) -> None:
        self.log_path = self.data_dir.parent / f"hub-{self.port}-{int(time.time() * 1000)}.log"
        cmd = [
            sys.executable,
            "-m",
            "htlink.cli.main",
            "hub",
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
            *extra,
        ]
        if self.database_url:
            cmd += ["--database-url", self.database_url]
        fh = self.log_path.open("wb")
        self.proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the hub process exited:\n" + self.log_path.read_text())
            try:
                httpx.get(self.url + "/api/v1/whoami", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("the hub process did not start listening")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

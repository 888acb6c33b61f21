"""The synthetic pipeline through a real hub process, driven by the CLI -- then a canary search.

Agencies encode synthetic records with a linkage secret and submit them to
``htlink hub serve`` running as its own process; the operator runs the linkage;
each agency fetches its links, and the links are scored against the truth.
Then the hub's database, data directory and logs are searched for every
synthetic name, date of birth, phone number and address and for the linkage
secret (plain, upper- and lower-case, base64): there must be no hit at all.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pandas as pd
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from htlink.cli.main import app
from htlink.hub.database import Database
from tests.hub.hubtools import DEFAULT_SCHEMA, HubProcess

AGENCIES = ("healthcare", "social_services", "prosecution")
runner = CliRunner()


def cli(*args: str) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def _canaries(world: Path, secret: Path) -> tuple[set[str], set[bytes]]:
    """Identifier values that must never reach the hub, and the secret's forms."""
    words: set[str] = set()
    columns = {
        "healthcare": ["PatientFirst", "PatientLast", "DOB", "Address", "Phone"],
        "social_services": ["child_name", "birth_date", "guardian_address"],
        "prosecution": ["DefendantOrVictimName", "AKA", "DOB"],
    }
    for agency, cols in columns.items():
        frame = pd.read_csv(world / f"{agency}.csv", dtype=str, keep_default_na=False)
        for col in cols:
            for value in frame[col]:
                value = value.strip()
                if len(value) >= 8:
                    words.add(value)  # whole names, dates, phones and addresses
                if "Name" in col or "name" in col or col in ("PatientFirst", "PatientLast", "AKA"):
                    for part in re.split(r"[\s,]+", value):
                        if len(part) >= 7:  # name parts long enough not to occur by chance
                            words.add(part)
                digits = re.sub(r"\D", "", value)
                if col in ("Phone",) and len(digits) >= 10:
                    words.add(digits)
        for col in ("DOB", "birth_date"):
            if col in frame:
                for value in frame[col]:
                    parsed = pd.to_datetime(
                        value, errors="coerce", dayfirst=agency == "prosecution"
                    )
                    if not pd.isna(parsed):
                        words.add(parsed.strftime("%Y-%m-%d"))
    raw = secret.read_text().strip()
    forms = {raw, raw.upper(), raw.lower()}
    secret_bytes = {f.encode() for f in forms}
    for data in (raw.encode(), bytes.fromhex(raw) if re.fullmatch(r"[0-9a-fA-F]+", raw) else b""):
        if data:
            b64 = base64.b64encode(data)
            secret_bytes |= {b64, b64.rstrip(b"="), base64.urlsafe_b64encode(data).rstrip(b"=")}
    return words, secret_bytes


def _haystacks(data_dir: Path, database_url: str, logs: list[Path]) -> dict[str, bytes]:
    stacks = {}
    for path in [*data_dir.rglob("*"), *logs]:
        if path.is_file():
            stacks[str(path)] = path.read_bytes()
    db = Database(database_url)
    with db.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
            stacks[f"db:{table}"] = repr(rows).encode()
    db.dispose()
    return stacks


def test_pipeline_through_the_hub_leaks_nothing(tmp_path: Path, db_url: str | None) -> None:
    world = tmp_path / "world"
    keys = tmp_path / "keys"
    keys.mkdir()
    cli("synth", "--people", "400", "--seed", "3", "--out", world, "--quiet")
    cli("keys", "new", "--out", keys / "linkage.secret")
    for agency in AGENCIES:
        cli("keys", "agency-new", "--out", keys / agency)
        cli("encode", "--schema", DEFAULT_SCHEMA, "--secret", keys / "linkage.secret",
            "--input", world / f"{agency}.csv", "--agency", agency, "--out", tmp_path / agency,
            "--map-file", world / "mappings" / f"{agency}.yaml",
            "--signing-key", keys / f"{agency}.key", "--quiet")  # fmt: skip

    data_dir = tmp_path / "hub"
    init_args = ["hub", "init", "--data-dir", data_dir, "--token-file", tmp_path / "admin.token"]
    if db_url:
        init_args += ["--database-url", db_url]
    cli(*init_args)
    hub = HubProcess(data_dir, db_url)
    hub.start()
    try:
        admin = ["--hub", hub.url, "--token-file", tmp_path / "admin.token"]
        cli("hub", "project", "create", *admin, "--name", "demo", "--schema", DEFAULT_SCHEMA,
            *[a for agency in AGENCIES for a in ("--agency", f"{agency}={keys / agency}.pub")],
            "--threshold", "auto", "--tokens-out", tmp_path / "tokens")  # fmt: skip
        for agency in AGENCIES:
            output = cli(
                "submit",
                tmp_path / agency / "submission",
                "--hub",
                hub.url,
                "--project",
                "demo",
                "--token-file",
                tmp_path / "tokens" / f"{agency}.upload.token",
            )
            assert "accepted" in output
        output = cli("hub", "run", "start", *admin, "--project", "demo", "--wait")
        assert "completed" in output and "people" in output
        for agency in AGENCIES:
            cli("links", "fetch", "--hub", hub.url, "--project", "demo",
                "--token-file", tmp_path / "tokens" / f"{agency}.results.token",
                "--out", tmp_path / "links" / f"{agency}.links.csv")  # fmt: skip
        status = cli("hub", "project", "status", *admin, "--project", "demo")
        assert status.count("submitted") == 3
    finally:
        hub.stop()

    token_maps = [f"{a}={tmp_path / a / 'private' / 'row-tokens.csv'}" for a in AGENCIES]
    cli("evaluate", "--truth", world / "truth.csv",
        "--links", *[tmp_path / "links" / f"{a}.links.csv" for a in AGENCIES],
        *[x for m in token_maps for x in ("--tokens", m)],
        "--out", tmp_path / "evaluation")  # fmt: skip
    metrics = json.loads((tmp_path / "evaluation" / "metrics.json").read_text())
    assert metrics["pairwise"]["all"]["f1"] > 0.7, metrics["pairwise"]["all"]

    audit = cli(
        "hub",
        "audit",
        "verify",
        "--data-dir",
        data_dir,
        *(["--database-url", db_url] if db_url else []),
    )
    assert "intact" in audit

    words, secret_forms = _canaries(world, keys / "linkage.secret")
    assert len(words) > 500  # the canary list is real
    url = db_url or f"sqlite:///{data_dir / 'hub.sqlite3'}"
    stacks = _haystacks(data_dir, url, [hub.log_path])
    assert any(k.endswith("hub.log") for k in stacks) and hub.log_path.stat().st_size > 0
    hits = []
    for where, blob in stacks.items():
        lower = blob.lower()
        for word in words:
            if word.lower().encode() in lower:
                hits.append(f"identifier {word!r} in {Path(where).name}")
        for form in secret_forms:
            if form in blob or form.lower() in lower:
                hits.append(f"secret in {where}")
    assert not hits, sorted(set(hits))[:20]

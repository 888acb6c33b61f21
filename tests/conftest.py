"""Shared fixtures: schemas, secrets and small agency files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PERSON_SCHEMA = ROOT / "configs" / "schemas" / "person-v1.json"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    from htlink.crypto.secret import write_new_secret

    return write_new_secret(tmp_path / "linkage.secret")


@pytest.fixture
def person_csv(tmp_path: Path) -> Path:
    """A tiny agency extract with its own column names and US date format."""
    path = tmp_path / "clinic.csv"
    path.write_text(
        "patient_id,First Name,LAST_NAME,Birth Date,Gender,Zip Code,Phone\n"
        "p1,José,García-López,03/14/1987,F,02134,(617) 555-2368\n"
        "p2,Mary-Ann,O'Brien,12/01/1990,female,02134-1234,617.555.9876\n"
        "p3,Nguyễn,Văn An,07/04/2001,M,,\n"
        "p4,Robert,Smith Jr.,02/30/1980,m,9021,+1 212 555 0147\n"
        "p5,Aisha,Al-Rashid,11/11/1975,x,10001,\n",
        encoding="utf-8",
    )
    return path


PERSON_MAP = [
    "--map", "given_name=First Name",
    "--map", "surname=LAST_NAME",
    "--map", "dob=Birth Date",
    "--map", "sex=Gender",
    "--map", "zip=Zip Code",
    "--map", "phone=Phone",
]  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("HTLINK_TEST", "1")

"""Request and response bodies of the hub's HTTP API (they make the OpenAPI schema)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgencySpec(Strict):
    name: str = Field(pattern=NAME_PATTERN, description="The agency's name in this project.")
    public_key_pem: str = Field(
        max_length=2000, description="The agency's Ed25519 public key (the .pub file)."
    )
    deduplicated: bool = Field(False, description="The agency holds at most one record per person.")


class MatchingSettings(Strict):
    threshold: float | Literal["auto"] = Field(
        "auto", description="Dice threshold in (0, 1], or 'auto' to choose from the data."
    )
    min_average: float | None = Field(
        None, ge=0.0, le=1.0, description="Average-linkage floor (default: the threshold)."
    )
    blocking: Literal["auto", "lsh", "none"] = "auto"


class ProjectCreate(Strict):
    name: str = Field(pattern=NAME_PATTERN)
    linkage_schema: dict[str, Any] = Field(
        description="The linkage schema (JSON); its fingerprint is fixed for the project."
    )
    agencies: list[AgencySpec] = Field(min_length=2, max_length=64)
    matching: MatchingSettings = MatchingSettings()
    token_expiry_days: float | None = Field(
        None, gt=0, description="Agency tokens expire after this many days (default: never)."
    )


class AgencyTokens(BaseModel):
    upload: str
    results: str


class ProjectCreated(BaseModel):
    project: str
    schema_fingerprint: str
    bit_length: int
    tokens: dict[str, AgencyTokens] = Field(
        description="Each agency's tokens. Shown once: the hub keeps only their hashes."
    )


class TokenCreate(Strict):
    role: Literal["upload", "results"]
    agency: str = Field(pattern=NAME_PATTERN)
    expires_in_days: float | None = Field(None, gt=0)
    label: str = Field("", max_length=200)


class TokenInfo(BaseModel):
    id: str
    role: str
    project: str | None
    agency: str | None
    label: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None


class TokenCreated(BaseModel):
    token: str = Field(description="Shown once: the hub keeps only its hash.")
    info: TokenInfo


class SubmissionStatus(BaseModel):
    agency: str
    submitted: bool
    submission_id: str | None = None
    record_count: int | None = None
    received_at: str | None = None
    replaced_count: int = 0


class ProjectStatus(BaseModel):
    project: str
    submissions: list[SubmissionStatus]


class RunCreate(Strict):
    agencies: list[str] | None = Field(
        None, description="Agencies to link (default: all); each needs a current submission."
    )


class RunInfo(BaseModel):
    id: str
    project: str
    status: str
    stage: str
    progress: float
    agencies: list[str]
    settings: dict[str, Any]
    created_at: str
    started_at: str | None
    finished_at: str | None
    error: str | None
    summary: dict[str, Any] | None = Field(
        None, description="Aggregates only: counts per agency pair and cluster size, histogram."
    )


class ProjectInfo(BaseModel):
    name: str
    schema_fingerprint: str
    bit_length: int
    matching: dict[str, Any]
    agencies: list[dict[str, Any]]
    created_at: str


class WhoAmI(BaseModel):
    role: str
    project: str | None
    agency: str | None
    token_id: str


class UploadAccepted(BaseModel):
    submission_id: str
    agency: str
    record_count: int
    replaced: bool


class AuditItem(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    target: str
    outcome: str
    detail: dict[str, Any]

"""The hub's HTTP client, used by ``htlink submit``, ``htlink links fetch`` and ``htlink hub``.

Errors come back as :class:`HubRequestError` (an :class:`~htlink.errors.HtlinkError`)
carrying the hub's stable error code, its message and its hint.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from htlink.encode.submission import ENCODINGS_FILE, read_manifest
from htlink.errors import HtlinkError

UPLOAD_BLOCK = 1 << 20


class HubRequestError(HtlinkError):
    def __init__(self, status: int, code: str, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.status = status
        self.code = code


def _error(response: httpx.Response) -> HubRequestError:
    try:
        err = response.json()["error"]
        return HubRequestError(response.status_code, err["code"], err["message"], err.get("hint"))
    except (ValueError, KeyError, TypeError):
        return HubRequestError(
            response.status_code,
            "http_error",
            f"The hub answered HTTP {response.status_code}.",
        )


class HubClient:
    def __init__(self, url: str, token: str, timeout: float = 120.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url + "/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(timeout, connect=10.0),
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise HtlinkError(
                f"Cannot reach the hub at {self.url} ({type(exc).__name__}).",
                "Check the --hub URL and that the hub is running.",
            ) from None
        if response.status_code >= 400:
            raise _error(response)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._request(method, path, **kwargs).json()

    # identity, projects, tokens
    def whoami(self) -> dict[str, Any]:
        return self._json("GET", "/whoami")

    def create_project(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._json("POST", "/projects", json=body)

    def projects(self) -> list[dict[str, Any]]:
        return self._json("GET", "/projects")

    def status(self, project: str) -> dict[str, Any]:
        return self._json("GET", f"/projects/{project}/status")

    def issue_token(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._json("POST", f"/projects/{project}/tokens", json=body)

    def tokens(self, project: str) -> list[dict[str, Any]]:
        return self._json("GET", f"/projects/{project}/tokens")

    def revoke_token(self, token_id: str) -> dict[str, Any]:
        return self._json("DELETE", f"/tokens/{token_id}")

    # uploads
    def upload(
        self,
        project: str,
        folder: str | Path,
        *,
        replace: bool = False,
        on_bytes: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        """Stream ``folder``'s encodings.parquet with its signed manifest."""
        from htlink.hub.api import b64url_manifest

        folder = Path(folder)
        manifest = read_manifest(folder)
        path = folder / ENCODINGS_FILE
        if not path.is_file():
            raise HtlinkError(f"{folder} has no {ENCODINGS_FILE}.")

        def blocks() -> Iterator[bytes]:
            with path.open("rb") as fh:
                while block := fh.read(UPLOAD_BLOCK):
                    if on_bytes:
                        on_bytes(len(block))
                    yield block

        return self._json(
            "PUT",
            f"/projects/{project}/submissions/{manifest['agency']}",
            params={"replace": "true" if replace else "false"},
            content=blocks(),
            headers={
                "X-Htlink-Manifest": b64url_manifest(manifest),
                "Content-Type": "application/octet-stream",
                "Content-Length": str(os.path.getsize(path)),
            },
        )

    # runs
    def start_run(self, project: str, agencies: list[str] | None = None) -> dict[str, Any]:
        return self._json("POST", f"/projects/{project}/runs", json={"agencies": agencies})

    def runs(self, project: str) -> list[dict[str, Any]]:
        return self._json("GET", f"/projects/{project}/runs")

    def run(self, project: str, run_id: str) -> dict[str, Any]:
        return self._json("GET", f"/projects/{project}/runs/{run_id}")

    def cancel_run(self, project: str, run_id: str) -> dict[str, Any]:
        return self._json("POST", f"/projects/{project}/runs/{run_id}/cancel")

    def wait_run(
        self,
        project: str,
        run_id: str,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
        interval: float = 0.5,
    ) -> dict[str, Any]:
        while True:
            info = self.run(project, run_id)
            if on_progress:
                on_progress(info)
            if info["status"] not in ("queued", "running"):
                return info
            time.sleep(interval)

    # results and audit
    def fetch_links(self, project: str, out: Path, run_id: str | None = None) -> dict[str, str]:
        """Write the agency's links CSV to ``out`` (atomically); return the run id and rows."""
        params = {"run": run_id} if run_id else {}
        tmp = out.with_name(out.name + ".part")
        try:
            with self._http.stream("GET", f"/projects/{project}/links", params=params) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    raise _error(resp)
                out.parent.mkdir(parents=True, exist_ok=True)
                with tmp.open("wb") as fh:
                    for block in resp.iter_bytes():
                        fh.write(block)
                meta = {
                    "run": resp.headers.get("X-Htlink-Run", ""),
                    "rows": resp.headers.get("X-Htlink-Rows", ""),
                }
        except httpx.TransportError as exc:
            tmp.unlink(missing_ok=True)
            raise HtlinkError(
                f"Cannot reach the hub at {self.url} ({type(exc).__name__}).",
                "Check the --hub URL and that the hub is running.",
            ) from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, out)
        return meta

    def audit(self, after: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        return self._json("GET", "/audit", params={"after": after, "limit": limit})

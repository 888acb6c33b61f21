"""The hub's JSON API (``/api/v1``): who may do what is decided here, per endpoint.

=====================================  =======  ==================  ==================
endpoint                               admin    upload (own agency)  results (own agency)
=====================================  =======  ==================  ==================
GET  /whoami, /openapi.json            yes      yes                 yes
GET  /projects, POST /projects         yes      --                  --
GET  /projects/{p}                     yes      --                  --
GET  /projects/{p}/status              all      own agency only     own agency only
GET/POST /projects/{p}/tokens          yes      --                  --
DELETE /tokens/{id}                    yes      --                  --
PUT  /projects/{p}/submissions/{a}     --       yes                 --
GET/POST /projects/{p}/runs...         yes      --                  --
GET  /projects/{p}/links               --       --                  yes
GET  /audit                            yes      --                  --
=====================================  =======  ==================  ==================

An agency token never sees another agency or project: it gets 403 whether or
not the other project exists.  The operator sees aggregates only and has no
endpoint that returns row-level links.
"""

from __future__ import annotations

from fastapi import APIRouter

from htlink.hub.api import projects, results, runs, submissions, tokens
from htlink.hub.api.auth import hub_of, identify, principal, project_for, refuse, require_admin
from htlink.hub.api.submissions import b64url_manifest
from htlink.hub.api.views import project_status, run_info

router = APIRouter(prefix="/api/v1")
for _module in (projects, tokens, submissions, runs, results):
    router.include_router(_module.router)

__all__ = [
    "b64url_manifest",
    "hub_of",
    "identify",
    "principal",
    "project_for",
    "project_status",
    "refuse",
    "require_admin",
    "router",
    "run_info",
]

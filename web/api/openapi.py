"""The OpenAPI 3 document of /api/v1, generated from the marshmallow schemas by apispec, served at
/api/v1/openapi.json (readable without a token: it holds no data). Each resource module adds its routes
with its `describe(spec)`."""
from __future__ import annotations

from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import current_app
from werkzeug.wrappers import Response

from . import case_commands, cases, operations, processes, tasks
from .base import bp
from .schemas import ErrorSchema

DESCRIBED = (cases.describe, processes.describe, tasks.describe, case_commands.describe, operations.describe)


@cache
def document() -> dict[str, Any]:
    spec = APISpec(title="Tsunagu API", version="1.0.0", openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                   info={"description": "Case management for loneliness and isolation support. Every request "
                                        "sends an API token: `Authorization: Bearer tsunagu_...` (created by "
                                        "an administrator); it acts as its staff member, with the token's roles, "
                                        "under the same access rules and audit as the pages."},
                   servers=[{"url": "/api/v1"}], security=[{"token": []}])
    spec.components.security_scheme("token", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=ErrorSchema)
    for describe in DESCRIBED:
        describe(spec)
    return spec.to_dict()


@bp.get("/openapi.json")
def openapi_document() -> Response:
    return current_app.json.response(document())

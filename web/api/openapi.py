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

# Operations are grouped by the first segment of their path, in this order on the docs page.
TAGS = {"process-definitions": ("Process definitions", "プロセス定義: 新しいケースを開始できる版、キーによる開始"),
        "tasks": ("Tasks", "タスク: 一覧、件数、フォーム、引き受け、完了、担当の変更"),
        "cases": ("Cases", "ケース: 概要、経過、ケースファイル、同意、支援アクション"),
        "message": ("Messages", "メッセージ: 待っているケースへの通知 (Camunda と同じ形)"),
        "incidents": ("Incidents", "インシデント: エラーで止まったケースと再試行"),
        "deployments": ("Deployments", "デプロイ: プロセスパッケージの検証と反映")}


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
    for name, description in TAGS.values():
        spec.tag({"name": name, "description": description})
    document = spec.to_dict()
    for path, methods in document["paths"].items():
        for found in methods.values():
            found["tags"] = [TAGS[path.split("/")[1]][0]]
    return document


@bp.get("/openapi.json")
def openapi_document() -> Response:
    return current_app.json.response(document())

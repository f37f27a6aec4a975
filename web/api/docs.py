"""/api/v1/docs: the OpenAPI document in Swagger UI, whose files come with the `swagger-ui-bundle` package
(installed with Tsunagu, never from a CDN). Readable without a token: it shows the document, no data."""
from __future__ import annotations

from flask import render_template, send_from_directory
from swagger_ui_bundle import swagger_ui_path
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from .base import PUBLIC, bp

ASSETS = {"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"}
# Swagger UI sets inline styles as it draws: this page alone allows them (it holds no data).
DOCS_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
PUBLIC.update({"api.docs", "api.docs_asset"})


@bp.get("/docs")
def docs() -> Response:
    response = Response(render_template("api_docs.html"), mimetype="text/html")
    response.headers["Content-Security-Policy"] = DOCS_POLICY
    return response


@bp.get("/docs/assets/<name>")
def docs_asset(name: str) -> Response:
    if name not in ASSETS:
        raise NotFound()
    return send_from_directory(swagger_ui_path, name, max_age=3600)


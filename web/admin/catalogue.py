"""Administration of the support-action catalogue: add, rename, retire action types and their default owner body."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin_catalogue", __name__)

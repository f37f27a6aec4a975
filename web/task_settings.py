"""Being built (issue 13)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("task_settings", __name__)

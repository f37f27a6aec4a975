"""Being built (issue 13)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("case_migration", __name__)

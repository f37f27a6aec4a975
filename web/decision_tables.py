"""Being built (issue 13)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("decision_tables", __name__)

"""Administration of staff accounts: create, edit roles, organisation and team, deactivate, reset, recovery codes."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin_users", __name__)

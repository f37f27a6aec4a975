"""Administration of member bodies, departments and councils (single or joint) with their coordinating body."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin_organisations", __name__)

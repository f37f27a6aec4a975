"""Administration of security settings: second factor for every staff member, idle timeout."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin_security", __name__)

"""Flask extensions shared by the blueprints, bound to an app in `create_app`."""
from flask_babel import Babel
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from tsunagu.engine import casefile, governance, operations  # noqa: F401  (registers their tables)
from tsunagu.engine.models import Base

db = SQLAlchemy(metadata=Base.metadata)  # engine models stay plain SQLAlchemy
babel = Babel()
csrf = CSRFProtect()

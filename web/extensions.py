"""Flask extensions shared by the blueprints, bound to an app in `create_app`."""
from flask_babel import Babel
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from tsunagu.engine.casefile import governance, tables  # noqa: F401  (registers their tables)
from tsunagu.engine.models import Base
from tsunagu.engine.ops import tables as ops_tables  # noqa: F401  (registers its tables)

db = SQLAlchemy(metadata=Base.metadata)  # engine models stay plain SQLAlchemy
babel = Babel()
csrf = CSRFProtect()

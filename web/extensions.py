"""Flask extensions shared by the blueprints, bound to an app in `create_app`."""
from flask_babel import Babel
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from tsunagu.engine.access import tokens  # noqa: F401  (registers its table)
from tsunagu.engine.casefile import governance, tables  # noqa: F401  (registers their tables)
from tsunagu.engine.models import Base
from tsunagu.engine.ops import tables as ops_tables  # noqa: F401  (registers its tables)

# Engine models stay plain SQLAlchemy. Rows are not expired on commit, as in the engine's own sessions
# (engine/db.py): a page rendered after a command reads what the command wrote without reading it again.
db = SQLAlchemy(metadata=Base.metadata, session_options={"expire_on_commit": False})
babel = Babel()
csrf = CSRFProtect()

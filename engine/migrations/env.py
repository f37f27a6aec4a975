"""Alembic environment: migrations run against the URL the caller configured."""
from alembic import context

from tsunagu.engine.access import tokens  # noqa: F401  (registers its table)
from tsunagu.engine.casefile import governance, tables  # noqa: F401  (registers their tables)
from tsunagu.engine.db import make_engine
from tsunagu.engine.models import Base
from tsunagu.engine.ops import tables as ops_tables  # noqa: F401
from tsunagu.engine.records import tables as records_tables  # noqa: F401

config = context.config
url = config.get_main_option("sqlalchemy.url")
engine = make_engine(url)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()

"""Alembic environment: migrate the engine handed over by `runner.alembic_config`."""

from alembic import context
from sqlmodel import SQLModel

import compliance.models  # noqa: F401  (registers every table in the metadata)

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()

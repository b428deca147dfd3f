"""Alembic driven from code, so `flask db upgrade` needs no alembic.ini beside the app."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

SCRIPT_LOCATION = Path(__file__).resolve().parent


def alembic_config(engine: Engine) -> Config:
    """A config pointing at our scripts, carrying the app's engine to `env.py`."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a new revision from the difference between models and database."""
    command.revision(alembic_config(engine), message=message, autogenerate=True)


def current(engine: Engine) -> None:
    command.current(alembic_config(engine), verbose=False)

"""Alembic migrations; `compliance.migrations.runner` drives them from Flask commands."""

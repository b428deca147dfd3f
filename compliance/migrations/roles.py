"""The service's own PostgreSQL role: everything it needs, and no way to rewrite the log.

Migrations run as the role that owns the tables (only an owner may alter a table or drop
its triggers). The web workers and the worker connect as a second role, granted here:
reading and writing every table except the audit log and the signatures, where it may
only INSERT and SELECT. So even a compromised service cannot UPDATE, DELETE or TRUNCATE an
audit event, a seal or a signature, nor disable the triggers that would refuse it.
"""

from sqlalchemy import Engine, text

from compliance.models.audit import APPEND_ONLY_TABLES

_ROLE_NAME = r"^[a-z_][a-z0-9_]{0,62}$"


def grant_service_role(engine: Engine, role: str) -> list[str]:
    """Grant `role` (which must exist) what the service needs; returns the statements run.
    Run it again after every migration, so that new tables are granted too."""
    if engine.dialect.name != "postgresql":
        raise ValueError("roles exist on PostgreSQL only")
    with engine.begin() as connection:
        if not connection.execute(text("SELECT :role ~ :pattern"),
                                  {"role": role, "pattern": _ROLE_NAME}).scalar():
            raise ValueError(f"not a plain role name: {role!r}")
        if not connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :role"),
                                  {"role": role}).first():
            raise ValueError(f"no role {role!r}: create it first (CREATE ROLE {role} LOGIN)")
        tables = [name for (name,) in connection.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))]
        statements = [
            f'GRANT USAGE ON SCHEMA "{_schema(connection)}" TO {role}',
            f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{_schema(connection)}" TO {role}',
        ]
        for table in tables:
            if table in APPEND_ONLY_TABLES:
                statements += [f'REVOKE ALL ON "{table}" FROM {role}',
                               f'GRANT SELECT, INSERT ON "{table}" TO {role}']
            else:
                statements.append(f'GRANT SELECT, INSERT, UPDATE, DELETE ON "{table}" TO {role}')
        for statement in statements:
            connection.exec_driver_sql(statement)
    return statements


def _schema(connection) -> str:
    return connection.execute(text("SELECT current_schema()")).scalar()

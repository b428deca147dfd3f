"""On PostgreSQL, can the service's own role do its work but never rewrite the audit log,
not even by dropping the triggers that guard it?"""

import uuid

import pytest
import sqlalchemy.exc
from sqlalchemy import create_engine, make_url, text

from compliance.migrations import roles
from tests.conftest import ON_POSTGRES

pytestmark = [pytest.mark.db,
              pytest.mark.skipif(not ON_POSTGRES, reason="database roles are PostgreSQL's")]


@pytest.fixture
def service_engine(engine, database_url):
    """An engine connected as a fresh role granted by `flask db grant-service-role`."""
    role = f"rems_service_{uuid.uuid4().hex[:8]}"
    with engine.begin() as owner:
        owner.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
    roles.grant_service_role(engine, role)
    service = create_engine(make_url(database_url).set(username=role))
    yield service
    service.dispose()
    with engine.begin() as owner:
        owner.exec_driver_sql(f"DROP OWNED BY {role}")
        owner.exec_driver_sql(f"DROP ROLE {role}")


EVENT = ("INSERT INTO audit_event (occurred_at, actor_role, action, object_type, object_id, "
         "summary, request_id, address) VALUES (now(), 'system', 'test.role', 'test', '', "
         "'{}', '', '')")


def test_the_service_role_adds_to_the_log_and_uses_other_tables(service_engine):
    with service_engine.begin() as service:
        service.exec_driver_sql(EVENT)
        assert service.execute(text("SELECT count(*) FROM audit_event")).scalar() >= 1
        service.exec_driver_sql("UPDATE app_user SET name = name")
        service.exec_driver_sql("DELETE FROM login_attempt")


@pytest.mark.parametrize(("statement", "refusal"), [
    ("UPDATE audit_event SET action = 'x'", "permission denied"),
    ("DELETE FROM audit_event", "permission denied"),
    ("TRUNCATE audit_event CASCADE", "permission denied"),
    ("DELETE FROM audit_seal", "permission denied"),
    ("UPDATE signature SET signer_name = 'x'", "permission denied"),
    ("DELETE FROM signature", "permission denied"),
    ("TRUNCATE signature CASCADE", "permission denied"),
    ("ALTER TABLE audit_event DISABLE TRIGGER ALL", "must be owner"),
    ("DROP TRIGGER audit_event_no_change ON audit_event", "must be owner"),
    ("SET session_replication_role = replica", "permission denied"),
])
def test_the_service_role_cannot_rewrite_the_log(service_engine, statement, refusal):
    with pytest.raises(sqlalchemy.exc.DBAPIError, match=refusal), \
            service_engine.begin() as service:
        service.exec_driver_sql(statement)


def test_granting_refuses_an_unknown_or_odd_role(engine):
    with pytest.raises(ValueError, match="no role"):
        roles.grant_service_role(engine, "nobody_here")
    with pytest.raises(ValueError, match="not a plain role name"):
        roles.grant_service_role(engine, "x; DROP TABLE app_user")

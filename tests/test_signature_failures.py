"""Is a wrong password at signing a recorded failure (21 CFR 11.300(d)): audited, counted,
and after five within 15 minutes a lock on signing with a security alert?"""

from datetime import timedelta
from pathlib import Path

import freezegun
import pytest
from sqlalchemy import func, select

from compliance.models import AuditEvent, Course
from compliance.services import monthly, signatures
from compliance.services.errors import Refused
from tests import conftest
from tests.course_helpers import at, build_world


def count(db, action: str) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(AuditEvent)
                     .where(AuditEvent.action == action))


@pytest.mark.parametrize(("wrong", "locked"), [(signatures.FAILURE_LIMIT - 1, False),
                                               (signatures.FAILURE_LIMIT, True)])
def test_wrong_passwords_at_signing_are_audited_and_the_fifth_locks(app, db, factory, wrong,
                                                                    locked):
    with freezegun.freeze_time(at(0)) as clock, app.test_request_context():
        world = build_world(db, factory)
        for n in range(wrong):
            with pytest.raises(Refused) as refused:
                monthly.sign_enrollment(db, course=world.course, patient_user=world.patient_user,
                                        password=f"not it {n}", now=at(0))
            assert "not right" in refused.value.errors["password"]
        assert ("locked" in refused.value.errors["password"]) is locked
        assert count(db, "signature.failed") == wrong
        assert count(db, "security.alert") == int(locked)
        assert db.get(Course, world.course.id).enrollment_signature_id is None
        right = dict(db=db, course=world.course, patient_user=world.patient_user,
                     password=conftest.PASSWORD, now=at(0))
        if locked:
            with pytest.raises(Refused, match="locked for 15 minutes"):
                monthly.sign_enrollment(**right)
            clock.tick(signatures.FAILURE_WINDOW + timedelta(seconds=1))
            right["now"] = at(0) + signatures.FAILURE_WINDOW + timedelta(seconds=1)
        monthly.sign_enrollment(**right)
        db.commit()
        assert db.get(Course, world.course.id).enrollment_signature_id is not None


def test_a_failed_signing_keeps_nothing_of_the_act(app, db, factory):
    """The prescriber's monthly confirmation with a wrong password: no month is opened or
    confirmed, and only the failure is on record."""
    from compliance.models import Cycle
    from tests.course_helpers import qualify

    with freezegun.freeze_time(at(0)), app.test_request_context():
        world = build_world(db, factory)
        qualify(db, world)
        before = db.scalar(select(func.count()).select_from(Cycle))
        with pytest.raises(Refused, match="not right"):
            monthly.confirm_month(db, course=world.course, prescriber_user=world.prescriber_user,
                                  password="wrong", now=at(20))
        db.expire_all()
        assert db.scalar(select(func.count()).select_from(Cycle)) == before
        assert count(db, "signature.failed") == 1


def test_the_lock_emails_every_active_administrator(app, db, factory):
    """The fifth failure writes one security-alert email per active administrator (not to
    a deactivated one), naming the account by number and role, not by name."""
    from compliance.models import OutboxMessage
    from compliance.services import outbox

    with freezegun.freeze_time(at(0)), app.test_request_context():
        admin = factory.user("admin", email="admin.on@example.com")
        factory.user("admin", email="admin.off@example.com", active=False)
        world = build_world(db, factory)
        for n in range(signatures.FAILURE_LIMIT):
            with pytest.raises(Refused):
                monthly.sign_enrollment(db, course=world.course, patient_user=world.patient_user,
                                        password=f"not it {n}", now=at(0))
        db.expire_all()
        alerts = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "security_alert")
                            ).all()
        assert [m.to_address for m in alerts] == [admin.email]
        assert f"account #{world.patient_user.id} (patient)" in alerts[0].context["reason"]
        assert outbox.deliver_due(db, now=lambda: at(0)) >= 1
    [sent] = Path(app.config["MAIL_FOLDER"]).glob("*security_alert.eml")
    body = sent.read_text()
    assert "The service raised a security alert" in body
    assert world.patient_user.name not in body

"""Are pharmacy API keys shown once, stored hashed, dead once revoked or expired, and
settled when the pharmacist who made them is deactivated?"""

from datetime import timedelta

import pytest
from sqlalchemy import select

from compliance.models import ApiKey, AuditEvent
from compliance.services import accounts, api_keys
from tests.course_helpers import at, certified_pharmacy


def test_a_key_is_stored_only_as_a_hash_and_authenticates(app, db, factory):
    """Does the printed key work while the database holds no copy of its secret?"""
    pharmacy = certified_pharmacy(factory)
    with app.test_request_context():
        key = api_keys.create_key(db, pharmacy=pharmacy, name="dispensing system", now=at(0))
    secret = key.secret.split("_", 2)[2]
    row = db.get(ApiKey, key.row.id)
    assert secret not in (row.secret_hash, row.prefix)
    assert api_keys.authenticate(db, key.secret, at(0)).key.id == row.id
    wrong = key.secret[:-1] + ("A" if key.secret[-1] != "A" else "B")
    assert api_keys.authenticate(db, wrong, at(0)) is None
    with app.test_request_context():
        api_keys.revoke_key(db, pharmacy=pharmacy, key_id=row.id, now=at(1))
    assert api_keys.authenticate(db, key.secret, at(1)) is None


def test_operators_create_keys_from_the_command_line(app, db, factory):
    """Does `flask api-keys create` print a working key, and refuse an unknown pharmacy?"""
    pharmacy = certified_pharmacy(factory)
    made = app.test_cli_runner().invoke(
        args=["api-keys", "create", "--ncpdp", pharmacy.ncpdp_id, "--name", "script"])
    assert made.exit_code == 0
    from compliance import clock

    caller = api_keys.authenticate(db, made.output.strip(), clock.now())
    assert caller.pharmacy.id == pharmacy.id
    assert (caller.key.expires_at - caller.key.created_at).days == 365
    unknown = app.test_cli_runner().invoke(
        args=["api-keys", "create", "--ncpdp", "0000000", "--name", "script"])
    assert unknown.exit_code != 0
    assert "no pharmacy" in unknown.output


@pytest.mark.parametrize(("after", "works"), [(timedelta(days=365) - timedelta(seconds=1), True),
                                             (timedelta(days=365), False)])
def test_a_key_stops_working_a_year_after_it_was_made(app, db, factory, after, works):
    pharmacy = certified_pharmacy(factory)
    with app.test_request_context():
        key = api_keys.create_key(db, pharmacy=pharmacy, name="dispensing system", now=at(0))
    assert key.row.expires_at == at(0) + timedelta(days=365)
    assert (api_keys.authenticate(db, key.secret, at(0) + after) is not None) is works


@pytest.mark.parametrize("hand_on", [False, True], ids=["revoked", "handed-on"])
def test_deactivating_the_pharmacist_who_made_a_key_revokes_it_unless_handed_on(
        app, db, factory, hand_on):
    """A departing pharmacist's live keys stop working with them, unless the admin hands
    them to the responsible pharmacist; either way the audit log says which."""
    pharmacy = certified_pharmacy(factory)
    lead = factory.pharmacist(pharmacy, name="Lee Lead")
    leaving = factory.pharmacist(pharmacy, name="Sam Leaving")
    admin = factory.user("admin")
    pharmacy.responsible_pharmacist_id = lead.id
    db.commit()
    with app.test_request_context():
        key = api_keys.create_key(db, pharmacy=pharmacy, name="old system", now=at(0),
                                  created_by=leaving.id)
        assert accounts.key_heir(db, leaving).id == lead.id
        assert accounts.key_heir(db, lead) is None, "nobody to hand the lead's own keys to"
        accounts.set_active(db, user_id=leaving.id, active=False, acting_user_id=admin.id,
                            now=at(1), reason="Left the pharmacy.", hand_keys_on=hand_on)
    db.expire_all()
    row = db.get(ApiKey, key.row.id)
    assert (api_keys.authenticate(db, key.secret, at(2)) is not None) is hand_on
    assert row.created_by_id == (lead.id if hand_on else leaving.id)
    action = db.scalar(select(AuditEvent.action).where(AuditEvent.action.like("api_key.%"))
                       .order_by(AuditEvent.id.desc()))
    assert action == ("api_key.reassigned" if hand_on else "api_key.revoked")

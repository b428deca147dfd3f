"""Are pharmacy API keys shown once, stored hashed, and dead once revoked?"""

from compliance.models import ApiKey
from compliance.services import api_keys
from tests.course_helpers import at, certified_pharmacy


def test_a_key_is_stored_only_as_a_hash_and_authenticates(app, db, factory):
    """Does the printed key work while the database holds no copy of its secret?"""
    pharmacy = certified_pharmacy(factory)
    with app.test_request_context():
        key = api_keys.create_key(db, pharmacy=pharmacy, name="dispensing system", now=at(0))
    secret = key.secret.split("_", 2)[2]
    row = db.get(ApiKey, key.row.id)
    assert secret not in (row.secret_hash, row.prefix)
    assert api_keys.authenticate(db, key.secret).key.id == row.id
    assert api_keys.authenticate(db, key.secret[:-1] + ("A" if key.secret[-1] != "A" else "B")) \
        is None
    with app.test_request_context():
        api_keys.revoke_key(db, pharmacy=pharmacy, key_id=row.id, now=at(1))
    assert api_keys.authenticate(db, key.secret) is None


def test_operators_create_keys_from_the_command_line(app, db, factory):
    """Does `flask api-keys create` print a working key, and refuse an unknown pharmacy?"""
    pharmacy = certified_pharmacy(factory)
    made = app.test_cli_runner().invoke(
        args=["api-keys", "create", "--ncpdp", pharmacy.ncpdp_id, "--name", "script"])
    assert made.exit_code == 0
    assert api_keys.authenticate(db, made.output.strip()).pharmacy.id == pharmacy.id
    unknown = app.test_cli_runner().invoke(
        args=["api-keys", "create", "--ncpdp", "0000000", "--name", "script"])
    assert unknown.exit_code != 0
    assert "no pharmacy" in unknown.output

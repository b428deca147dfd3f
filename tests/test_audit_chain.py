"""Is the audit log tamper-evident: does sealing chain every event, and does verifying name
the first event that was changed, removed or unsealed behind the chain's back?"""

from datetime import UTC, datetime
from itertools import pairwise

import pytest
import sqlalchemy.exc
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from compliance import audit
from compliance.models import AuditEvent, AuditSeal
from compliance.services import audit_chain
from tests.conftest import ON_POSTGRES

KEY = b"test-audit-key"
SEALED_AT = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)


def _events(app, db, count: int, start: int = 0) -> list[int]:
    """`count` events committed one by one (ids in commit order), each with a summary."""
    with app.app_context():
        for n in range(start, start + count):
            audit.record(db, "test.event", "test", n, summary={"n": n, "on": "2026-11-23"})
            db.commit()
    return [n for (n,) in db.execute(text("SELECT id FROM audit_event ORDER BY id"))]


def _seal(db) -> int:
    return audit_chain.seal(db, KEY, now=SEALED_AT)


def _behind_the_triggers(engine, statement: str, params: dict) -> None:
    """Change the log as an intruder with database access would: past the triggers."""
    with engine.begin() as connection:
        if ON_POSTGRES:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            for name in ("audit_event_no_update", "audit_event_no_delete",
                         "audit_seal_no_update", "audit_seal_no_delete"):
                connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        connection.execute(text(statement), params)


def test_sealing_chains_every_event_once(app, db):
    """Every event sealed in id order after the one before; a second run seals nothing."""
    ids = _events(app, db, 5)
    assert _seal(db) == 5
    assert _seal(db) == 0
    seals = db.query(AuditSeal).order_by(AuditSeal.id).all()
    assert [s.event_id for s in seals] == ids
    assert seals[0].prev_hash == audit_chain.GENESIS
    assert all(b.prev_hash == a.event_hash for a, b in pairwise(seals))
    verdict = audit_chain.verify(db, KEY)
    assert verdict.intact and (verdict.sealed, verdict.awaiting) == (5, 0)
    assert verdict.head == (seals[-1].id, seals[-1].event_hash)


def test_new_events_wait_for_the_next_seal(app, db):
    _events(app, db, 3)
    _seal(db)
    _events(app, db, 2, start=3)
    verdict = audit_chain.verify(db, KEY)
    assert verdict.intact and (verdict.sealed, verdict.awaiting) == (3, 2)
    assert _seal(db) == 2
    assert audit_chain.verify(db, KEY).sealed == 5


def test_sealing_in_small_batches_makes_the_same_chain(app, db):
    _events(app, db, 7)
    assert audit_chain.seal(db, KEY, now=SEALED_AT, batch=3) == 7
    assert audit_chain.verify(db, KEY, batch=2).sealed == 7


@pytest.mark.parametrize("change", [
    "UPDATE audit_event SET action = 'test.rewritten' WHERE id = :id",
    "UPDATE audit_event SET summary = '{\"n\": 99}' WHERE id = :id",
    "UPDATE audit_event SET occurred_at = occurred_at + INTERVAL '1 hour' WHERE id = :id"
    if ON_POSTGRES else
    "UPDATE audit_event SET occurred_at = '2020-01-01 00:00:00.000000' WHERE id = :id",
])
def test_a_changed_event_is_named(app, db, engine, change):
    ids = _events(app, db, 5)
    _seal(db)
    _behind_the_triggers(engine, change, {"id": ids[2]})
    verdict = audit_chain.verify(db, KEY)
    assert verdict.broken_event == ids[2] and verdict.sealed == 2
    assert "changed" in verdict.reason


def test_a_removed_event_breaks_the_chain_at_the_next(app, db, engine):
    """Its seal goes with it (the seal refers to it), so the next seal points at nothing."""
    ids = _events(app, db, 5)
    _seal(db)
    _behind_the_triggers(engine, "DELETE FROM audit_seal WHERE event_id = :id", {"id": ids[1]})
    _behind_the_triggers(engine, "DELETE FROM audit_event WHERE id = :id", {"id": ids[1]})
    verdict = audit_chain.verify(db, KEY)
    assert (verdict.broken_event, verdict.sealed) == (ids[2], 1)
    assert "seal before it" in verdict.reason


def test_a_forged_seal_is_found_without_the_key(app, db, engine):
    """Resealing a changed event needs the key: with another key the hash does not match."""
    ids = _events(app, db, 3)
    _seal(db)
    _behind_the_triggers(engine, "UPDATE audit_event SET action = 'test.forged' WHERE id = :id",
                         {"id": ids[0]})
    forged = audit_chain.link(b"not the key", audit_chain.GENESIS,
                              db.get(AuditEvent, ids[0], populate_existing=True))
    _behind_the_triggers(engine, "UPDATE audit_seal SET event_hash = :hash WHERE event_id = :id",
                         {"hash": forged, "id": ids[0]})
    assert audit_chain.verify(db, KEY).broken_event == ids[0]


def test_the_wrong_key_breaks_at_the_first_event(app, db):
    ids = _events(app, db, 2)
    _seal(db)
    verdict = audit_chain.verify(db, b"another key")
    assert (verdict.broken_event, verdict.sealed) == (ids[0], 0)


def test_seals_are_append_only(app, db, engine):
    _events(app, db, 1)
    _seal(db)
    for statement in ("UPDATE audit_seal SET event_hash = 'x'", "DELETE FROM audit_seal"):
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"), \
                engine.begin() as connection:
            connection.execute(text(statement))
    assert audit_chain.verify(db, KEY).sealed == 1


@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite has one writer: no transaction overtakes")
def test_an_event_committed_late_joins_the_end_of_the_chain(app, engine, db):
    """A transaction that took its id before others committed is sealed when it commits."""
    ids = _events(app, db, 2)
    row = {"occurred_at": SEALED_AT, "actor_role": "system", "action": "test.late",
           "object_type": "test", "object_id": "", "summary": {}, "request_id": "",
           "address": ""}
    with Session(engine) as slow:
        late = slow.execute(insert(AuditEvent.__table__).returning(AuditEvent.id), row).scalar()
        ids += _events(app, db, 1, start=2)[2:]
        assert _seal(db) == 3
        slow.commit()
    assert late < ids[-1]
    assert _seal(db) == 1
    verdict = audit_chain.verify(db, KEY)
    assert verdict.intact and (verdict.sealed, verdict.awaiting) == (4, 0)


def test_the_commands_seal_and_verify(app, db, engine):
    """`flask audit seal` then `verify`: intact with the head; broken names the event and
    exits 1."""
    ids = _events(app, db, 3)
    runner = app.test_cli_runner()
    sealed = runner.invoke(args=["audit", "seal"])
    assert sealed.exit_code == 0 and "Sealed 3 audit events" in sealed.output
    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "intact: 3 events sealed, 0 awaiting a seal; head: seal #" in verified.output
    _behind_the_triggers(engine, "UPDATE audit_event SET object_id = 'x' WHERE id = :id",
                         {"id": ids[1]})
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1
    assert f"broken at event #{ids[1]}" in broken.output


@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite has no TRUNCATE")
@pytest.mark.parametrize("statement", ["TRUNCATE audit_event CASCADE",
                                       "TRUNCATE audit_seal", "TRUNCATE app_user CASCADE"])
def test_truncate_cannot_empty_the_log(app, db, engine, statement):
    """TRUNCATE skips row triggers, and CASCADE from a table the log refers to would reach
    it: a statement trigger refuses, and the events stay."""
    _events(app, db, 2)
    _seal(db)
    db.rollback()  # end the session's read, whose lock TRUNCATE would wait for
    with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"), \
            engine.begin() as connection:
        connection.execute(text(statement))
    assert audit_chain.verify(db, KEY).sealed == 2

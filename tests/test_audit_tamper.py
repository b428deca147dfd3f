"""Can an intruder with database access rewrite the audit log unnoticed? Each way of
tampering, done past the append-only triggers: does `verify` (with the anchor outside the
database) name the first bad event, and does the sealer refuse to seal over it, writing a
`security.alert` instead?"""

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from compliance.models import AuditEvent
from compliance.services import audit_chain
from compliance.services.audit_anchor import Anchor
from tests.test_audit_chain import KEY, _behind_the_triggers, _events

NOW_OFFSET = timedelta(minutes=1)


@pytest.fixture
def sealed(app, db, tmp_path):
    """Six events sealed in two runs (heads 4 and 6 in the anchor); returns their ids,
    the anchor and the instant just after."""
    anchor = Anchor(tmp_path / "anchor.jsonl")
    ids = _events(app, db, 4)
    now = _latest(db) + NOW_OFFSET
    assert audit_chain.seal(db, KEY, now=now, anchor=anchor) == 4
    ids = _events(app, db, 2, start=4)
    now = _latest(db) + NOW_OFFSET
    assert audit_chain.seal(db, KEY, now=now, anchor=anchor) == 2
    assert [h.event_id for h in anchor.heads()] == [ids[3], ids[5]]
    assert audit_chain.verify(db, KEY, anchor=anchor, now=now).intact
    return ids, anchor, now


def _latest(db):
    db.expire_all()
    return db.scalar(select(AuditEvent.occurred_at).order_by(AuditEvent.id.desc()).limit(1))


FORGED = ("INSERT INTO audit_event (occurred_at, actor_role, action, object_type, object_id, "
          "summary, request_id, address) VALUES (:occurred_at, 'system', 'test.forged', "
          "'test', '', '{}', '', '')")


def _forge(engine, occurred_at) -> None:
    """An event written straight into the table, dated `occurred_at`."""
    _behind_the_triggers(engine, FORGED, {"occurred_at": occurred_at})


def _tamper(kind: str, engine, ids: list[int], db) -> int:
    """Tamper the log; returns the event `verify` must name."""
    if kind == "field edited":
        _behind_the_triggers(engine, "UPDATE audit_event SET object_id = 'x' WHERE id = :id",
                             {"id": ids[2]})
        return ids[2]
    if kind == "event deleted":  # with its seal (the seal refers to it)
        _behind_the_triggers(engine, "DELETE FROM audit_seal WHERE event_id = :id",
                             {"id": ids[2]})
        _behind_the_triggers(engine, "DELETE FROM audit_event WHERE id = :id", {"id": ids[2]})
        return ids[3]  # its successor's seal now follows nothing
    if kind == "two events swapped":
        _behind_the_triggers(engine, "UPDATE audit_event SET object_id = CASE id WHEN :a "
                             "THEN :b_object ELSE :a_object END WHERE id IN (:a, :b)",
                             {"a": ids[1], "b": ids[3], "a_object": "1", "b_object": "3"})
        return ids[1]
    if kind == "forged event inserted":
        first = db.scalar(select(AuditEvent.occurred_at).where(AuditEvent.id == ids[0]))
        _forge(engine, first - timedelta(days=1))
        db.expire_all()
        return db.scalar(select(AuditEvent.id).where(AuditEvent.action == "test.forged"))
    if kind == "tail cut off":
        for event_id in ids[4:]:
            _behind_the_triggers(engine, "DELETE FROM audit_seal WHERE event_id = :id",
                                 {"id": event_id})
            _behind_the_triggers(engine, "DELETE FROM audit_event WHERE id = :id",
                                 {"id": event_id})
        return ids[5]
    if kind == "seals deleted, events edited":
        _behind_the_triggers(engine, "DELETE FROM audit_seal", {})
        _behind_the_triggers(engine, "UPDATE audit_event SET object_id = 'x' WHERE id = :id",
                             {"id": ids[1]})
        return ids[0]  # from the first event on, nothing is sealed any more
    raise AssertionError(kind)


KINDS = ["field edited", "event deleted", "two events swapped", "forged event inserted",
         "tail cut off", "seals deleted, events edited"]


@pytest.mark.parametrize("kind", KINDS)
def test_verify_names_the_first_bad_event(app, db, engine, sealed, kind):
    ids, anchor, now = sealed
    expected = _tamper(kind, engine, ids, db)
    db.expire_all()
    verdict = audit_chain.verify(db, KEY, anchor=anchor, now=now + audit_chain.LATE_GRACE * 2)
    assert not verdict.intact
    assert verdict.broken_event == expected, verdict.reason
    if kind == "tail cut off":
        assert f"ends at event #{ids[3]}" in verdict.reason and "cut off" in verdict.reason


# What the sealer itself must see before it seals again (it checks since the anchored head:
# an older event changed or removed stays broken for `verify` whatever is sealed after it).
SEALER_REFUSES = ["forged event inserted", "tail cut off", "seals deleted, events edited"]


@pytest.mark.parametrize("kind", SEALER_REFUSES)
def test_the_sealer_refuses_to_seal_over_tampering_and_raises_an_alert(app, db, engine, sealed,
                                                                       kind):
    """A new event arrives after the tampering: the sealer seals nothing, not even it, and
    writes one `security.alert` naming what it found (not one per minute)."""
    ids, anchor, now = sealed
    _tamper(kind, engine, ids, db)
    _events(app, db, 1, start=10)
    later = now + audit_chain.LATE_GRACE * 2
    heads_before = anchor.heads()
    for _ in range(2):
        db.expire_all()
        with pytest.raises(audit_chain.ChainBroken):
            audit_chain.seal(db, KEY, now=later, anchor=anchor)
    assert anchor.heads() == heads_before
    db.expire_all()
    alerts = db.scalars(select(AuditEvent).where(AuditEvent.action == "security.alert")).all()
    assert len(alerts) == 1 and alerts[0].summary["reason"]


@pytest.mark.parametrize("kind", sorted(set(KINDS) - set(SEALER_REFUSES)))
def test_sealing_on_never_hides_an_older_change(app, db, engine, sealed, kind):
    """An event sealed in an earlier run, changed or removed: later events are sealed, and
    `verify` still names the same event."""
    ids, anchor, now = sealed
    expected = _tamper(kind, engine, ids, db)
    _events(app, db, 1, start=10)
    assert audit_chain.seal(db, KEY, now=now, anchor=anchor) == 1
    assert audit_chain.verify(db, KEY, anchor=anchor, now=now).broken_event == expected


def test_a_change_since_the_last_anchored_head_stops_the_sealer(app, db, engine, sealed):
    ids, anchor, now = sealed
    _behind_the_triggers(engine, "UPDATE audit_event SET object_id = 'x' WHERE id = :id",
                         {"id": ids[5]})
    _events(app, db, 1, start=10)
    with pytest.raises(audit_chain.ChainBroken) as refused:
        audit_chain.seal(db, KEY, now=now, anchor=anchor)
    assert refused.value.event_id == ids[5]


def test_a_slow_commit_is_not_taken_for_an_insertion(app, db, engine, sealed):
    """An event dated within the grace before the sealed part (a long transaction) is
    sealed at the end, no alert."""
    _, anchor, now = sealed
    _forge(engine, _latest(db) - audit_chain.LATE_GRACE / 2)
    assert audit_chain.seal(db, KEY, now=now, anchor=anchor) == 1
    assert audit_chain.verify(db, KEY, anchor=anchor, now=now).intact


def test_the_anchor_is_appended_never_rewritten(sealed):
    _, anchor, _ = sealed
    lines = anchor.path.read_text().splitlines()
    assert len(lines) == 2 and all('"hash"' in line for line in lines)


def test_the_command_refuses_and_says_so(app, db, engine, sealed, tmp_path):
    ids, anchor, _ = sealed
    app.config["AUDIT_ANCHOR"] = str(anchor.path)
    app.config["AUDIT_KEY"] = KEY.decode()
    _tamper("seals deleted, events edited", engine, ids, db)
    sealed_again = app.test_cli_runner().invoke(args=["audit", "seal"])
    assert sealed_again.exit_code == 1
    assert "Nothing sealed: the audit log was tampered with" in sealed_again.output
    verified = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert verified.exit_code == 1 and "rewritten" in verified.output
    assert db.execute(text("SELECT count(*) FROM audit_seal")).scalar() == 0


def test_the_last_head_is_read_from_the_end_of_a_long_anchor(tmp_path):
    """The sealer reads only the file's tail: with hundreds of heads, the last is right."""
    from datetime import UTC, datetime

    from compliance.services.audit_anchor import Head

    anchor = Anchor(tmp_path / "long.jsonl")
    at = datetime(2026, 12, 1, tzinfo=UTC)
    for n in range(1, 501):
        anchor.append(Head(n, n * 10, f"{n:064x}"), at)
    assert anchor.last() == Head(500, 5000, f"{500:064x}")
    assert len(anchor.heads()) == 500
    assert Anchor(tmp_path / "none.jsonl").last() is None

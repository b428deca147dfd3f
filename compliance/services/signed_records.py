"""What each kind of signature signs, and the check that every signature still stands on
the record it was made for (21 CFR 11.70: a signature cannot be cut off, copied or moved).

At signing, the signed record's content (the fields the signer attests, in canonical JSON)
is hashed with SHA-256 onto the signature row, which is append-only. `check` then walks
every record that holds a signature: the signature must name that record and kind, and
while the record still stands signed its content must hash to what was signed. A record
changed after signing, or a signature moved to another record, is reported; a record the
service reopened (a patient's answers cleared by a new test) stands unsigned until signed
again, and its earlier signature stays on file.
"""

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from compliance.models import ContraceptionMethod, Course, Cycle, PregnancyTest, Signature

SignedRecord = Course | Cycle


@dataclass(frozen=True)
class Kind:
    """One place a signature is held: the record's column, the record's fields it signs,
    when the record counts as signed, and, for the prescriber's month, the entries."""

    record_type: str
    column: str
    fields: tuple[str, ...]
    stands: Callable[[SignedRecord], bool] = lambda _record: True
    entries: bool = False


TEST_FIELDS = ("id", "kind", "specimen_on", "result", "setting", "sensitivity_miu",
               "entered_at")
METHOD_FIELDS = ("id", "method", "started_on", "entered_at")


def entries(tests: Iterable, methods: Iterable, at: datetime) -> dict:
    """The tests and methods entered by the time of signing, from rows or objects (a later
    correction marks an entry in error and adds a new one; it changes none of these)."""
    def listed(rows: Iterable, fields: tuple[str, ...]) -> list[list]:
        kept = sorted((row for row in rows if row.entered_at <= at), key=lambda row: row.id)
        return [[getattr(row, name) for name in fields] for row in kept]

    return {"tests": listed(tests, TEST_FIELDS), "methods": listed(methods, METHOD_FIELDS)}


def _entries_of(db: Session, course_id: int, at: datetime) -> dict:
    tests = db.execute(select(*(getattr(PregnancyTest, name) for name in TEST_FIELDS))
                       .where(PregnancyTest.course_id == course_id)).all()
    methods = db.execute(select(*(getattr(ContraceptionMethod, name) for name in METHOD_FIELDS))
                         .where(ContraceptionMethod.course_id == course_id)).all()
    return entries(tests, methods, at)


KINDS = {
    "enrollment": Kind("course", "enrollment_signature_id",
                       ("patient_id", "prescriber_id", "program", "enrolled_at")),
    "resume": Kind("course", "resume_signature_id",
                   ("registry_reported_on", "registry_reference")),
    "prescriber_monthly": Kind("cycle", "prescriber_signature_id", ("course_id", "number"),
                               lambda cycle: cycle.prescriber_confirmed_at is not None,
                               entries=True),
    "patient_monthly": Kind("cycle", "patient_signature_id",
                            ("course_id", "number", "quiz_bank_id", "quiz_passed",
                             "patient_confirmed_methods"),
                            lambda cycle: cycle.patient_attested_at is not None),
}
MODELS = {"course": Course, "cycle": Cycle}


def content(db: Session | None, kind: str, record: SignedRecord, at: datetime,
            entered: dict | None = None) -> dict:
    """What a signature of `kind` on `record` at `at` signs; `entered`: the `entries`
    already known (rows built in memory), else they are read from `db`."""
    spec = KINDS[kind]
    signed = {"record": record.id} | {name: getattr(record, name) for name in spec.fields}
    if spec.entries:
        signed |= entered if entered is not None else _entries_of(db, record.course_id, at)
    return signed


def digest(db: Session | None, kind: str, record: SignedRecord, at: datetime,
           entered: dict | None = None) -> str:
    """SHA-256 of the record's signed content as canonical JSON."""
    text = json.dumps(content(db, kind, record, at, entered), sort_keys=True,
                      separators=(",", ":"), default=_plain)
    return hashlib.sha256(text.encode()).hexdigest()


def bind_unbound(db: Session) -> int:
    """Name the record and hash the content of every held signature made without them
    (signatures made before the binding existed, rows loaded in bulk); returns how many.
    Reads only the signed fields, so it runs inside migrations whatever columns come later.
    Not committed; run it before the signature table turns append-only."""
    bound = 0
    for kind_name, kind in KINDS.items():
        model = MODELS[kind.record_type]
        column = getattr(model, kind.column)
        records = db.execute(select(model.id, column, *(getattr(model, f) for f in kind.fields))
                             .join(Signature, Signature.id == column)
                             .where(Signature.record_id.is_(None))).all()
        for record in records:
            signature_id = getattr(record, kind.column)
            signed_at = db.scalar(select(Signature.signed_at).where(Signature.id == signature_id))
            db.execute(update(Signature).where(Signature.id == signature_id).values(
                kind=kind_name, record_type=kind.record_type, record_id=record.id,
                record_hash=digest(db, kind_name, record, signed_at)))
            bound += 1
    return bound


@dataclass(frozen=True)
class Problem:
    signature_id: int
    record: str
    reason: str


def check(db: Session, batch: int = 500) -> list[Problem]:
    """Every signature held by a record, checked against that record."""
    problems = []
    for kind_name, record, signature, entered in _held(db, batch):
        kind = KINDS[kind_name]
        where = f"{kind.record_type} #{record.id}"
        if signature is None:
            problems.append(Problem(getattr(record, kind.column), where,
                                    "the signature it holds does not exist"))
        elif (signature.kind, signature.record_type, signature.record_id) != (
                kind_name, kind.record_type, record.id):
            problems.append(Problem(signature.id, where, _moved(signature, kind_name)))
        elif not signature.record_hash:
            problems.append(Problem(signature.id, where,
                                    "the signature carries no hash of what it signed"))
        elif kind.stands(record) and signature.record_hash != digest(
                db, kind_name, record, signature.signed_at,
                entered and entries(*entered, signature.signed_at)):
            problems.append(Problem(signature.id, where,
                                    "the record was changed after it was signed"))
    return problems


def _held(db: Session, batch: int) -> Iterator[tuple]:
    """(kind, record, signature, its course's tests and methods or None) for every record
    column holding a signature, in batches: a batch's signatures, and for the prescriber's
    month its courses' entries, are each read in one query."""
    for kind_name, kind in KINDS.items():
        model = MODELS[kind.record_type]
        column = getattr(model, kind.column)
        after = 0
        while records := list(db.scalars(select(model).where(
                column.is_not(None), model.id > after).order_by(model.id).limit(batch))):
            wanted = {getattr(record, kind.column) for record in records}
            found = {s.id: s for s in db.scalars(select(Signature).where(
                Signature.id.in_(wanted)))}
            entered = _entries_by_course(db, {r.course_id for r in records}) \
                if kind.entries else {}
            for record in records:
                yield (kind_name, record, found.get(getattr(record, kind.column)),
                       entered.get(record.course_id, ((), ())) if kind.entries else None)
            after = records[-1].id


def _entries_by_course(db: Session, course_ids: set[int]) -> dict[int, tuple[list, list]]:
    by_course: dict[int, tuple[list, list]] = {}
    for model, fields, slot in ((PregnancyTest, TEST_FIELDS, 0),
                                (ContraceptionMethod, METHOD_FIELDS, 1)):
        for row in db.execute(select(model.course_id, *(getattr(model, f) for f in fields))
                              .where(model.course_id.in_(course_ids))):
            by_course.setdefault(row.course_id, ([], []))[slot].append(row)
    return by_course


def _moved(signature: Signature, kind_name: str) -> str:
    if signature.record_id is None:
        return "the signature names no record"
    return (f"the signature was made for {signature.record_type} #{signature.record_id} "
            f"({signature.kind}), not for this record's {kind_name.replace('_', ' ')}")


def _plain(value) -> str:
    return value.isoformat()

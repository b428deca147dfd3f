"""Fill a migrated database with 10,000 patients in a mix of states, for `bench_api.py`.

Rows are built as the services would leave them (signed enrollment, counseling, two
methods, screening and confirmation tests, a month confirmed and attested with the quiz
passed) but inserted in bulk, dated relative to the real clock (the server under load
reads it). Audit events are written for registration, course opening and attestation only:
the size of the log hardly changes the cost of appending to it. Then the daily worklist
refresh runs and its action codes are checked: every "ready" course must come out READY,
or the seed fails.

    DATABASE_URL=sqlite:///bench.db .venv/bin/python bench/seed.py --out DIR

Writes DIR/api_key.txt (a bearer key of the one certified pharmacy) and DIR/bodies.jsonl
(one body of POST /api/v1/rma-requests a line, for bench/rma.lua: every ready patient,
half of the others and a few wrong dates of birth, shuffled).
"""

import argparse
import json
import os
import random
import sys
import time as clock
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from seed_rows import INSERT_ORDER, NOW, READY, Rows, ago, build, day
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from compliance import create_app
from compliance.db import get_engine
from compliance.identifiers import npi_with_check_digit
from compliance.models import (
    ApiKey,
    Course,
    PharmacistProfile,
    Pharmacy,
    User,
)
from compliance.services import api_keys, question_banks, worklist


def setup_pharmacy(db: Session) -> Pharmacy:
    """One certified pharmacy with its responsible pharmacist."""
    pharmacist = User(email="bench-rph@example.com", name="Bench Pharmacist", role="pharmacist")
    db.add(pharmacist)
    db.flush()
    site = Pharmacy(name="Bench Pharmacy", address_line="1 Main Street", city="Albany",
                    state="NY", postal_code="12207", ncpdp_id="7654321",
                    npi=npi_with_check_digit("299999999"), certification_status="certified",
                    certified_on=day(100), certification_expires_on=day(-265),
                    staff_trained_on=day(100), responsible_pharmacist_id=pharmacist.id)
    db.add(site)
    db.flush()
    db.add(PharmacistProfile(user_id=pharmacist.id, pharmacy_id=site.id))
    db.commit()
    return site


def active_bank(db: Session) -> int:
    bank = question_banks.create_version(
        db, program="ipledge", category="can_get_pregnant", now=ago(300),
        questions=question_banks.DEFAULT_IPLEDGE_QUESTIONS)
    question_banks.activate(db, bank=bank, now=ago(300))
    db.commit()
    return bank.id


def insert_all(db: Session, rows: Rows, batch: int = 2000) -> None:
    """Bulk inserts, parents before children, then move id sequences past the ids used."""
    for model in INSERT_ORDER:
        table_rows = rows.tables.get(model, [])
        for first in range(0, len(table_rows), batch):
            db.execute(insert(model), table_rows[first:first + batch])
    db.commit()
    if db.get_bind().dialect.name == "postgresql":
        for model in INSERT_ORDER:
            db.execute(select(func.setval(
                func.pg_get_serial_sequence(model.__tablename__, "id"),
                select(func.max(model.id)).scalar_subquery())))
        db.commit()
        db.execute(text("ANALYZE"))
        db.commit()


def last_ids(db: Session) -> dict[type, int]:
    """The highest id of each table the seed fills (rows made through the services first)."""
    return {model: db.scalar(select(func.coalesce(func.max(model.id), 0)))
            for model in INSERT_ORDER}


def seed(url: str, patients: int, out: Path) -> dict:
    """Fill the database at `url`; write the key and the bodies under `out`; return counts."""
    app = create_app({"ENV_NAME": "testing", "SECRET_KEY": "bench-seed", "DATABASE_URL": url})
    started = clock.perf_counter()
    with app.app_context(), Session(get_engine(app), expire_on_commit=False) as db:
        _require_empty(db)
        site = setup_pharmacy(db)
        bank = active_bank(db)
        key = api_keys.create_key(db, pharmacy=site, name="bench load generator", now=NOW)
        rows, bodies = build(patients, site.id, bank, last_ids(db))
        insert_all(db, rows)
        built = clock.perf_counter() - started
        worklist.refresh_all(db, NOW)
        actions = Counter(db.scalars(select(Course.next_action)))
        by_kind = Counter(kind for kind, _ in bodies)
        ready = sum(by_kind[k] for k in READY)
        if actions["READY"] != ready:
            raise SystemExit(f"seed: {actions['READY']} courses READY, expected {ready}: "
                             f"{dict(actions)}")
    get_engine(app).dispose()
    out.mkdir(parents=True, exist_ok=True)
    (out / "api_key.txt").write_text(key.secret)
    (out / "bodies.jsonl").write_text("".join(json.dumps(body, separators=(",", ":")) + "\n"
                                              for body in request_mix(bodies)))
    return {"patients": patients, "ready": ready, "kinds": dict(by_kind),
            "actions": dict(actions), "insert_s": round(built, 1),
            "total_s": round(clock.perf_counter() - started, 1)}


def _require_empty(db: Session) -> None:
    if db.scalar(select(func.count()).select_from(User)) or \
            db.scalar(select(func.count()).select_from(ApiKey)):
        raise SystemExit("seed: the database is not empty; seed a freshly migrated database")


def request_mix(bodies: list[tuple[str, dict]]) -> list[dict]:
    """Every ready patient, half of the others, and a few wrong dates of birth, shuffled.

    Each ready patient is authorized by its first request; a second request for the same
    patient is denied (CYCLE_ALREADY_AUTHORIZED) after the same locking and reads.
    """
    chooser = random.Random(20261125)  # noqa: S311 (a repeatable mix, not a secret)
    chosen = [body for kind, body in bodies if kind in READY or chooser.random() < 0.5]
    wrong = [dict(body, patient_date_of_birth="1970-01-01")
             for body in chooser.sample(chosen, max(1, len(chosen) // 50))]
    mix = chosen + wrong
    chooser.shuffle(mix)
    return mix


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    print(json.dumps(seed(url, args.patients, args.out)))


if __name__ == "__main__":
    main()

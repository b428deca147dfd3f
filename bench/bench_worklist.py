"""How fast is the prescriber's worklist with 100,000 patients?

Builds a throwaway database (SQLite in a temp directory unless `--no-sqlite`; PostgreSQL
too when TEST_DATABASE_URL is set: its tables are dropped and re-created, so point it at a
test database), loads one prescriber with the patients, their courses in a mix of states,
runs the daily refresh, then times GET /prescriber/ through the Flask test client: page 1,
page 100, page 1 filtered by an action, and page 1 sorted by name. Target: a median under
100 ms for each on PostgreSQL.

    .venv/bin/python bench/bench_worklist.py [--patients 100000] [--repeat 20] [--no-sqlite]
"""

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

from compliance import create_app
from compliance.auth import hash_token
from compliance.db import get_engine
from compliance.models import (
    ContraceptionMethod,
    Course,
    PatientProfile,
    PregnancyTest,
    PrescriberProfile,
    Signature,
    User,
    UserSession,
)
from compliance.services import worklist

NOW = datetime.now(UTC)  # the pages read the real clock
TARGET_MEDIAN_MS = 100.0
TODAY = NOW.date()


def build(app, patients: int) -> None:
    """One prescriber and `patients` patients, each with a course in some state."""
    engine = get_engine(app)
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    with Session(engine) as db:
        doctor = User(email="dr@example.com", name="Dr Bench", role="prescriber",
                      password_hash=None)
        db.add(doctor)
        db.flush()
        db.add(PrescriberProfile(user_id=doctor.id, npi="1234567893", practice_name="Bench",
                                 certification_status="certified",
                                 certified_on=date(2026, 1, 1),
                                 certification_expires_on=date(2028, 1, 1)))
        db.add(Signature(signer_id=doctor.id, signer_name="Patient", meaning="enrollment",
                         signed_at=NOW))
        db.commit()
        users = [{"email": f"p{i}@example.com", "name": f"Patient {i}", "role": "patient",
                  "is_active": True, "created_at": NOW} for i in range(patients)]
        db.execute(insert(User), users)
        db.execute(insert(PatientProfile), [
            {"user_id": i + 2, "prescriber_id": 1, "program_patient_id": f"B{i:09d}",
             "program": "ipledge", "given_name": "Pat", "family_name": _name(i, patients),
             "date_of_birth": date(2000, 1, 1),
             "category": "can_get_pregnant" if i % 3 else "cannot_get_pregnant",
             "category_reason": "bench", "phone": "", "created_at": NOW}
            for i in range(patients)])
        db.execute(insert(Course), [_course(i) for i in range(patients)])
        db.execute(insert(ContraceptionMethod), [
            {"course_id": i + 1, "method": method, "started_on": TODAY - timedelta(days=40),
             "entered_by_id": 1, "entered_at": NOW}
            for i in range(patients) if i % 5 < 3
            for method in ("intrauterine_device", "male_latex_condom")])
        db.execute(insert(PregnancyTest), [_test(i) for i in range(patients) if i % 4 < 2])
        db.commit()


def _name(i: int, patients: int) -> str:
    return f"Name{i * 7919 % patients:05d}"


def _course(i: int) -> dict:
    state = ("suspended" if i % 50 == 0 else "post_treatment" if i % 20 == 1
             else "qualifying" if i % 10 < 7 else "enrolled")
    return {"patient_id": i + 1, "prescriber_id": 1, "program": "ipledge", "state": state,
            "enrolled_at": NOW - timedelta(days=60 + i % 30),
            "enrollment_signature_id": 1 if i % 10 < 7 else None,
            "counseled_on": TODAY - timedelta(days=50) if i % 10 < 8 else None,
            "home_testing_enabled": False, "irregular_cycles": False,
            "last_dose_on": TODAY - timedelta(days=i % 40) if state == "post_treatment"
            else None,
            "suspended_at": NOW if state == "suspended" else None,
            "next_action": "", "next_action_on": None}


def _test(i: int) -> dict:
    return {"course_id": i + 1, "kind": "screening", "specimen_on": TODAY - timedelta(days=i % 25),
            "result": "positive" if i % 50 == 0 else "negative", "setting": "office",
            "laboratory": "", "sensitivity_miu": 25, "verified_by_prescriber": False,
            "entered_by_id": 1, "entered_at": NOW}


def sign_in(app, client) -> None:
    token = secrets.token_urlsafe(32)
    with Session(get_engine(app)) as db:
        db.add(UserSession(token_hash=hash_token(token), user_id=1, created_at=NOW,
                           last_seen_at=NOW))
        db.commit()
    with client.session_transaction() as cookie:
        cookie.permanent = True
        cookie["_user_id"] = token
        cookie["_fresh"] = True


def run(url: str, patients: int, repeat: int) -> None:
    app = create_app({"ENV_NAME": "testing", "TESTING": True, "SECRET_KEY": "bench",
                      "DATABASE_URL": url, "SERVER_NAME": "localhost",
                      "WTF_CSRF_ENABLED": False})
    started = time.perf_counter()
    build(app, patients)
    print(f"\n{url.split(':')[0]}: {patients} patients loaded in "
          f"{time.perf_counter() - started:.1f} s")
    with Session(get_engine(app), expire_on_commit=False) as db, app.app_context():
        started = time.perf_counter()
        count = worklist.refresh_all(db, NOW)
        print(f"  refresh-worklist: {count} courses in {time.perf_counter() - started:.1f} s")
        code = db.execute(text("SELECT next_action FROM course GROUP BY next_action "
                               "ORDER BY count(*) DESC LIMIT 1")).scalar()
    # Statistics and visibility as autovacuum would leave them after a bulk load.
    with get_engine(app).connect().execution_options(isolation_level="AUTOCOMMIT") as raw:
        raw.exec_driver_sql("VACUUM ANALYZE" if raw.dialect.name == "postgresql" else "ANALYZE")
    client = app.test_client()
    sign_in(app, client)
    for label, path in [("page 1", "/prescriber/"), ("page 100", "/prescriber/?page=100"),
                        (f"page 1, action={code}", f"/prescriber/?action={code}"),
                        ("page 1, by name", "/prescriber/?sort=name"),
                        ("page 100, by name", "/prescriber/?sort=name&page=100")]:
        first = client.get(path)
        assert first.status_code == 200, (first.status_code, first.text[:2000])
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        median = statistics.median(timings)
        verdict = "meets" if median < TARGET_MEDIAN_MS else "MISSES"
        print(f"  GET {label:<40} median {median:6.1f} ms   max {max(timings):6.1f} ms   "
              f"{verdict} the target < {TARGET_MEDIAN_MS:.0f} ms")
    get_engine(app).dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--no-sqlite", dest="sqlite", action="store_false")
    args = parser.parse_args()
    if args.sqlite:
        with tempfile.TemporaryDirectory() as folder:
            run(f"sqlite:///{folder}/bench.db", args.patients, args.repeat)
    if os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"):
        run(os.environ["TEST_DATABASE_URL"], args.patients, args.repeat)


if __name__ == "__main__":
    main()

"""Crash durability: SIGKILL gunicorn workers and PostgreSQL backends during RMA and
dispense traffic, then check that nothing acknowledged was lost and nothing is half-written.

On a new PostgreSQL database (TEST_DATABASE_URL, from scripts/with-test-postgres): migrate,
seed patients (bench/seed.py), serve the API with gunicorn (production settings), and send
RMA requests from four pharmacy-system threads, each authorized RMA followed by its fill.
Every call carries an `Idempotency-Key`, and a call that gets no answer (its worker or its
database connection died) or a 5xx/409 is retried with the same key, as a pharmacy system
would. Meanwhile `--kills` times, at random moments, a gunicorn worker or a PostgreSQL
backend serving this database is killed with SIGKILL. A killed backend makes PostgreSQL
end every connection of the cluster and recover, so run this alone, not beside `make test`.

Afterwards, checked against the database:
1. every answer 201 (an RMA decision, a fill) is there as answered (no lost acknowledgement);
2. no operation is half-written: each authorized request has its RMA and each RMA its
   request; each fill has its RMA marked dispensed and the other way round; each request
   and each fill has its audit event;
3. `flask audit seal` then `flask audit verify` pass.

Exits 1 on any violation.

    scripts/with-test-postgres .venv/bin/python bench/crash_test.py [--kills 20]
"""

import argparse
import json
import logging
import os
import queue
import random
import secrets
import signal
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import seed  # noqa: E402
from servers import Server  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from compliance import create_app  # noqa: E402
from compliance.db import make_engine  # noqa: E402
from compliance.migrations.runner import upgrade  # noqa: E402
from compliance.models import AuditEvent, Dispense, Rma, RmaRequest  # noqa: E402

EASTERN = ZoneInfo("America/New_York")
CLIENTS = 4
WORKERS = 4
# A call whose key a killed worker held waits out the key's 60-second lease; a pharmacy
# system retrying for 90 seconds gets every answer.
RETRY_FOR = 90
RNG = random.Random()  # noqa: S311 (kill timing, not a secret)


class Journal:
    """What the service acknowledged, as the pharmacy systems saw it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.decisions: dict[str, dict] = {}  # request id -> the 201 answer
        self.fills: dict[str, dict] = {}  # rma number -> the 201 answer
        self.retries = 0
        self.unanswered = 0  # calls given up on without an answer (never acknowledged)

    def note(self, field: str, key: str, answer: dict) -> None:
        with self.lock:
            getattr(self, field)[key] = answer


def call(base: str, key: str, path: str, body: dict, idempotency: str,
         journal: Journal) -> tuple[int, dict] | None:
    """POST with the same key until an answer that is not a crash's (5xx, 409 in flight,
    no answer at all); None when it never came."""
    data = json.dumps(body).encode()
    deadline = time.monotonic() + RETRY_FOR
    for attempt in range(10_000):
        if time.monotonic() > deadline:
            break
        if attempt:
            with journal.lock:
                journal.retries += 1
            time.sleep(0.25)
        request = urllib.request.Request(base + path, data=data, method="POST", headers={  # noqa: S310
            "Authorization": f"Bearer {key}", "Content-Type": "application/json",
            "Idempotency-Key": idempotency})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as refused:
            payload = refused.read()
            if refused.code >= 500 or (refused.code == 409 and b"in-flight" in payload):
                continue
            return refused.code, json.loads(payload or b"{}")
        except OSError:
            continue
    with journal.lock:
        journal.unanswered += 1
    return None


def pharmacy_system(base: str, key: str, bodies: queue.Queue, journal: Journal) -> None:
    while True:
        try:
            body = bodies.get_nowait()
        except queue.Empty:
            return
        answer = call(base, key, "/api/v1/rma-requests", body, secrets.token_hex(8), journal)
        if answer is None or answer[0] != 201:
            continue
        journal.note("decisions", answer[1]["id"], answer[1])
        if answer[1]["decision"] != "authorized":
            continue
        number = answer[1]["rma_number"]
        fill = {"rma_number": number, "quantity": body["quantity"],
                "days_supply": body["days_supply"], "medication_guide_given": True,
                "dispensed_on": datetime.now(EASTERN).date().isoformat()}
        filled = call(base, key, "/api/v1/dispenses", fill, f"fill-{number}", journal)
        if filled is not None and filled[0] == 201:
            journal.note("fills", number, filled[1])


def killer(server: Server, engine, database: str, kills: int, done: threading.Event,
           tally: dict) -> None:
    """Kill a worker or a backend of this database, `kills` times, 0.2 to 1 s apart."""
    for turn in range(kills):
        if done.wait(RNG.uniform(0.2, 1.0)):
            return
        if turn % 2 == 0 and (workers := server.workers()):
            os.kill(RNG.choice(workers), signal.SIGKILL)
            tally["workers"] += 1
            continue
        try:
            with engine.connect() as connection:
                backends = list(connection.execute(text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = :name "
                    "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"),
                    {"name": database}).scalars())
        except Exception:  # the cluster is still recovering from the last kill
            backends = []
        if backends:
            os.kill(RNG.choice(backends), signal.SIGKILL)
            tally["backends"] += 1
        elif workers := server.workers():
            os.kill(RNG.choice(workers), signal.SIGKILL)
            tally["workers"] += 1
    done.wait()


def check(url: str, journal: Journal, before: dict[str, int]) -> list[str]:
    """Every acknowledgement in the database as answered; nothing made during the traffic
    half-written (the seed's own rows are left out)."""
    problems = []
    engine = make_engine(url)
    with engine.connect() as db:
        requests = {row.id: row for row in db.execute(select(RmaRequest).where(
            RmaRequest.requested_at >= before["started"]))}
        rmas = {row.id: row for row in db.execute(select(Rma).where(Rma.id > before["rma"]))}
        by_number = {row.rma_number: row for row in rmas.values()}
        fills = {row.authorization_id: row for row in db.execute(
            select(Dispense).where(Dispense.id > before["dispense"]))}
        audited = {(row.action, row.object_id) for row in db.execute(
            select(AuditEvent.action, AuditEvent.object_id).where(
                AuditEvent.action.in_(["rma.requested", "rma.dispensed"])))}
    for request_id, answer in journal.decisions.items():
        row = requests.get(request_id)
        if row is None or row.decision != answer["decision"]:
            problems.append(f"decision {request_id} answered 201 but is not stored as such")
        elif answer["rma_number"] and (row.authorization_id not in rmas or
                                       rmas[row.authorization_id].rma_number
                                       != answer["rma_number"]):
            problems.append(f"RMA {answer['rma_number']} answered but not stored")
    for number in journal.fills:
        rma = by_number.get(number)
        if rma is None or rma.id not in fills:
            problems.append(f"fill under RMA {number} answered 201 but not stored")
    linked = {row.authorization_id for row in requests.values() if row.authorization_id}
    for row in requests.values():
        if row.decision == "authorized" and row.authorization_id not in rmas:
            problems.append(f"authorized request {row.id} has no RMA")
        if ("rma.requested", row.id) not in audited:
            problems.append(f"request {row.id} has no audit event")
    for rma in rmas.values():
        if rma.id not in linked:
            problems.append(f"RMA {rma.rma_number} has no request")
        if (rma.status == "dispensed") != (rma.id in fills):
            problems.append(f"RMA {rma.rma_number} is {rma.status} with "
                            f"{'a' if rma.id in fills else 'no'} fill")
        if rma.id in fills and ("rma.dispensed", rma.rma_number) not in audited:
            problems.append(f"fill under RMA {rma.rma_number} has no audit event")
    engine.dispose()
    return problems


def audit_verifies(url: str) -> tuple[bool, str]:
    app = create_app({"ENV_NAME": "testing", "SECRET_KEY": "crash-test-audit",
                      "DATABASE_URL": url, "AUDIT_ANCHOR": str(Path(tempfile.gettempdir())
                                                               / f"anchor-{os.getpid()}")})
    runner = app.test_cli_runner()
    sealed = runner.invoke(args=["audit", "seal"])
    verified = runner.invoke(args=["audit", "verify"])
    return sealed.exit_code == 0 and verified.exit_code == 0, \
        (sealed.output + verified.output).strip()


def prepared(name: str, patients: int) -> tuple[str, Path, dict, dict]:
    """The new PostgreSQL database of TEST_DATABASE_URL migrated and seeded; returns its
    URL, the work folder (the seed's key and bodies), the seed's counts, and the marks
    `check` starts from (rows made later are the run's)."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        raise SystemExit(f"{name}: set TEST_DATABASE_URL to a new PostgreSQL database "
                         "(scripts/with-test-postgres does)")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    engine = make_engine(url)
    upgrade(engine)
    work = Path(tempfile.mkdtemp(prefix=f"{name.replace(' ', '-')}-"))
    seeded = seed.seed(url, patients, work)
    with engine.connect() as db:
        before = {"rma": db.scalar(select(func.coalesce(func.max(Rma.id), 0))),
                  "dispense": db.scalar(select(func.coalesce(func.max(Dispense.id), 0))),
                  "started": datetime.now(UTC)}
    engine.dispose()
    return url, work, seeded, before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--patients", type=int, default=600)
    args = parser.parse_args()
    url, work, seeded, before = prepared("crash test", args.patients)
    engine = make_engine(url)
    key = (work / "api_key.txt").read_text().strip()
    bodies: queue.Queue = queue.Queue()
    for line in (work / "bodies.jsonl").read_text().splitlines():
        bodies.put(json.loads(line))
    env = os.environ | {"COMPLIANCE_ENV": "production", "SECRET_KEY": secrets.token_hex(32),
                        "PUBLIC_URL": "https://rems.example.org", "DATABASE_URL": url}
    journal, tally, done = Journal(), {"workers": 0, "backends": 0}, threading.Event()
    started = time.monotonic()
    with ExitStack() as stack:
        server = Server("service", "wsgi:app", env, ROOT, work / "service.log", WORKERS)
        stack.callback(server.stop)
        server.wait_ready("/api/v1/", WORKERS)
        database = engine.url.database
        murderer = threading.Thread(target=killer, args=(server, engine, database,
                                                         args.kills, done, tally))
        clients = [threading.Thread(target=pharmacy_system,
                                    args=(server.url, key, bodies, journal))
                   for _ in range(CLIENTS)]
        murderer.start()
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        done.set()
        murderer.join()
    engine.dispose()
    problems = check(url, journal, before)
    intact, verdict = audit_verifies(url)
    summary = {"seeded_patients": seeded["patients"], "kills": tally,
               "acknowledged_decisions": len(journal.decisions),
               "acknowledged_fills": len(journal.fills), "retries": journal.retries,
               "given_up_unanswered": journal.unanswered, "problems": len(problems),
               "audit_verify": "OK" if intact else verdict,
               "seconds": round(time.monotonic() - started, 1)}
    print(json.dumps(summary, indent=2))
    for problem in problems[:20]:
        print("  " + problem)
    if sum(tally.values()) < args.kills:
        print(f"only {sum(tally.values())} of {args.kills} kills happened: the traffic ended "
              "first; seed more patients (--patients)")
    if problems or not intact or sum(tally.values()) < args.kills:
        sys.exit(1)


if __name__ == "__main__":
    main()

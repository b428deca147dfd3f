"""The worker: delivers the email outbox and runs the periodic jobs.

Run as `flask worker` beside the web server (`make run` starts both), as many as wanted on
as many hosts: each message is claimed by one worker (`services.outbox`), and each job
by the worker that moves its `scheduled_job` row forward first. Every job is idempotent, so
a crash in the middle of one costs nothing but its next run; the `flask maintenance` and
`flask audit` commands stay for operators who prefer their own scheduler.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from compliance import clock
from compliance.db import get_engine
from compliance.models import ScheduledJob

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[Session, datetime], int]  # returns how many things it changed


def _expire_rmas(db: Session, now: datetime) -> int:
    from compliance.services import rma
    return rma.expire_overdue(db, now=now)


def _refresh_worklist(db: Session, now: datetime) -> int:
    from compliance.services import worklist
    return worklist.refresh_all(db, now)


def _seal_audit(db: Session, now: datetime) -> int:
    from compliance.services import audit_chain
    from compliance.services.audit_anchor import Anchor
    return audit_chain.seal(db, current_app.config["AUDIT_KEY"].encode(), now=now,
                            anchor=Anchor(current_app.config["AUDIT_ANCHOR"]))


def _send_reminders(db: Session, now: datetime) -> int:
    from compliance.services import reminders
    return reminders.send_due(db, now)


def _prune(db: Session, now: datetime) -> int:
    from compliance.api import idempotency
    from compliance.security import throttle
    from compliance.services import lookups
    pruned = throttle.prune(db, now=now) + idempotency.prune(db, now=now) + \
        lookups.prune(db, now=now)
    db.commit()
    return pruned


JOBS = (
    Job("seal-audit", timedelta(minutes=1), _seal_audit),
    Job("expire-rmas", timedelta(minutes=5), _expire_rmas),
    Job("refresh-worklist", timedelta(hours=1), _refresh_worklist),
    Job("send-reminders", timedelta(hours=1), _send_reminders),
    Job("prune", timedelta(days=1), _prune),
)


def run_due_jobs(db: Session, now: datetime, jobs=JOBS) -> dict[str, int]:
    """Run each job whose time has come and that no other worker took; what each changed."""
    done = {}
    for job in jobs:
        if _claim(db, job, now):
            done[job.name] = job.run(db, now)
            db.commit()
            log.info("job %s: %d changed", job.name, done[job.name])
    return done


def _claim(db: Session, job: Job, now: datetime) -> bool:
    """Move the job's last start to `now` if it is due; True if this worker did."""
    moved = db.execute(update(ScheduledJob).where(
        ScheduledJob.name == job.name,
        or_(ScheduledJob.last_started_at.is_(None),
            ScheduledJob.last_started_at <= now - job.every))
        .values(last_started_at=now)).rowcount
    if moved:
        db.commit()
        return True
    if db.get(ScheduledJob, job.name) is not None:
        db.rollback()
        return False
    db.add(ScheduledJob(name=job.name, last_started_at=now))  # a job new to this database
    try:
        db.commit()
    except IntegrityError:  # another worker added it first, and runs it
        db.rollback()
        return False
    return True


def one_pass(app: Flask) -> tuple[dict[str, int], int]:
    """Run the due jobs, then deliver every due message; (jobs run, messages sent)."""
    from compliance.services import outbox

    links = app.test_request_context(base_url=app.config["PUBLIC_URL"])  # for emails' links
    with links, Session(get_engine(app), expire_on_commit=False) as db:
        jobs = run_due_jobs(db, clock.now())
        sent = outbox.deliver_due(db, now=clock.now)
    return jobs, sent


def run_forever(app: Flask) -> None:
    """Pass after pass, `WORKER_POLL_SECONDS` apart, until interrupted. A failing pass is
    logged and the next one tries again: one bad message or job must not stop the rest."""
    poll = app.config["WORKER_POLL_SECONDS"]
    while True:
        try:
            one_pass(app)
        except Exception:
            log.exception("worker pass failed; trying again in %s s", poll)
        time.sleep(poll)

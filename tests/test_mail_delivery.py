"""Does email leave through the outbox exactly as promised: through a real SMTP server, once
per message whatever the workers do, retried with backoff up to its deadline, and written
to a folder when no server is configured?"""

import email
import multiprocessing
import os
import signal
from datetime import timedelta
from email import policy

import pytest
from sqlalchemy import func, select

from compliance import worker
from compliance.models import (
    AuditEvent,
    MessageStatus,
    OutboxMessage,
    ScheduledJob,
    User,
)
from compliance.services import invitations, outbox
from tests.conftest import MONDAY_NOON
from tests.mail_helpers import Sink, SmtpServer, link_in, run_worker

pytestmark = pytest.mark.db


@pytest.fixture
def smtp(app, free_tcp_port):
    """A real SMTP server on loopback that the app sends to."""
    server = SmtpServer(Sink(), free_tcp_port)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_tcp_port)
    yield server.sink
    server.stop()


def reset_for(db, user, now=MONDAY_NOON) -> OutboxMessage:
    """A reset link asked for `user` at `now`: one message in the outbox."""
    invitations.request_reset(db, email=user.email, now=now)
    return db.scalars(select(OutboxMessage).where(OutboxMessage.user_id == user.id)
                      .order_by(OutboxMessage.id.desc())).first()


def actions(db, message_id: int) -> list[str]:
    db.rollback()
    return list(db.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "outbox_message", AuditEvent.object_id == str(message_id))
        .order_by(AuditEvent.id)))


def test_a_message_goes_through_smtp_once_and_keeps_its_record(app, db, factory, frozen, smtp):
    """Does the worker send the reset email through SMTP (text and HTML, a link on the public
    address, no clinical word in the subject), record it as sent without its link, and send
    nothing on the next pass?"""
    person = factory.user("prescriber", name="Dana Derm")
    queued = reset_for(db, person)
    assert worker.one_pass(app)[1] == 1
    [sent] = smtp.to(person.email)
    assert sent["Subject"] == "Reset your REMS Compliance password"
    assert sent["From"].addresses[0].addr_spec == "no-reply@localhost"
    assert sent["Message-ID"] == f"<{queued.message_id}@localhost>"
    link = link_in(sent)
    assert link.startswith("http://localhost/password/reset/")
    assert link in sent.get_body(preferencelist=("html",)).get_content()
    assert "until Nov 23, 2026 at 1:00 pm Eastern time" in sent.get_body(
        preferencelist=("plain",)).get_content()  # asked at noon in New York, for 1 hour
    db.rollback()
    row = db.get(OutboxMessage, queued.id)
    assert (row.status, row.attempts, row.context) == (MessageStatus.SENT, 1, {})
    assert row.subject == sent["Subject"] and row.sent_at == MONDAY_NOON
    assert actions(db, queued.id) == ["mail.queued", "mail.sent"]
    assert worker.one_pass(app)[1] == 0
    assert len(smtp.delivered) == 1


@pytest.mark.parametrize("word", ["isotretinoin", "iPLEDGE", "pregnan", "lenalidomide"])
def test_no_clinical_word_in_any_subject(app, db, factory, frozen, smtp, word):
    """Is every subject free of the drug, the program and the condition?"""
    patient = factory.patient(factory.prescriber(), password=False)
    account = db.get(User, patient.user_id)
    invitations.issue_invitation(db, user=account, issued_by=None, now=MONDAY_NOON,
                                 valid_days=7)
    db.commit()
    reset_for(db, factory.user("admin"))
    worker.one_pass(app)
    assert len(smtp.delivered) == 2
    assert all(word.lower() not in m["Subject"].lower() for m in smtp.delivered)


def test_an_unreachable_server_is_retried_with_doubling_delays_until_the_deadline(
        app, db, factory, frozen, free_tcp_port):
    """With nothing listening, is the message tried at 0, 1, 3, 7, 15 and 31 minutes, then
    given up because a try at 63 minutes would pass its 1-hour deadline, each attempt
    audited?"""
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_tcp_port)
    queued = reset_for(db, factory.user("pharmacist"))
    tried_at = []
    for minute in range(61):
        frozen.move_to(MONDAY_NOON + timedelta(minutes=minute))
        before = db.get(OutboxMessage, queued.id).attempts
        worker.one_pass(app)
        db.rollback()
        if db.get(OutboxMessage, queued.id).attempts > before:
            tried_at.append(minute)
    row = db.get(OutboxMessage, queued.id)
    assert tried_at == [0, 1, 3, 7, 15, 31]
    assert row.status == MessageStatus.FAILED and row.context == {}
    assert "ConnectionRefusedError" in row.last_error
    assert actions(db, queued.id) == ["mail.queued", *["mail.attempt_failed"] * 5,
                                      "mail.gave_up"]


def test_a_refused_mailbox_is_given_up_at_once(app, db, factory, frozen, free_tcp_port):
    """Does a 550 for the recipient end the message after one try (a retry cannot help)?"""
    server = SmtpServer(Sink(refuse="550 5.1.1 No such mailbox"), free_tcp_port)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_tcp_port)
    try:
        queued = reset_for(db, factory.user("pharmacist"))
        worker.one_pass(app)
    finally:
        server.stop()
    db.rollback()
    row = db.get(OutboxMessage, queued.id)
    assert (row.status, row.attempts) == (MessageStatus.FAILED, 1)
    assert actions(db, queued.id)[-1] == "mail.gave_up"


def test_without_a_mail_server_each_message_is_an_eml_file(app, db, factory, frozen):
    """With no MAIL_SERVER, is each message one .eml file in the mail folder that a mail
    program reads, with its Message-ID?"""
    assert app.config["MAIL_SERVER"] is None
    person = factory.user("admin", name="Ada Admin")
    queued = reset_for(db, person)
    worker.one_pass(app)
    [path] = [p for p in os.scandir(app.config["MAIL_FOLDER"]) if p.name.endswith(".eml")]
    with open(path.path, "rb") as file:
        message = email.message_from_binary_file(file, policy=policy.default)
    assert message["To"] == person.email
    assert message["Message-ID"] == f"<{queued.message_id}@localhost>"
    assert "Hello Ada Admin" in message.get_body(preferencelist=("plain",)).get_content()


def test_a_claimed_message_is_nobody_elses_until_its_lease_ends(app, db, factory, frozen, smtp):
    """Does a message claimed by a worker that then died stay untouched by the others until
    the lease ends, and then go out once, under the same Message-ID?"""
    queued = reset_for(db, factory.user("pharmacist"))
    with app.app_context():
        assert [m.id for m in outbox.claim(db, now=MONDAY_NOON)] == [queued.id]  # then dies
        assert outbox.claim(db, now=MONDAY_NOON + timedelta(seconds=119)) == []
    frozen.move_to(MONDAY_NOON + timedelta(seconds=120))
    assert worker.one_pass(app)[1] == 1
    assert smtp.message_ids() == {f"<{queued.message_id}@localhost>": 1}
    db.rollback()
    assert db.get(OutboxMessage, queued.id).attempts == 2


def test_a_new_link_withdraws_the_unsent_email_of_the_old_one(app, db, factory, frozen, smtp):
    """Is only the newest reset link emailed when three were asked before the worker ran?"""
    person = factory.user("pharmacist")
    for minutes in (0, 1, 2):
        reset_for(db, person, MONDAY_NOON + timedelta(minutes=minutes))
    frozen.move_to(MONDAY_NOON + timedelta(minutes=3))
    worker.one_pass(app)
    [sent] = smtp.to(person.email)
    assert client_can_open(app, link_in(sent))
    statuses = db.scalars(select(OutboxMessage.status).where(OutboxMessage.user_id == person.id)
                          .order_by(OutboxMessage.id)).all()
    assert statuses == ["cancelled", "cancelled", "sent"]


def client_can_open(app, link: str) -> bool:
    return app.test_client().get(link.removeprefix("http://localhost")).status_code == 200


def test_each_periodic_job_runs_once_per_period_whichever_worker_asks(app, db, frozen):
    """Do two workers asking at once run a due job once, and again only when its period has
    passed?"""
    ran = []
    jobs = (worker.Job("test-job", timedelta(minutes=5), lambda _db, now: ran.append(now) or 1),)
    with app.app_context():
        assert worker.run_due_jobs(db, MONDAY_NOON, jobs) == {"test-job": 1}
        assert worker.run_due_jobs(db, MONDAY_NOON, jobs) == {}  # the second worker
        assert worker.run_due_jobs(db, MONDAY_NOON + timedelta(minutes=4), jobs) == {}
        assert worker.run_due_jobs(db, MONDAY_NOON + timedelta(minutes=5), jobs) == {
            "test-job": 1}
    assert ran == [MONDAY_NOON, MONDAY_NOON + timedelta(minutes=5)]
    assert db.get(ScheduledJob, "test-job").last_started_at == MONDAY_NOON + timedelta(minutes=5)


def test_four_workers_and_one_killed_mid_send_deliver_every_message_exactly_once(
        app, database_url, db, factory, free_tcp_port):
    """With one worker killed while the server holds its message's DATA, and four more
    working the rest at once, is each of 40 messages delivered exactly once, the killed
    one's after its lease, under its own Message-ID?"""
    sink = Sink(hold_first=True)
    server = SmtpServer(sink, free_tcp_port)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_tcp_port)  # for the last pass
    people = [factory.user("pharmacist") for _ in range(40)]
    for person in people:
        invitations.request_reset(db, email=person.email, now=outbox_now())
    config = {"ENV_NAME": "testing", "TESTING": True, "SECRET_KEY": "test-secret-key",
              "DATABASE_URL": database_url, "PUBLIC_URL": "http://localhost",
              "SERVER_NAME": "localhost", "MAIL_SERVER": "127.0.0.1",
              "MAIL_PORT": free_tcp_port}
    spawn = multiprocessing.get_context("spawn")
    try:
        victim = spawn.Process(target=run_worker, args=(config,))
        victim.start()
        assert sink.held.wait(60), "the first worker never reached DATA"
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(30)
        sink.release()  # the server answers 451 to a client that is gone
        workers = [spawn.Process(target=run_worker, args=(config,)) for _ in range(4)]
        for process in workers:
            process.start()
        for process in workers:
            process.join(120)
            assert process.exitcode == 0
        pending = db.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status != MessageStatus.SENT))
        assert pending == 2  # the killed worker's claim (limit 2), waiting out its lease
        with app.test_request_context(base_url="http://localhost"):
            later = outbox_now() + timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"])
            assert outbox.deliver_due(db, now=lambda: later) == 2
    finally:
        server.stop()
    ids = sink.message_ids()
    assert len(ids) == 40 and set(ids.values()) == {1}
    assert {m["To"] for m in sink.delivered} == {p.email for p in people}


def outbox_now():
    from compliance import clock
    return clock.now()

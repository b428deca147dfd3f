"""`flask` commands for operators: migrations, demo data, housekeeping, the audit chain and
the worker."""

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.orm import Session

from compliance import clock
from compliance.db import get_engine
from compliance.migrations import runner


def init_app(app: Flask) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(demo_group)
    app.cli.add_command(maintenance_group)
    app.cli.add_command(api_keys_group)
    app.cli.add_command(audit_group)
    app.cli.add_command(worker_command)


@click.group("db", cls=AppGroup, help="Database schema (Alembic migrations).")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="Apply migrations up to REVISION (default: the latest).")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    runner.upgrade(get_engine(), revision)
    click.echo(f"Database migrated to {revision}.")


@db_group.command("grant-service-role",
                  help="Grant ROLE what the service needs on PostgreSQL, and on the audit "
                       "log and the signatures only SELECT and INSERT (run as the tables' "
                       "owner).")
@click.argument("role")
def db_grant_service_role(role: str) -> None:
    from compliance.migrations import roles

    try:
        roles.grant_service_role(get_engine(), role)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Role {role} may use every table, and only read and add to the audit log.")


@db_group.command("backup", help="Copy the SQLite database to PATH while it serves (SQLite's "
                                 "online backup); on PostgreSQL use pg_dump (README).")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def db_backup(path: str) -> None:
    import sqlite3

    engine = get_engine()
    if engine.dialect.name != "sqlite":
        raise click.ClickException("On PostgreSQL, back up with pg_dump --format=custom "
                                   "(see 'Backup and restore' in the README).")
    source = engine.raw_connection()
    try:
        with sqlite3.connect(path) as target:
            source.driver_connection.backup(target)  # page by page, consistent, online
    finally:
        source.close()
    click.echo(f"Backed up the database to {path}.")


@db_group.command("downgrade", help="Revert migrations down to REVISION.")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    runner.downgrade(get_engine(), revision)


@db_group.command("revision", help="Autogenerate a migration from the models (developers).")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    runner.revision(get_engine(), message)


@db_group.command("current", help="Show the revision the database is at.")
def db_current() -> None:
    runner.current(get_engine())


@click.group("demo", cls=AppGroup, help="Demonstration data (never in production).")
def demo_group() -> None:
    pass


@demo_group.command("load", help="Load the demo accounts; running it again changes nothing.")
def demo_load() -> None:
    from compliance.demo import load_demo

    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("demo data is refused in production")
    with Session(get_engine(), expire_on_commit=False) as db:
        created = load_demo(db, today=clock.today(), now=clock.now())
    click.echo(f"Demo data ready ({created} new rows).")


@click.group("maintenance", cls=AppGroup, help="Housekeeping a scheduler can run.")
def maintenance_group() -> None:
    pass


@maintenance_group.command("prune-login-attempts",
                           help="Delete login attempts older than the throttle window.")
def prune_login_attempts() -> None:
    from compliance.security import throttle

    click.echo(f"Deleted {_pruned(throttle.prune)} old login attempts.")


@maintenance_group.command("prune-lookup-misses",
                           help="Delete patient-lookup misses older than their throttle window.")
def prune_lookup_misses() -> None:
    from compliance.services import lookups

    click.echo(f"Deleted {_pruned(lookups.prune)} old lookup misses.")


@maintenance_group.command("prune-idempotency-keys",
                           help="Delete API idempotency keys older than their 24-hour "
                                "retention (run daily).")
def prune_idempotency_keys() -> None:
    from compliance.api import idempotency

    click.echo(f"Deleted {_pruned(idempotency.prune)} expired idempotency keys.")


def _pruned(prune) -> int:
    """Run one of the services' `prune(db, now=...)` in its own committed transaction."""
    with Session(get_engine()) as db:
        count = prune(db, now=clock.now())
        db.commit()
    return count


@maintenance_group.command("refresh-worklist",
                           help="Recompute every open course's next action (run daily: "
                                "time alone moves windows and due dates).")
@click.option("--batch-size", default=500, show_default=True,
              help="Courses per transaction.")
def refresh_worklist(batch_size: int) -> None:
    from compliance.services import worklist

    with Session(get_engine(), expire_on_commit=False) as db:
        count = worklist.refresh_all(db, clock.now(), batch_size=batch_size)
    click.echo(f"Refreshed the next action of {count} open courses.")


@maintenance_group.command("send-reminders",
                           help="Write the reminders due now into the outbox, each once "
                                "(idempotent; the worker runs it hourly).")
def send_reminders() -> None:
    from compliance.services import reminders

    app = current_app
    with app.test_request_context(base_url=app.config["PUBLIC_URL"]), \
            Session(get_engine(), expire_on_commit=False) as db:
        count = reminders.send_due(db, clock.now())
    click.echo(f"Wrote {count} reminders to the outbox.")


@maintenance_group.command("expire-rmas",
                           help="Expire every unused RMA past its do-not-dispense-after date "
                                "(idempotent; run hourly).")
def expire_rmas() -> None:
    from compliance.services import rma

    with Session(get_engine(), expire_on_commit=False) as db:
        count = rma.expire_overdue(db, now=clock.now())
    click.echo(f"Expired {count} unused RMAs past their DNDPA date.")


@click.command("worker", help="Deliver the email outbox and run the periodic jobs (expire "
                              "RMAs, refresh the worklist, seal the audit log, prune).")
@click.option("--once", is_flag=True, help="One pass, then exit (for a cron job or a test).")
@with_appcontext
def worker_command(once: bool) -> None:
    from compliance import worker

    app = current_app._get_current_object()
    if once:
        jobs, sent = worker.one_pass(app)
        click.echo(f"Ran {len(jobs)} due jobs; sent {sent} messages.")
        return
    folder = app.config["MAIL_FOLDER"]
    folder = "" if app.config["MAIL_SERVER"] else f"; mail is written to {folder}"
    click.echo(f"Worker started (a pass every {app.config['WORKER_POLL_SECONDS']} s{folder}).")
    worker.run_forever(app)


@click.group("audit", cls=AppGroup, help="The audit log's hash chain.")
def audit_group() -> None:
    pass


@audit_group.command("seal", help="Chain every audit event not sealed yet (run every minute; "
                                  "idempotent).")
def audit_seal() -> None:
    from compliance.services import audit_chain

    with Session(get_engine()) as db:
        try:
            count = audit_chain.seal(db, _audit_key(), now=clock.now(), anchor=_anchor())
        except audit_chain.ChainBroken as exc:
            raise click.ClickException(
                f"Nothing sealed: the audit log was tampered with at event #{exc.event_id}: "
                f"{exc.reason}. A security.alert event is written; run `flask audit verify`."
            ) from None
        click.echo(f"Sealed {count} audit events; {_head(audit_chain.head(db))}.")


@audit_group.command("verify", help="Check every seal and every signature; name the first "
                                    "broken event and each broken signature (exit status 1).")
def audit_verify() -> None:
    from compliance.services import audit_chain, signed_records

    with Session(get_engine()) as db:
        verdict = audit_chain.verify(db, _audit_key(), anchor=_anchor(), now=clock.now())
        problems = signed_records.check(db)
    if not verdict.intact:
        raise click.ClickException(
            f"The audit chain is broken at event #{verdict.broken_event}: {verdict.reason}. "
            f"{verdict.sealed} events before it are intact.")
    if problems:
        raise click.ClickException("\n".join(
            [f"{len(problems)} signature(s) do not stand on their record:",
             *(f"  signature #{p.signature_id} on {p.record}: {p.reason}" for p in problems)]))
    click.echo(f"The audit chain is intact: {verdict.sealed} events sealed, "
               f"{verdict.awaiting} awaiting a seal; {_head(verdict.head)}. Every signature "
               "stands on the record it signed.")


def _audit_key() -> bytes:
    return current_app.config["AUDIT_KEY"].encode()


def _anchor():
    from compliance.services.audit_anchor import Anchor

    return Anchor(current_app.config["AUDIT_ANCHOR"])


def _head(head: tuple[int, str] | None) -> str:
    """The chain's end, for an operator to note outside the database."""
    return f"head: seal #{head[0]} {head[1]}" if head else "no seals yet"


@click.group("api-keys", cls=AppGroup, help="Bearer keys for pharmacy systems.")
def api_keys_group() -> None:
    pass


@api_keys_group.command("create", help="Create a key for the pharmacy with this NCPDP ID; "
                                       "the key is printed once and never stored in clear.")
@click.option("--ncpdp", required=True, help="The pharmacy's 7-digit NCPDP ID.")
@click.option("--name", required=True, help="What will use the key, e.g. 'dispensing system'.")
def api_keys_create(ncpdp: str, name: str) -> None:
    from sqlalchemy import select

    from compliance.models import Pharmacy
    from compliance.services import api_keys
    from compliance.services.errors import Refused

    with Session(get_engine(), expire_on_commit=False) as db:
        pharmacy = db.scalar(select(Pharmacy).where(Pharmacy.ncpdp_id == ncpdp.strip()))
        if pharmacy is None:
            raise click.ClickException(f"no pharmacy has NCPDP ID {ncpdp!r}")
        try:
            key = api_keys.create_key(db, pharmacy=pharmacy, name=name, now=clock.now(),
                                      valid_days=current_app.config["API_KEY_VALID_DAYS"])
        except Refused as exc:
            raise click.ClickException(" ".join(exc.errors.values())) from None
    click.echo(key.secret)


@demo_group.command("logins", help="Print the demo accounts, their password, and each staff "
                    "account's authenticator key with the code it shows now.")
def demo_logins() -> None:
    import pyotp

    from compliance.demo import DEMO_LOGINS, DEMO_PASSWORD, demo_totp_secret
    from compliance.models.enums import SECOND_FACTOR_ROLES

    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}) at http://127.0.0.1:5000")
    click.echo("Staff accounts also ask for a code: the one printed here works for about "
               "30 seconds; run this again for a fresh one, or add the key to an "
               "authenticator app.")
    for role, email in DEMO_LOGINS:
        line = f"  {role:<11} {email}"
        if role in SECOND_FACTOR_ROLES:
            secret = demo_totp_secret(email)
            code = pyotp.TOTP(secret).at(clock.now())
            line = f"{line:<45} code {code}  key {secret}"
        click.echo(line)

"""Rendering one message from its templates and handing it to the mail system.

With `MAIL_SERVER` set, through SMTP with Flask-Mailman (TLS, login and a timeout from the
`MAIL_*` settings). Without it, the embedded default for development and the demo: one
`.eml` file per message in `MAIL_FOLDER` (`instance/mail/`), which any mail program opens.
Either way the message keeps the Message-ID the outbox gave it, so a retry is recognisable
as the same message.
"""

from datetime import datetime
from pathlib import Path

from flask import Flask, current_app, url_for
from flask_mailman import EmailMultiAlternatives, Mail

from compliance.models import OutboxMessage, User
from compliance.programs import DEFAULT_PROGRAM, program

mail = Mail()


def init_app(app: Flask) -> None:
    mail.init_app(app)


def send(message: OutboxMessage, user: User) -> str:
    """Render and deliver `message` to `user`; returns where it went ("smtp" or the file's
    path) and leaves the subject on the message. Raises what the SMTP client raises
    (`smtplib.SMTPException`, `OSError`) when it could not be handed over."""
    config = current_app.config
    context = {**message.context, "user": user, "link": link, "in_words": in_words}
    template = message.context.get("template", message.kind)  # kinds may share templates
    message.subject = " ".join(_render(f"mail/{template}.subject.txt", context).split())
    email = EmailMultiAlternatives(
        subject=message.subject, body=_render(f"mail/{template}.txt", context),
        from_email=config["MAIL_DEFAULT_SENDER"], to=[message.to_address],
        headers={"Message-ID": f"<{message.message_id}@{config['MAIL_MESSAGE_ID_DOMAIN']}>"})
    email.attach_alternative(_render(f"mail/{template}.html", context), "text/html")
    if config.get("MAIL_SERVER"):
        with mail.get_connection(host=config["MAIL_SERVER"], port=config["MAIL_PORT"],
                                 username=config["MAIL_USERNAME"],
                                 password=config["MAIL_PASSWORD"],
                                 use_tls=config["MAIL_USE_TLS"], use_ssl=config["MAIL_USE_SSL"],
                                 timeout=config["MAIL_TIMEOUT"]) as connection:
            connection.send_messages([email])
        return "smtp"
    folder = Path(config["MAIL_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{message.id:08d}-{message.kind}.eml"
    path.write_bytes(email.message().as_bytes())
    return str(path)


def link(endpoint: str, **values) -> str:
    """An absolute link for an email, always on `PUBLIC_URL`: never on the Host header of
    a request, which a visitor chooses."""
    return current_app.config["PUBLIC_URL"].rstrip("/") + url_for(endpoint, **values)


def in_words(instant: datetime | str) -> str:
    """"Dec 10, 2026 at 5:05 pm Eastern time", as a person reads it."""
    if isinstance(instant, str):
        instant = datetime.fromisoformat(instant)
    local = instant.astimezone(program(DEFAULT_PROGRAM).zone)  # the programs' clock
    hour = local.strftime("%I").lstrip("0")
    noon = "am" if local.hour < 12 else "pm"
    return f"{local:%b} {local.day}, {local.year} at {hour}:{local:%M} {noon} Eastern time"


def _render(name: str, context: dict) -> str:
    """A mail template with only its own context: the pages' context processors (the
    signed-in user's menu) have nothing to say in an email, and a worker has no request."""
    return current_app.jinja_env.get_template(name).render(**context)

"""A real SMTP server on loopback (aiosmtpd) that keeps what it accepted, and a worker that
runs in a process of its own."""

import asyncio
import email
import threading
from collections import Counter
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


class Sink:
    """An SMTP server's handler: a message counts as delivered once the server has said
    250 for it. `hold_first` keeps the first DATA waiting (the client is mid-send) until
    `release()`, then refuses it with a 451, as a server does when its client went away."""

    def __init__(self, *, refuse: str | None = None, hold_first: bool = False):
        self.delivered: list[EmailMessage] = []
        self.refuse = refuse  # e.g. "550 5.1.1 No such mailbox" for every recipient
        self.holding = threading.Event() if hold_first else None
        self.held = threading.Event()
        self._released = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.holding is not None and not self.held.is_set():
            self.held.set()
            await asyncio.get_running_loop().run_in_executor(None, self._released.wait)
            return "451 4.3.0 The client went away"
        self.delivered.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def release(self) -> None:
        self._released.set()

    def message_ids(self) -> Counter:
        return Counter(message["Message-ID"] for message in self.delivered)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.delivered if m["To"] == address]


class SmtpServer:
    """The sink served on 127.0.0.1:`port` until `stop()`."""

    def __init__(self, sink: Sink, port: int):
        self.sink, self.port = sink, port
        self.controller = Controller(sink, hostname="127.0.0.1", port=port)
        self.controller.start()

    def stop(self) -> None:
        self.sink.release()
        self.controller.stop()


def link_in(message: EmailMessage) -> str:
    """The first link of a message's plain-text part."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    return next(word for word in text.split() if word.startswith(("http://", "https://")))


def run_worker(config: dict) -> None:
    """A worker process: deliver until nothing is left to claim (in a spawned process)."""
    from compliance import clock, create_app
    from compliance.db import get_engine
    from compliance.services import outbox

    app = create_app(config)
    with app.test_request_context(base_url=app.config["PUBLIC_URL"]):
        from sqlalchemy.orm import Session

        with Session(get_engine(app), expire_on_commit=False) as db:
            outbox.deliver_due(db, now=clock.now, limit=2)
    get_engine(app).dispose()

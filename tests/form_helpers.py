"""Helpers the form and flow tests share: reading a rendered form back the way a person
(or a screen reader) would, signing in without paying for argon2, and invitation links."""

import functools
import re
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser

from sqlalchemy import select

from compliance.auth import hash_token
from compliance.identifiers import npi_with_check_digit
from compliance.models import OutboxMessage, UserSession
from compliance.models.types import utcnow
from tests.conftest import PASSWORD

HOSTILE_SCRIPT = "<script>alert(1)</script>"
RTL_OVERRIDE = "Eve\u202egnp.exe"
EMOJI = "Zoë 🌸🙂"
SQLISH = "' OR 1=1 --"
HUGE = "x" * 10_000
NUL = "Ann\x00Smith"

NEW_PASSWORD = "a long and varied passphrase"

# A valid submission of each form; tests change one or two fields from here.
VALID = {
    "login": {"email": "taken@example.com", "password": PASSWORD},
    "set_password": {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    "prescriber": {"name": "Dr. Jane Doe", "email": "jane.doe@example.com",
                   "npi": "1234567893", "practice_name": "Doe Dermatology"},
    "pharmacy": {"name": "Corner Pharmacy", "address_line": "1 Elm Street", "city": "Troy",
                 "state": "NY", "postal_code": "12180", "ncpdp_id": "7654321",
                 "npi": npi_with_check_digit("555555555")},
    "pharmacist": {"name": "Pat Pharmacist", "email": "pat.pharm@example.com",
                   "responsible": "y"},
    "prescriber_certification": {"status": "certified", "certified_on": "2026-11-01",
                                 "expires_on": "2027-11-01"},
    "pharmacy_certification": {"status": "certified", "certified_on": "2026-11-01",
                               "expires_on": "2027-11-01"},
    "patient": {"given_name": "Casey", "family_name": "Morgan", "date_of_birth": "2004-05-17",
                "email": "casey.morgan@example.com", "phone": "+1 (555) 010-0000",
                "weight_kg": "60",
                "category": "can_get_pregnant", "category_reason": "Has reproductive potential."},
}


def fullwidth(text: str) -> str:
    """The same digits as full-width look-alikes (U+FF10..U+FF19), which str.isdigit() and
    regex \\d accept."""
    return text.translate({ord("0") + d: 0xFF10 + d for d in range(10)})


@dataclass
class Element:
    """One element with an id, its attributes and the text inside it."""

    tag: str
    attrs: dict
    text: str = ""
    options: list = field(default_factory=list)  # (value, selected) for a <select>


class _Page(HTMLParser):
    """Collect every element that has an id, with its text (for <p>, <textarea>, ...)."""

    VOID = frozenset({"input", "br", "img", "meta", "link", "hr"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.by_id: dict[str, Element] = {}
        self._open: list[Element | None] = []
        self._select: Element | None = None

    def handle_starttag(self, tag, attrs):
        attributes = {name: value if value is not None else "" for name, value in attrs}
        element = Element(tag, attributes)
        if "id" in attributes:
            self.by_id[attributes["id"]] = element
        if tag == "option" and self._select is not None:
            self._select.options.append((attributes.get("value", ""), "selected" in attributes))
        if tag == "select":
            self._select = element
        if tag not in self.VOID:
            self._open.append(element)

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        if tag in self.VOID:
            return
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                return

    def handle_data(self, data):
        for element in self._open:
            element.text += data


@functools.lru_cache(maxsize=4)
def elements(html: str) -> dict[str, Element]:
    parser = _Page()
    parser.feed(html)
    return parser.by_id


def field_value(html: str, name: str) -> str:
    """What the form shows in field `name`: an input's value, a textarea's text, a select's
    chosen option, "on" for a ticked checkbox."""
    element = elements(html)[name]
    if element.tag == "textarea":
        return element.text.removeprefix("\n").removeprefix("\r\n")
    if element.tag == "select":
        return next((value for value, chosen in element.options if chosen), "")
    if element.attrs.get("type") == "checkbox":
        return "on" if "checked" in element.attrs else ""
    return element.attrs.get("value", "")


def field_error(html: str, name: str) -> str | None:
    """The error message shown next to field `name`, or None."""
    element = elements(html).get(f"{name}-error")
    return " ".join(element.text.split()) if element else None


def form_level_errors(html: str) -> str:
    """The text of the form's error summary (empty when there is none)."""
    match = re.search(r'<div class="form-errors" role="alert">(.*?)</div>', html, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split()) if match else ""


def assert_error_next_to(html: str, name: str, fragment: str = "") -> str:
    """The field is marked invalid, tied to its message, and the message says `fragment`."""
    page = elements(html)
    assert name in page, f"no field {name!r} on the page"
    control = page[name]
    message = field_error(html, name)
    assert message, f"no error shown next to {name!r}"
    assert fragment.lower() in message.lower(), f"{name}: {message!r} lacks {fragment!r}"
    assert control.attrs.get("aria-invalid") == "true", f"{name} is not aria-invalid"
    assert f"{name}-error" in control.attrs.get("aria-describedby", "").split(), \
        f"{name} is not described by its error"
    return message


def assert_no_error_on(html: str, name: str) -> None:
    control = elements(html)[name]
    assert field_error(html, name) is None, f"unexpected error on {name!r}"
    assert "aria-invalid" not in control.attrs


def fast_sign_in(client, db, user) -> None:
    """Open a server session for `user` and hand the client its cookie, as a real sign-in
    would, without the ~50 ms argon2 verification (tests of the login form sign in for real).
    """
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.add(UserSession(token_hash=hash_token(token), user_id=user.id, created_at=now,
                       last_seen_at=now, second_factor="totp"))
    db.commit()
    with client.session_transaction() as cookie:
        cookie.clear()
        cookie.permanent = True
        cookie["_user_id"] = token
        cookie["_fresh"] = True


LINK_PATHS = {"activation": "/invitations/{token}", "reset": "/password/reset/{token}"}


def emailed_path(db, address: str, kind: str = "activation") -> str:
    """The path of the link in the newest email of `kind` written to `address`, waiting in
    the outbox (no worker runs here; tests/test_mail_delivery.py reads real emails)."""
    db.rollback()  # read what the requests committed
    message = db.scalars(select(OutboxMessage).where(
        OutboxMessage.to_address == address, OutboxMessage.kind == kind)
        .order_by(OutboxMessage.id.desc())).first()
    assert message is not None and message.context, f"no unsent {kind} email to {address}"
    return LINK_PATHS[kind].format(token=message.context["token"])

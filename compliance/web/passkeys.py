"""Passkey pages: the account's passkeys (add, remove), and signing in with one.

The browser's part is `static/passkeys.js`: it asks for options, lets the device make or
use the passkey, and posts the answer back as JSON (with the page's CSRF token in the
`X-CSRFToken` header). The challenge waits in the signed session cookie and is spent by
the first answer, so an answer replayed later meets no challenge.
"""

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask import session as cookie
from flask_login import current_user
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from compliance import clock
from compliance.auth import public, roles_required
from compliance.db import get_session
from compliance.models import Role
from compliance.services import accounts, passkeys
from compliance.services.errors import Refused, Throttled
from compliance.web.auth import safe_next
from compliance.web.forms import ActionForm
from compliance.web.navigation import HOME

bp = Blueprint("passkeys", __name__)

CHALLENGE = "passkey_challenge"
NO_CHALLENGE = "This page waited too long. Reload it and try again."


@bp.get("/account/passkeys")
@roles_required(*Role)
def index():
    db = get_session()
    return render_template("account/passkeys.html", keys=passkeys.of_user(db, current_user.id),
                           action_form=ActionForm())


@bp.post("/account/passkeys/options")
@roles_required(*Role)
def add_options():
    options, challenge = passkeys.registration_options(get_session(), user=current_user.user)
    return _options(options, challenge)


@bp.post("/account/passkeys")
@roles_required(*Role)
def add():
    db, body = get_session(), _body()
    try:
        passkey = passkeys.register(db, user=current_user.user, credential=body.get("credential"),
                                    challenge=_spend_challenge(), name=str(body.get("name", "")),
                                    now=clock.now())
    except Refused as exc:
        db.rollback()
        return jsonify(error=str(exc)), 422
    db.commit()
    flash(f"Passkey “{passkey.name}” added. You can sign in with it now.", "success")
    return jsonify(redirect=url_for("passkeys.index")), 201


@bp.post("/account/passkeys/<int:passkey_id>/remove")
@roles_required(*Role)
def remove(passkey_id: int):
    db, form = get_session(), ActionForm()
    if form.validate_on_submit():
        with form.refusals():
            passkey = passkeys.remove(db, user=current_user.user, passkey_id=passkey_id)
            db.commit()
        if form.refused is None:
            flash(f"Passkey “{passkey.name}” removed; it no longer signs you in.", "success")
    return redirect(url_for("passkeys.index"))


@bp.post("/login/passkey/options")
@public
def sign_in_options():
    options, challenge = passkeys.authentication_options()
    return _options(options, challenge)


@bp.post("/login/passkey")
@public
def sign_in():
    db = get_session()
    try:
        user = accounts.sign_in_with_passkey(db, credential=_body().get("credential"),
                                             challenge=_spend_challenge(),
                                             address=request.remote_addr or "",
                                             now=clock.now())
    except Throttled as exc:
        return jsonify(error=str(exc)), 429, {"Retry-After": str(exc.retry_after)}
    except Refused as exc:
        return jsonify(error=str(exc)), 422
    flash(f"Signed in as {user.name}.", "success")
    return jsonify(redirect=safe_next(request.args.get("next")) or url_for(HOME[user.role]))


def _options(options: str, challenge: bytes):
    cookie[CHALLENGE] = bytes_to_base64url(challenge)
    return options, 200, {"Content-Type": "application/json"}


def _spend_challenge() -> bytes:
    challenge = cookie.pop(CHALLENGE, None)
    if not isinstance(challenge, str):
        raise Refused(NO_CHALLENGE)
    return base64url_to_bytes(challenge)


def _body() -> dict:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


"""Signing in and out, and activating an account through an invitation link."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from compliance import clock
from compliance.auth import public, roles_required
from compliance.db import get_session
from compliance.models import Role
from compliance.services import accounts, invitations
from compliance.services.errors import Refused
from compliance.web.forms import LoginForm, LogoutForm, SetPasswordForm
from compliance.web.navigation import HOME

bp = Blueprint("auth", __name__)


@bp.get("/")
@public
def index():
    """Send each visitor to where they start: their home page, or the sign-in form."""
    if current_user.is_authenticated:
        return redirect(url_for(HOME[current_user.role]))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.sign_in(get_session(), email=form.email.data,
                                    password=form.password.data,
                                    address=request.remote_addr or "", now=clock.now())
        except accounts.Throttled as exc:
            form.password.errors = [exc.message]
            response = render_template("auth/login.html", form=form), 429
            return (*response, {"Retry-After": str(exc.retry_after_seconds)})
        except Refused as exc:
            form.password.errors = [exc.errors[""]]
            status = 422
        else:
            flash(f"Signed in as {user.name}.", "success")
            return redirect(safe_next(request.args.get("next")) or url_for(HOME[user.role]))
    elif form.is_submitted():
        status = 422
    form.password.data = ""
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@roles_required(*Role)
def logout():
    form = LogoutForm()
    if form.validate_on_submit():
        accounts.sign_out(get_session(), now=clock.now())
        flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@public
def accept_invitation(token: str):
    """Set a password through a single-use link, then sign in with it."""
    db = get_session()
    try:
        _, user = invitations.find_open_invitation(db, token=token, now=clock.now())
    except Refused as exc:
        return render_template("auth/invitation_invalid.html", message=exc.errors[""]), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        with form.refusals():
            invitations.accept_invitation(db, token=token, password=form.password.data,
                                          confirm=form.confirm.data, now=clock.now())
        if form.refused is None:
            flash("Your password is set. Sign in with it now.", "success")
            return redirect(url_for("auth.login"))
    status = 422 if form.is_submitted() else 200
    return render_template("auth/set_password.html", form=form, user=user), status


def safe_next(target: str | None) -> str | None:
    """Accept only a path on this site: no scheme, no host, no `//` or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ch in target for ch in "\\\r\n\t") or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target

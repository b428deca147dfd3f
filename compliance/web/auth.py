"""Signing in and out, activating an account or resetting a password through an emailed
link, and changing a password."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from compliance import clock
from compliance.auth import public, roles_required
from compliance.db import get_session
from compliance.models import LinkPurpose, Role
from compliance.services import accounts, invitations
from compliance.services.errors import Refused, Throttled
from compliance.web import two_step
from compliance.web.forms import (
    ActivationForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    LogoutForm,
)
from compliance.web.navigation import HOME
from compliance.web.pages import form_page

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
            signed = accounts.sign_in(get_session(), email=form.email.data,
                                      password=form.password.data,
                                      address=request.remote_addr or "", now=clock.now())
        except Throttled as exc:
            form.password.errors = [exc.errors[""]]
            response = render_template("auth/login.html", form=form), 429
            return (*response, {"Retry-After": str(exc.retry_after)})
        except Refused as exc:
            form.password.errors = [exc.errors[""]]
            status = 422
        else:
            next_path = safe_next(request.args.get("next"))
            if signed.then:
                two_step.hold(signed.user, next_path)
                return redirect(url_for(f"two_step.{signed.then}"))
            flash(f"Signed in as {signed.user.name}.", "success")
            return redirect(next_path or url_for(HOME[signed.user.role]))
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
    """Activate an account through its emailed link: a password (and, for a patient, the
    date of birth), then sign in with it."""
    return _set_password(token, LinkPurpose.ACTIVATION, "Your password is set. Sign in with "
                         "it now.")


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    return _set_password(token, LinkPurpose.RESET, "Your new password is set, and every "
                         "other sign-in of your account has ended. Sign in with it now.")


def _set_password(token: str, purpose: LinkPurpose, done: str):
    db = get_session()
    try:
        invitation, user = invitations.find_open_invitation(db, token=token, now=clock.now(),
                                                            purpose=purpose)
    except Refused as exc:
        return render_template("auth/invitation_invalid.html", message=exc.errors[""]), 404
    form = ActivationForm()
    asks = invitations.asks_birth_date(invitation, user)
    if not asks:
        del form.date_of_birth
    if form.validate_on_submit():
        with form.refusals():
            invitations.accept_invitation(
                db, token=token, password=form.password.data, confirm=form.confirm.data,
                now=clock.now(), purpose=purpose,
                date_of_birth=form.date_of_birth.data if asks else None)
        if form.refused is None:
            flash(done, "success")
            return redirect(url_for("auth.login"))
        try:  # the refusal may have ended the link (too many wrong dates of birth)
            invitations.find_open_invitation(db, token=token, now=clock.now(), purpose=purpose)
        except Refused:
            return render_template("auth/invitation_invalid.html",
                                   message=str(form.refused)), 404
    status = 422 if form.is_submitted() else 200
    return render_template("auth/set_password.html", form=form, user=user,
                           reset=purpose == LinkPurpose.RESET), status


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
def forgot_password():
    """Ask for a reset link by email; the answer is the same whether or not the address
    has an account, so the form tells nobody who is enrolled."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        invitations.request_reset(get_session(), email=form.email.data, now=clock.now())
        flash(f"If an account uses {form.email.data.strip()}, we have emailed it a link to "
              "choose a new password. The link works for 1 hour. Check your spam folder if it "
              "does not arrive within a few minutes.", "info")
        return redirect(url_for("auth.login"))
    return form_page("auth/forgot_password.html", form)


@bp.route("/account/password", methods=["GET", "POST"])
@roles_required(*Role)
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        with form.refusals():
            accounts.change_password(get_session(), current=form.current.data,
                                     password=form.password.data, confirm=form.confirm.data,
                                     address=request.remote_addr or "", now=clock.now())
        if form.refused is None:
            flash("Your password is changed; your other sign-ins have ended.", "success")
            return redirect(url_for("auth.index"))
    return form_page("auth/change_password.html", form)


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

"""Two-step sign-in pages: the code asked after the password, setting up an authenticator
app (at a staff member's first sign-in, or from a patient's account page), and replacing
recovery codes or turning the second step off.

Between the password and the code, the signed cookie holds only who gave the right
password and when; it lapses after `PENDING_LIFETIME`, and no server session exists until
the second step is passed.
"""

from datetime import timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask import session as cookie
from flask_login import current_user

from compliance import clock
from compliance.auth import public, roles_required
from compliance.db import get_session
from compliance.models import Role, User
from compliance.services import accounts, second_factor
from compliance.services.errors import Throttled
from compliance.web.forms import CodeForm
from compliance.web.navigation import HOME

bp = Blueprint("two_step", __name__)

PENDING = "pending_sign_in"
PENDING_LIFETIME = timedelta(minutes=5)
LAPSED = "Your sign-in took longer than 5 minutes. Enter your email and password again."


def hold(user: User, next_path: str | None) -> None:
    """Remember, for the second step, that `user` gave the right password just now."""
    cookie[PENDING] = {"user": user.id, "since": clock.now().timestamp(), "next": next_path}


@bp.route("/login/code", methods=["GET", "POST"])
@public
def code():
    user, next_path = _pending()
    if user is None:
        return _start_over()
    if not second_factor.is_enrolled(get_session(), user.id):
        return redirect(url_for("two_step.enroll"))
    form = CodeForm()
    if form.validate_on_submit():
        _finish(form, user)
        if form.refused is None:
            flash(f"Signed in as {user.name}.", "success")
            return redirect(next_path or url_for(HOME[user.role]))
    return _page("auth/second_step.html", form, user=user)


@bp.route("/login/enroll", methods=["GET", "POST"])
@public
def enroll():
    """A staff member's first sign-in sets up the app; the recovery codes are shown once,
    on the answer to the confirming code."""
    db = get_session()
    user, next_path = _pending()
    if user is None:
        return _start_over()
    if second_factor.is_enrolled(db, user.id):
        return redirect(url_for("two_step.code"))
    form = CodeForm()
    if form.validate_on_submit():
        codes = _finish(form, user, enrolling=True)
        if form.refused is None:
            return render_template("auth/recovery_codes.html", codes=codes,
                                   then=next_path or url_for(HOME[user.role]))
    return _setup_page(db, user, form)


@bp.get("/account/two-step")
@roles_required(*Role)
def settings():
    db, user = get_session(), current_user.user
    if not second_factor.is_enrolled(db, user.id):
        return _setup_page(db, user, CodeForm())
    return _settings_page(db, user, CodeForm(), CodeForm(prefix="off"))


@bp.post("/account/two-step/on")
@roles_required(*Role)
def turn_on():
    db, user = get_session(), current_user.user
    form = CodeForm()
    shown = _new_codes(form, user, second_factor.confirm_enrollment)
    return shown or _setup_page(db, user, form)


@bp.post("/account/two-step/recovery-codes")
@roles_required(*Role)
def replace_codes():
    db, user = get_session(), current_user.user
    form = CodeForm()
    shown = _new_codes(form, user, second_factor.new_recovery_codes)
    return shown or _settings_page(db, user, form, CodeForm(prefix="off"))


@bp.post("/account/two-step/off")
@roles_required(Role.PATIENT)
def turn_off():
    db, user = get_session(), current_user.user
    form = CodeForm(prefix="off")
    if form.validate_on_submit():
        _checked(form, user, lambda: second_factor.turn_off(db, user=user, code=form.code.data,
                                                           now=clock.now()))
        if form.refused is None:
            flash("Two-step sign-in is off. Your password alone now signs you in.", "success")
            return redirect(url_for("two_step.settings"))
    return _settings_page(db, user, CodeForm(), form)


def _pending() -> tuple[User | None, str | None]:
    """Who is between the password and the code, unless that was too long ago."""
    pending = cookie.get(PENDING)
    if not isinstance(pending, dict):
        return None, None
    if clock.now().timestamp() - pending.get("since", 0) > PENDING_LIFETIME.total_seconds():
        cookie.pop(PENDING, None)
        return None, None
    user = get_session().get(User, pending.get("user"))
    if user is None or not user.is_active:
        return None, None
    return user, pending.get("next")


def _start_over():
    flash(LAPSED, "info")
    return redirect(url_for("auth.login"))


def _finish(form: CodeForm, user: User, *, enrolling: bool = False) -> list[str] | None:
    """Pass the second step; the recovery codes when `enrolling`. A refusal stays on the
    form (`form.refused`)."""
    with form.refusals():
        return accounts.finish_sign_in(get_session(), user=user, code=form.code.data,
                                       address=request.remote_addr or "", now=clock.now(),
                                       enrolling=enrolling)
    return None


def _new_codes(form: CodeForm, user: User, issue):
    """Turn the app on or replace the codes (`issue`, checking the form's code); the page of
    new recovery codes, or None when refused."""
    if not form.validate_on_submit():
        return None
    codes = _checked(form, user, lambda: issue(get_session(), user=user, code=form.code.data,
                                               now=clock.now()))
    if form.refused is not None:
        return None
    return render_template("auth/recovery_codes.html", codes=codes,
                           then=url_for("two_step.settings"))


def _checked(form: CodeForm, user: User, act):
    """A signed-in change to the second factor, committed when its code is right."""
    db = get_session()
    with form.refusals():
        result = accounts.code_checked(db, user=user, address=request.remote_addr or "",
                                       now=clock.now(), act=act)
        db.commit()
        return result
    return None


def _setup_page(db, user: User, form: CodeForm):
    factor = second_factor.begin_enrollment(db, user=user, now=clock.now())
    db.commit()
    uri = second_factor.setup_uri(factor, user)
    return _page("auth/enroll.html", form, user=user, qr=second_factor.qr_code(uri),
                 key=second_factor.grouped(factor.secret),
                 signed_in=current_user.is_authenticated)


def _settings_page(db, user: User, codes_form: CodeForm, off_form: CodeForm):
    status = 422 if codes_form.errors or off_form.errors else 200
    return render_template("account/two_step.html", codes_form=codes_form, off_form=off_form,
                           left=second_factor.recovery_codes_left(db, user.id),
                           may_turn_off=not second_factor.required_for(user)), status


def _page(template: str, form: CodeForm, **context):
    """A code form: 422 after a wrong code, 429 with `Retry-After` when throttled."""
    form.code.data = ""
    page = render_template(template, form=form, **context)
    if isinstance(form.refused, Throttled):
        return page, 429, {"Retry-After": str(form.refused.retry_after)}
    return page, 422 if form.is_submitted() else 200


"""A signed-in person's own emails: which reminders to receive, and what was sent."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from compliance import clock
from compliance.auth import roles_required
from compliance.db import get_session
from compliance.models import Role
from compliance.services import reminders
from compliance.web.forms import RemindersForm

bp = Blueprint("account", __name__)


@bp.route("/account/emails", methods=["GET", "POST"])
@roles_required(*Role)
def emails():
    """Switch kinds of reminder on or off, and see the latest emails with their state."""
    db = get_session()
    kinds = reminders.kinds_for(current_user.role)
    form = RemindersForm()
    form.wanted.choices = [(kind.name, kind.label) for kind in kinds if not kind.required]
    if form.validate_on_submit():
        reminders.choose(db, user=current_user, wanted=set(form.wanted.data), now=clock.now())
        db.commit()
        flash("Your reminder choices are saved.", "success")
        return redirect(url_for("account.emails"))
    if not form.is_submitted():
        off = reminders.switched_off(db, current_user.id)
        form.wanted.data = [kind.name for kind in kinds if kind.name not in off]
    sent = reminders.history(db, user=current_user)
    db.commit()
    status = 422 if form.is_submitted() else 200
    labels = {kind.name: kind.label for kind in reminders.KINDS.values()}
    return render_template("account/emails.html", form=form, sent=sent, labels=labels,
                           required=[kind for kind in kinds if kind.required]), status
